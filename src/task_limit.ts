/**
 * Runs at most a given number of async tasks at once; the rest wait their turn in order.
 *
 * Used so listing a card full of clips does not start an ffprobe per clip at once on a Pi's
 * four slow cores.
 *
 * @example
 * ```ts
 * import { TaskLimit } from "./task_limit.ts";
 *
 * const limit = new TaskLimit(2);
 * const sizes = await Promise.all(
 *   ["a", "b", "c"].map((name) => limit.run(async () => name.length)),
 * );
 * ```
 */
export class TaskLimit {
  readonly #max: number;
  #running = 0;
  #waiting: (() => void)[] = [];

  /** At most `max` tasks run at once. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Runs `task` once fewer than the limit are running; settles as it does. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    while (this.#running >= this.#max) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}
