/**
 * Runs async tasks one at a time, in the order they were queued.
 *
 * A task's failure reaches its caller only: the next task runs all the same. Used where two
 * changes must never interleave (the recorder's start, stop and settings; the clip store's
 * moves and pending-lock writes).
 *
 * @example
 * ```ts
 * import { SerialQueue } from "./serial_queue.ts";
 *
 * const queue = new SerialQueue();
 * const first = queue.run(async () => "first");
 * const second = queue.run(async () => "second"); // starts when the first has settled
 * console.log(await first, await second);
 * ```
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it has settled; settles as it does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => {});
    return result;
  }
}
