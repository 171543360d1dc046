import assert from "node:assert/strict";
import { h264Defaults, testPatternArgv } from "../../src/camera/argv.ts";
import { Camera } from "../../src/camera/camera.ts";
import { H264Preview } from "../../src/camera/h264_preview.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { run, waitFor } from "../_helpers.ts";

const capture = { width: 640, height: 480, fps: 15, quality: 70, codec: "h264" as const };

/** A real H.264 camera (ffmpeg test pattern through libx264) and a preview on its hub. */
async function rig(previewFps: number) {
  const hub = new FrameHub();
  const h264 = h264Defaults(capture);
  const camera = new Camera({ argv: testPatternArgv({ ...capture, h264 }), codec: "h264", hub });
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
  assert.ok(snapshot && snapshot.time >= asked, "a picture taken after the request");
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
