import assert from "node:assert/strict";
import { h264Defaults, rpicamArgv, testPatternArgv } from "../../src/camera/argv.ts";
import { Camera } from "../../src/camera/camera.ts";
import { H264Preview } from "../../src/live/h264_preview.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import type { Frame } from "../../src/frames/frame.ts";
import { FAKE_BIN, run, waitFor } from "../_helpers.ts";

const capture = { width: 640, height: 480, fps: 15, quality: 70, codec: "h264" as const };

/**
 * A real H.264 camera (ffmpeg test pattern through libx264, or the fake rpicam-vid, which
 * sends a keyframe every second with SPS/PPS inline as the Pi's does) and a preview on its hub.
 */
async function rig(previewFps: number, { pi = false } = {}) {
  const hub = new FrameHub();
  const h264 = h264Defaults(capture);
  const argv = pi
    ? rpicamArgv(`${FAKE_BIN}/rpicam-vid`, { ...capture, codec: "h264", h264 })
    : testPatternArgv({ ...capture, h264 });
  const camera = new Camera({ argv, codec: "h264", hub });
  camera.start();
  await waitFor("H.264 frames", () => hub.latest);
  const preview = new H264Preview({
    source: hub,
    width: 320,
    height: 240,
    fps: previewFps,
    cameraFps: capture.fps,
    intra: h264.intra,
    idleMs: 200,
  });
  return {
    hub,
    camera,
    preview,
    async [Symbol.asyncDispose]() {
      await preview.stop();
      await camera.stop();
    },
  };
}

async function jpegSize(jpeg: Uint8Array): Promise<string> {
  const out = await run(
    ["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0", "-"],
    { stdin: jpeg },
  );
  return new TextDecoder().decode(out).trim();
}

Deno.test("H264Preview starts with the first viewer and stops after the last", async () => {
  await using r = await rig(1);
  assert.equal(r.preview.status().state, "idle", "nothing decodes while nobody watches");
  const viewer = r.preview.hub.newest().readable.getReader();
  const { value: frame } = await viewer.read();
  assert.equal(r.preview.status().state, "running");
  assert.equal(r.preview.status().keyframesOnly, true, "1 fps: keyframes are enough");
  assert.deepEqual([frame!.data[0], frame!.data[1]], [0xff, 0xd8]);
  assert.equal(await jpegSize(frame!.data), "320,240");
  await viewer.cancel();
  await waitFor("the decoder to stop", () => r.preview.status().state === "stopped", 5_000);
});

Deno.test("H264Preview decodes a reduced rate when asked for more than keyframes", async () => {
  await using r = await rig(5);
  assert.equal(r.preview.status().keyframesOnly, false);
  const viewer = r.preview.hub.newest().readable.getReader();
  const times: number[] = [];
  while (times.length < 8) times.push((await viewer.read()).value!.time);
  await viewer.cancel();
  const rate = (times.length - 1) / ((times.at(-1)! - times[0]) / 1000);
  assert.ok(rate > 2.5 && rate < 7.5, `preview made ${rate.toFixed(1)} pictures/s, not ~5`);
});

Deno.test("H264Preview snapshot makes a fresh picture on demand", async () => {
  await using r = await rig(1);
  const asked = Date.now();
  const snapshot = await r.preview.snapshot();
  // Decoded from the camera's newest keyframe: captured at most a keyframe interval (1 s)
  // before the request.
  assert.ok(snapshot && snapshot.time >= asked - 1_000, `${asked - snapshot!.time} ms before`);
  assert.equal(await jpegSize(snapshot!.data), "320,240");
  await waitFor("the decoder to stop again", () => r.preview.status().state === "stopped", 5_000);
});

Deno.test("H264Preview never holds back the camera's other consumers", async () => {
  await using r = await rig(5);
  const recorder = r.hub.every({ maxQueuedFrames: 10_000 }).readable.getReader();
  // A viewer that never reads: the decoder has nobody to hand pictures to.
  r.preview.hub.newest();
  await waitFor("the decoder", () => r.preview.status().state === "running");
  let got = 0;
  while (got < 2 * capture.fps) if (!(await recorder.read()).done) got++;
  await recorder.cancel();
  assert.equal(r.hub.consumers.filter((c) => c.kind === "every").length, 1, "decoder only");
});

/** A keyframe decoded on its own, as the preview decodes (320x240 JPEG, quality 7). */
async function decodeAlone(keyframe: Uint8Array): Promise<Uint8Array> {
  const args = ["-v", "error", "-f", "h264", "-i", "-", "-threads", "1", "-vf", "scale=320:240"];
  return await run(["ffmpeg", ...args, "-c:v", "mjpeg", "-q:v", "7", "-f", "mjpeg", "-"], {
    stdin: keyframe,
  });
}

/** The first picture a new viewer gets, and the camera's newest keyframe when it came. */
async function firstPicture(preview: H264Preview, camera: FrameHub) {
  const keyframe = camera.latestKeyframe;
  const viewer = preview.hub.newest().readable.getReader();
  const first: Frame = (await viewer.read()).value!;
  await viewer.cancel();
  return { first, keyframe, age: Date.now() - first.time };
}

for (const previewFps of [1, 5]) {
  Deno.test(`H264Preview shows a new viewer a picture under a second old after sitting idle (Pi camera, ${previewFps} fps)`, async () => {
    await using r = await rig(previewFps, { pi: true });
    const interval = 1000; // --intra: one keyframe a second
    const seen = await firstPicture(r.preview, r.hub);
    assert.ok(seen.age <= interval + 500, `first picture ${seen.age} ms old`);
    await waitFor("the decoder to stop", () => r.preview.status().state === "stopped", 5_000);
    // Idle long enough that the last picture, were it kept, would be far too old.
    await new Promise((resolve) => setTimeout(resolve, 2_500));

    const again = await firstPicture(r.preview, r.hub);
    assert.ok(again.age <= interval + 500, `after idling, first picture ${again.age} ms old`);
    assert.ok(again.first.time > seen.first.time + 2_000, "not the picture from before");
    // Decoded from the keyframe the camera had already sent: no wait for the next one.
    assert.ok(again.keyframe, "the camera sent keyframes");
    assert.equal(again.first.time, again.keyframe.time, "its capture time is that keyframe's");
    assert.deepEqual(again.first.data, await decodeAlone(again.keyframe.data), "its picture too");
    assert.equal(await jpegSize(again.first.data), "320,240");
  });
}

Deno.test("H264Preview snapshot after idling is a fresh picture, not the last one kept", async () => {
  await using r = await rig(1, { pi: true });
  const before = await r.preview.snapshot();
  assert.ok(before);
  await waitFor("the decoder to stop", () => r.preview.status().state === "stopped", 5_000);
  assert.equal(r.preview.hub.latest, undefined, "the stale picture is dropped");
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const after = await r.preview.snapshot();
  assert.ok(
    after && Date.now() - after.time <= 1_500,
    "captured within the last keyframe interval",
  );
  assert.ok(after.time > before.time + 1_000);
});

Deno.test("H264Preview decodes keyframes only in software on ARM, whatever rate is asked", async () => {
  const hub = new FrameHub();
  const h264 = h264Defaults(capture);
  const camera = new Camera({ argv: testPatternArgv({ ...capture, h264 }), codec: "h264", hub });
  camera.start();
  // A Pi 5 (no H.264 decoder block) asked for 5 fps.
  const preview = new H264Preview({
    source: hub,
    width: 320,
    height: 240,
    fps: 5,
    cameraFps: capture.fps,
    intra: h264.intra,
    idleMs: 200,
    decoderSystem: () => Promise.resolve({ arch: "arm64", v4l2m2m: true, m2mDevice: null }),
  });
  try {
    await waitFor("H.264 frames", () => hub.latest);
    assert.equal(preview.status().state, "idle", "nothing decodes while nobody watches");
    const viewer = preview.hub.newest().readable.getReader();
    const times: number[] = [];
    while (times.length < 4) times.push((await viewer.read()).value!.time);
    const status = preview.status();
    await viewer.cancel();
    assert.deepEqual([status.decoder, status.keyframesOnly], ["h264", true]);
    assert.match(status.decoderReason, /arm64.*keyframes only/);
    // One picture per keyframe (a second apart), not 5 a second.
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.ok(gaps.every((gap) => gap >= 900), `pictures ${gaps.join(", ")} ms apart`);
    await waitFor("the decoder to stop", () => preview.status().state === "stopped", 5_000);
  } finally {
    await preview.stop();
    await camera.stop();
  }
});
