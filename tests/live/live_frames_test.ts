import assert from "node:assert/strict";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import type { Frame } from "../../src/frames/frame.ts";
import { LiveFrames } from "../../src/live/live_frames.ts";
import { makeJpegs, waitFor } from "../_helpers.ts";

const jpegs = await makeJpegs(3);

function setup(options: ConstructorParameters<typeof LiveFrames>[1] = {}) {
  const hub = new FrameHub();
  const live = new LiveFrames(hub, { waitMs: 500, idleMs: 300, ...options });
  let seq = 0;
  const publish = (time = Date.now()): Frame => {
    const frame = { seq: seq++, time, data: jpegs[seq % jpegs.length], keyframe: true };
    hub.publish(frame);
    return frame;
  };
  return { hub, live, publish };
}

const query = (url: string) => LiveFrames.query(new Request(`http://x/live/frame.jpg${url}`));

Deno.test("LiveFrames answers the newest frame as a JPEG with its number and capture time", async () => {
  const { live, publish } = setup();
  publish();
  const frame = publish();
  const response = await live.response(query(""));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "image/jpeg");
  assert.equal(response.headers.get("x-frame-seq"), String(frame.seq));
  assert.equal(response.headers.get("x-frame-time"), String(frame.time));
  assert.deepEqual(new Uint8Array(await response.arrayBuffer()), frame.data);
});

Deno.test("LiveFrames waits for a frame newer than after, and answers 503 when none comes", async () => {
  const { live, publish } = setup();
  const first = publish();
  const waiting = live.response(query(`?after=${first.seq}`));
  setTimeout(() => publish(), 100);
  const response = await waiting;
  assert.equal(response.headers.get("x-frame-seq"), String(first.seq + 1));
  await response.body?.cancel();

  const none = await live.response(query(`?after=${first.seq + 1}`));
  assert.equal(none.status, 503);
  assert.match((await none.json()).error, /^No new frame in 0\.5 s/);
});

Deno.test("LiveFrames sends no frame older than maxAgeMs", async () => {
  const { live, publish } = setup({ maxAgeMs: 1000 });
  publish(Date.now() - 5000); // a decoder that sat idle
  const waiting = live.response(query("?viewer=a"));
  setTimeout(() => publish(), 100);
  const response = await waiting;
  assert.equal(response.headers.get("x-frame-seq"), "1");
  await response.body?.cancel();
  live.closeAll();
});

Deno.test("LiveFrames viewer counts as a hub consumer between requests until idle or gone", async () => {
  const { hub, live, publish } = setup();
  publish();
  const one = await live.response(query("?viewer=page1"));
  assert.equal(one.headers.get("x-frame-seq"), "0");
  await one.body?.cancel();
  assert.equal(hub.consumers.length, 1, "subscribed between requests");
  assert.equal(hub.consumers[0].kind, "newest");
  // The same frame is never sent twice to a viewer: the next request waits for a new one.
  const waiting = live.response(query("?viewer=page1"));
  setTimeout(() => publish(), 100);
  assert.equal((await waiting).headers.get("x-frame-seq"), "1");
  await waitFor("the idle viewer to leave", () => hub.consumers.length === 0, 2000);

  await (await live.response(query("?viewer=page2&after=0"))).body?.cancel();
  assert.equal(live.count, 1);
  live.leave("page2");
  assert.equal(live.count, 0);
  await waitFor("the viewer to leave the hub", () => hub.consumers.length === 0, 1000);
});

Deno.test("LiveFrames keeps a viewer's fps cap between frames", async () => {
  const { live, publish } = setup({ waitMs: 2000 });
  const timer = setInterval(() => publish(), 20);
  try {
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await live.response(query("?viewer=capped&fps=5"));
      assert.equal(response.status, 200);
      await response.body?.cancel();
      times.push(Date.now());
    }
    for (let i = 1; i < times.length; i++) {
      assert.ok(times[i] - times[i - 1] >= 190, `frames ${times[i] - times[i - 1]} ms apart`);
    }
  } finally {
    clearInterval(timer);
    live.closeAll();
  }
});

Deno.test("LiveFrames.query names a bad parameter", () => {
  assert.throws(() => query("?fps=500"), /^RangeError: Invalid fps: expected a number from 0/);
  assert.throws(() => query("?viewer=a%20b"), /^RangeError: Invalid viewer/);
  assert.throws(() => query("?after=x"), /^RangeError: Invalid after/);
  assert.deepEqual(
    { ...query("?viewer=v1&after=3&fps=10"), signal: undefined },
    { viewer: "v1", after: 3, fps: 10, signal: undefined },
  );
});
