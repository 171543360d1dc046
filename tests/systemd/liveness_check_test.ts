import assert from "node:assert/strict";
import { testPatternArgv } from "../../src/camera/argv.ts";
import { Camera } from "../../src/camera/camera.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { SegmentRecorder } from "../../src/recorder/segment_recorder.ts";
import { LivenessCheck, type LivenessSources } from "../../src/systemd/liveness_check.ts";
import { waitFor } from "../_helpers.ts";

/** Camera and recorder status as plain, settable values, and a settable clock. */
function fakeService() {
  const state = {
    now: 1_000_000,
    camera: { lastFrameAt: null as number | null, fps: 30 },
    recorder: { recording: true, frames: 0, segments: 0, fault: null as string | null },
  };
  const sources: LivenessSources = {
    camera: { status: () => state.camera },
    recorder: { status: () => state.recorder },
  };
  const check = new LivenessCheck(sources, {
    maxFrameAgeMs: 10_000,
    maxWriteStallMs: 30_000,
    now: () => state.now,
  });
  return { state, check };
}

Deno.test("LivenessCheck is unhealthy until the camera delivers a frame", () => {
  const { state, check } = fakeService();
  assert.equal(check.stall(), "No frame from the camera yet");
  state.camera.lastFrameAt = state.now;
  assert.equal(check.healthy(), true);
});

Deno.test("LivenessCheck reports a camera whose last frame is too old", () => {
  const { state, check } = fakeService();
  state.camera.lastFrameAt = state.now;
  state.now += 10_000;
  assert.equal(check.healthy(), true, "exactly the limit is still fine");
  state.now += 2_000;
  assert.equal(check.stall(), "No frame from the camera for 12 s");
  assert.equal(check.summary(), "Stalled: No frame from the camera for 12 s");
});

Deno.test("LivenessCheck reports a recorder that stopped writing while frames arrive", () => {
  const { state, check } = fakeService();
  const tick = (ms: number, framesWritten: number) => {
    state.now += ms;
    state.camera.lastFrameAt = state.now;
    state.recorder.frames += framesWritten;
  };
  tick(0, 0);
  assert.equal(check.healthy(), true, "recording just started");
  tick(15_000, 450);
  assert.equal(check.healthy(), true);
  tick(15_000, 0);
  tick(15_000, 0);
  assert.equal(check.healthy(), true, "30 s without progress is the limit");
  tick(1_000, 0);
  assert.equal(check.stall(), "The recorder wrote no frame for 31 s");
  state.recorder.segments++; // a clip closed: progress
  assert.equal(check.healthy(), true);
});

Deno.test("LivenessCheck reports a recorder fault although frames are still written", () => {
  const { state, check } = fakeService();
  state.camera.lastFrameAt = state.now;
  state.recorder.frames = 100;
  assert.equal(check.healthy(), true);
  state.recorder.fault = "Clip 000042.recording.mkv has waited 31 s to be saved";
  state.recorder.frames = 130;
  assert.equal(check.stall(), "Clip 000042.recording.mkv has waited 31 s to be saved");
  assert.match(check.summary(), /^Stalled: Clip 000042/);
  state.recorder.fault = null;
  assert.equal(check.healthy(), true);
});

Deno.test("LivenessCheck ignores the recorder while recording is off", () => {
  const { state, check } = fakeService();
  state.recorder.recording = false;
  state.camera.lastFrameAt = state.now;
  assert.equal(check.healthy(), true);
  state.now += 60_000;
  state.camera.lastFrameAt = state.now;
  assert.equal(check.healthy(), true);
  assert.equal(check.summary(), "Camera at 30 fps; recording off, 0 clips saved");
  // Switched on again: the stall clock starts then, not when it was switched off.
  state.recorder.recording = true;
  assert.equal(check.healthy(), true);
  state.recorder.segments = 1;
  assert.equal(check.summary(), "Camera at 30 fps; recording, 1 clip saved");
});

Deno.test("LivenessCheck follows a real camera and recorder, and notices the camera stop", async () => {
  const output = await Deno.makeTempDir({ prefix: "liveness_" });
  const hub = new FrameHub();
  const camera = new Camera({
    argv: testPatternArgv({ width: 160, height: 120, fps: 10, quality: 80 }),
    hub,
  });
  const recorder = new SegmentRecorder({ hub, output, segmentSeconds: 1 });
  const check = new LivenessCheck({ camera, recorder }, {
    maxFrameAgeMs: 500,
    maxWriteStallMs: 2_000,
  });
  try {
    assert.equal(check.healthy(), false);
    camera.start();
    await recorder.start();
    await waitFor("healthy", () => check.healthy());
    await waitFor("a clip", () => recorder.status().segments >= 1);
    assert.match(check.summary(), /^Camera at \d+ fps; recording, \d+ clips? saved$/);
    await camera.stop();
    await waitFor("the camera stall", () => check.stall()?.startsWith("No frame from the camera"));
  } finally {
    await recorder.stop();
    await camera.stop();
    hub.close();
    await Deno.remove(output, { recursive: true });
  }
});
