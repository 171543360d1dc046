import assert from "node:assert/strict";
import { lengthPrefixed, NAL_TYPE, nalType, nalUnits } from "../../src/codecs/h264.ts";
import type { Frame } from "../../src/frames/frame.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { Mp4LiveStreams, type Mp4LiveStreamsOptions } from "../../src/live/mp4_live_streams.ts";
import { concat, waitFor } from "../_helpers.ts";
import { type Fragment, makeH264, nalTypesOf, readBoxes } from "./_fmp4.ts";

/** The sample bytes Mp4LiveStreams makes of a frame: no SPS, PPS or AUD, 4-byte lengths. */
function sampleOf(frame: Frame): Uint8Array {
  const skip: number[] = [NAL_TYPE.sps, NAL_TYPE.pps, NAL_TYPE.aud];
  return lengthPrefixed(nalUnits(frame.data).filter((unit) => !skip.includes(nalType(unit))));
}

/** Which of `frames` each fragment carries (by its bytes). */
function sourceIndexes(fragments: Fragment[], frames: Frame[]): number[] {
  const samples = frames.map(sampleOf);
  return fragments.map((fragment) => {
    const i = samples.findIndex((sample) =>
      sample.length === fragment.data.length && sample.every((b, j) => b === fragment.data[j])
    );
    assert.ok(i >= 0, "a fragment carries one of the camera's frames, unchanged");
    return i;
  });
}

/** A camera: `frames` published in a loop on a hub, every `intervalMs`, served on a socket. */
function rig(frames: Frame[], options: Mp4LiveStreamsOptions & { intervalMs?: number } = {}) {
  const hub = new FrameHub();
  const streams = new Mp4LiveStreams(hub, options);
  let published = 0;
  const publish = () => {
    const frame = frames[published % frames.length];
    hub.publish({ ...frame, seq: published++, time: Date.now() });
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  const start = () => timer ??= setInterval(publish, options.intervalMs ?? 33);
  const pause = () => {
    clearInterval(timer);
    timer = undefined;
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async () => (await streams.response()) ?? new Response("no keyframe", { status: 503 }),
  );
  return {
    hub,
    streams,
    publish,
    start,
    pause,
    get published() {
      return published;
    },
    url: `http://127.0.0.1:${server.addr.port}/live.mp4`,
    async [Symbol.asyncDispose]() {
      pause();
      await streams.closeAll();
      await server.shutdown();
    },
  };
}

/** Reads `response` until `fragments` fragments have come; then cancels it. */
async function readFragments(response: Response, fragments: number) {
  const reader = response.body!.getReader();
  let bytes: Uint8Array = new Uint8Array(0);
  for (;;) {
    const parsed = readBoxes(bytes);
    if (parsed.fragments.length >= fragments) {
      await reader.cancel();
      return { bytes, ...parsed };
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`Stream ended after ${parsed.fragments.length} fragments`);
    bytes = concat(bytes, value);
  }
}

Deno.test("Mp4LiveStreams starts a viewer joining mid-GOP at the newest keyframe", async () => {
  const frames = await makeH264({ width: 320, height: 240, frames: 60, gop: 30 });
  await using r = rig(frames);
  r.start();
  const first = await fetch(r.url);
  assert.equal(first.status, 200);
  assert.match(first.headers.get("content-type")!, /^video\/mp4; codecs="avc1\.[0-9A-F]{6}"$/);
  const reading = readFragments(first, 45);
  // Mid-GOP: 10 frames after a keyframe.
  await waitFor("the middle of a GOP", () => r.published % 30 === 10 && r.published > 30, 10_000);
  const joinedAt = r.published;
  const second = await fetch(r.url);
  const b = await readFragments(second, 30);
  const a = await reading;
  for (const viewer of [a, b]) {
    assert.deepEqual(viewer.types.slice(0, 2), ["ftyp", "moov"]);
    assert.ok(viewer.fragments[0].keyframe, "the first fragment is a keyframe");
    assert.ok(nalTypesOf(viewer.fragments[0].data).includes(NAL_TYPE.idr));
  }
  const indexes = sourceIndexes(b.fragments, frames);
  // The keyframe of the GOP it joined in, then every frame in order.
  assert.equal(indexes[0], (joinedAt - 10) % 60);
  indexes.forEach((index, i) => i > 0 && assert.equal(index, (indexes[i - 1] + 1) % 60));
  assert.deepEqual(sourceIndexes(a.fragments, frames).slice(0, 3).map((i) => i % 30), [0, 1, 2]);
  await waitFor("both viewers to leave", () => r.streams.count === 0);
  await waitFor("the hub subscription to end", () => r.hub.consumers.length === 0);
});

Deno.test("Mp4LiveStreams keeps a viewer that stops reading bounded, skipping to keyframes", async () => {
  // Big frames (noise at qp 0): the socket's buffers fill within a few dozen.
  const frames = await makeH264({ width: 640, height: 360, frames: 40, gop: 10, noise: true });
  const maxQueuedFrames = 12;
  const maxQueuedBytes = 4 * 1024 * 1024;
  await using r = rig(frames, { maxQueuedFrames, maxQueuedBytes, intervalMs: 5 });
  r.start();
  const response = await fetch(r.url);
  const reader = response.body!.getReader();
  // Not read while 400 frames (tens of MB) are published.
  let maxQueued = 0;
  let maxBytes = 0;
  const until = r.published + 400;
  await waitFor(
    "400 frames published",
    () => {
      const [viewer] = r.streams.viewers;
      maxQueued = Math.max(maxQueued, viewer.queued);
      maxBytes = Math.max(maxBytes, viewer.queuedBytes);
      return r.published >= until;
    },
    60_000,
  );
  const [stalled] = r.streams.viewers;
  assert.ok(maxQueued <= maxQueuedFrames, `queued ${maxQueued} frames`);
  assert.ok(maxBytes <= maxQueuedBytes, `queued ${maxBytes} bytes`);
  assert.ok(stalled.skips > 0 && stalled.dropped > 100, JSON.stringify(stalled));
  // Now it reads again: what it gets decodes, each run after a skip starting at a keyframe.
  let bytes: Uint8Array = new Uint8Array(0);
  const after = r.published + 60;
  while (r.published < after) bytes = concat(bytes, (await reader.read()).value!);
  await reader.cancel();
  const { fragments } = readBoxes(bytes);
  const indexes = sourceIndexes(fragments, frames);
  let jumps = 0;
  indexes.forEach((index, i) => {
    if (i === 0 || index === (indexes[i - 1] + 1) % frames.length) return;
    jumps++;
    assert.ok(fragments[i].keyframe, `frame ${index} after ${indexes[i - 1]} is a keyframe`);
    assert.ok(nalTypesOf(fragments[i].data).includes(NAL_TYPE.idr));
  });
  assert.ok(jumps > 0, "the skip shows in what the viewer got");
  await waitFor("the viewer to leave", () => r.streams.count === 0 && r.hub.consumers.length === 0);
});

Deno.test("Mp4LiveStreams answers nothing without a keyframe in time, and holds no viewer", async () => {
  const frames = await makeH264({ width: 160, height: 120, frames: 10, gop: 10 });
  const hub = new FrameHub();
  const streams = new Mp4LiveStreams(hub, { firstFrameTimeoutMs: 300 });
  const pending = streams.response();
  hub.publish({ ...frames[3], seq: 0, time: Date.now() }); // not a keyframe
  assert.equal(await pending, undefined);
  assert.equal(streams.count, 0);
  assert.equal(hub.consumers.length, 0);
});

Deno.test("Mp4LiveStreams ends its streams on closeAll and when the hub closes", async () => {
  const frames = await makeH264({ width: 160, height: 120, frames: 10, gop: 10 });
  for (const end of ["closeAll", "hub"] as const) {
    const hub = new FrameHub();
    const streams = new Mp4LiveStreams(hub);
    const pending = streams.response();
    hub.publish({ ...frames[0], seq: 0, time: Date.now() });
    const reader = (await pending)!.body!.getReader();
    assert.ok((await reader.read()).value!.length > 0, "the init segment");
    assert.deepEqual(streams.viewers.map((v) => v.kind), ["mp4"]);
    if (end === "closeAll") await streams.closeAll();
    else hub.close();
    for (;;) if ((await reader.read()).done) break;
    assert.equal(streams.count, 0, end);
    assert.equal(hub.consumers.length, 0, end);
  }
});
