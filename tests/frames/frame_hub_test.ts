import assert from "node:assert/strict";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import type { Frame } from "../../src/frames/frame.ts";

function frame(seq: number, keyframe = true): Frame {
  return { seq, time: seq, data: Uint8Array.of(seq & 0xff), keyframe };
}

Deno.test("FrameHub.every delivers every frame in order", async () => {
  const hub = new FrameHub();
  const consumer = hub.every();
  for (let seq = 0; seq < 50; seq++) hub.publish(frame(seq));
  hub.close();
  const seqs: number[] = [];
  for await (const f of consumer.readable) seqs.push(f.seq);
  assert.deepEqual(seqs, Array.from({ length: 50 }, (_, i) => i));
  assert.equal(consumer.stats.dropped, 0);
});

Deno.test("FrameHub.every drops and counts past its queue, then resumes at a keyframe", async () => {
  const hub = new FrameHub();
  const consumer = hub.every({ maxQueuedFrames: 5 });
  for (let seq = 0; seq < 8; seq++) hub.publish(frame(seq));
  const reader = consumer.readable.getReader();
  for (let seq = 0; seq < 5; seq++) assert.equal((await reader.read()).value?.seq, seq);
  // The queue drained; the next non-keyframe is still skipped, the keyframe after it is not.
  hub.publish(frame(8, false));
  hub.publish(frame(9, true));
  hub.publish(frame(10, false));
  assert.equal((await reader.read()).value?.seq, 9);
  assert.equal((await reader.read()).value?.seq, 10);
  assert.equal(consumer.stats.dropped, 4);
  assert.equal(consumer.stats.delivered, 7);
});

Deno.test("FrameHub.every starts at the first keyframe", async () => {
  const hub = new FrameHub();
  const consumer = hub.every();
  hub.publish(frame(0, false));
  hub.publish(frame(1, true));
  const { value } = await consumer.readable.getReader().read();
  assert.equal(value?.seq, 1);
});

Deno.test("FrameHub.newest gives a slow reader only the newest frame", async () => {
  const hub = new FrameHub();
  const viewer = hub.newest();
  const reader = viewer.readable.getReader();
  for (let seq = 0; seq < 100; seq++) hub.publish(frame(seq));
  assert.equal((await reader.read()).value?.seq, 99);
  // Nothing newer yet: the read waits for the next publish instead of repeating frame 99.
  const next = reader.read();
  await new Promise((resolve) => setTimeout(resolve, 0));
  hub.publish(frame(100));
  assert.equal((await next).value?.seq, 100);
  hub.publish(frame(101));
  hub.publish(frame(102));
  assert.equal((await reader.read()).value?.seq, 102);
  assert.equal(viewer.stats.delivered, 3);
});

Deno.test("FrameHub.newest holds no frames for a reader that never reads", () => {
  const hub = new FrameHub();
  const stalled = hub.newest();
  for (let seq = 0; seq < 1000; seq++) hub.publish(frame(seq));
  assert.equal(stalled.stats.delivered, 0);
  assert.equal(hub.published, 1000);
});

Deno.test("FrameHub forgets a consumer when its stream is cancelled", async () => {
  const hub = new FrameHub();
  const viewer = hub.newest();
  const recorder = hub.every();
  assert.equal(hub.consumers.length, 2);
  const reader = viewer.readable.getReader();
  const pending = reader.read();
  await reader.cancel();
  assert.equal((await pending).done, true);
  await recorder.readable.cancel();
  assert.deepEqual(hub.consumers, []);
  hub.publish(frame(0)); // no consumer left to offer to; must not throw
});

Deno.test("FrameHub.close ends waiting and idle consumers", async () => {
  const hub = new FrameHub();
  const waiting = hub.newest().readable.getReader();
  const pending = waiting.read();
  const idle = hub.newest();
  const every = hub.every();
  hub.close();
  assert.equal((await pending).done, true);
  assert.equal((await idle.readable.getReader().read()).done, true);
  assert.equal((await every.readable.getReader().read()).done, true);
});

Deno.test("FrameHub.every rejects a bad queue size", () => {
  assert.throws(() => new FrameHub().every({ maxQueuedFrames: 0 }), RangeError);
});

Deno.test("FrameHub tells how many consumers there are as they come and go", async () => {
  const counts: number[] = [];
  const hub = new FrameHub({ onConsumers: (count) => counts.push(count) });
  const viewer = hub.newest();
  const recorder = hub.every();
  await viewer.readable.cancel();
  await viewer.readable.cancel(); // twice: counted once
  await recorder.readable.cancel();
  assert.deepEqual(counts, [1, 2, 1, 0]);
});

Deno.test("FrameConsumer.close leaves the hub but lets queued frames drain", async () => {
  const hub = new FrameHub();
  const recorder = hub.every();
  for (let seq = 0; seq < 3; seq++) hub.publish(frame(seq));
  recorder.close();
  hub.publish(frame(3)); // after close: not delivered
  assert.deepEqual(hub.consumers, []);
  const seqs: number[] = [];
  for await (const f of recorder.readable) seqs.push(f.seq);
  assert.deepEqual(seqs, [0, 1, 2]);
});

Deno.test("FrameConsumer.queued counts frames waiting for the reader", async () => {
  const hub = new FrameHub();
  const recorder = hub.every();
  const viewer = hub.newest();
  assert.equal(recorder.queued, 0);
  for (let seq = 0; seq < 3; seq++) hub.publish(frame(seq));
  assert.equal(recorder.queued, 3);
  assert.equal(viewer.queued, 0);
  await recorder.readable.getReader().read();
  assert.equal(recorder.queued, 2);
});
