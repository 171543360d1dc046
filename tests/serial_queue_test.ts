import assert from "node:assert/strict";
import { SerialQueue } from "../src/serial_queue.ts";

Deno.test("SerialQueue runs tasks one at a time in queue order, each with its own result", async () => {
  const queue = new SerialQueue();
  const log: string[] = [];
  let running = 0;
  const task = (name: string, ms: number) => async () => {
    running++;
    assert.equal(running, 1, `${name} runs alone`);
    log.push(`${name} start`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    log.push(`${name} end`);
    running--;
    return name;
  };
  const results = await Promise.all([
    queue.run(task("a", 30)),
    queue.run(task("b", 0)),
    queue.run(task("c", 10)),
  ]);
  assert.deepEqual(results, ["a", "b", "c"]);
  assert.deepEqual(log, ["a start", "a end", "b start", "b end", "c start", "c end"]);
});

Deno.test("SerialQueue hands a failure to its caller only and runs the next task", async () => {
  const queue = new SerialQueue();
  const failed = queue.run(() => Promise.reject(new Error("Cannot do it")));
  const thrown = queue.run(() => {
    throw new TypeError("Synchronous throw");
  });
  const next = queue.run(() => Promise.resolve("ran"));
  await assert.rejects(failed, /Cannot do it/);
  await assert.rejects(thrown, TypeError);
  assert.equal(await next, "ran");
});

Deno.test("SerialQueue starts a task queued from inside a task after it", async () => {
  const queue = new SerialQueue();
  const log: string[] = [];
  let inner: Promise<void> | undefined;
  await queue.run(async () => {
    inner = queue.run(() => Promise.resolve(void log.push("inner")));
    await new Promise((resolve) => setTimeout(resolve, 10));
    log.push("outer");
  });
  await inner;
  assert.deepEqual(log, ["outer", "inner"]);
});
