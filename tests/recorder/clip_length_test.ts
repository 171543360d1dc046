import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type CaptureOptions,
  type Codec,
  h264Defaults,
  testPatternArgv,
} from "../../src/camera/argv.ts";
import { Camera } from "../../src/camera/camera.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { SegmentRecorder } from "../../src/recorder/segment_recorder.ts";
import { parseClipName } from "../../src/storage/clip_name.ts";
import { probeClip, waitFor } from "../_helpers.ts";

const FPS = 30;
const SEGMENT = 2;
const CLIPS = 9;

/**
 * A camera's frame clock: frame n at its place in the cadence, plus a few ms of the jitter with
 * which frames arrive through a pipe (the same every run, within ±6 ms). Half the keyframes
 * then arrive a hair before their place relative to the first one.
 */
function jitteredClock(): () => number {
  const start = Date.now();
  let n = 0;
  return () => {
    const jitter = ((n * 7919) % 13) - 6;
    return start + Math.round(n++ * 1000 / FPS) + jitter;
  };
}

/** Records CLIPS clips of SEGMENT s from the test pattern and gives each one's ffprobe duration. */
async function recordClips(codec: Codec, now?: () => number): Promise<number[]> {
  const options = { width: 320, height: 240, fps: FPS, quality: 70, codec };
  const capture: CaptureOptions = codec === "h264"
    ? { ...options, h264: h264Defaults(options) }
    : options;
  const output = await Deno.makeTempDir({ prefix: "clip_length_test_" });
  const hub = new FrameHub();
  const camera = new Camera({
    argv: testPatternArgv(capture),
    codec,
    hub,
    now,
  });
  // As the dashcam makes it: the camera's rate, and the keyframe interval our encoder keeps.
  const recorder = new SegmentRecorder({
    hub,
    output,
    segmentSeconds: SEGMENT,
    codec,
    fps: FPS,
    keyframeInterval: capture.h264?.intra,
  });
  try {
    camera.start();
    await waitFor("the first keyframe", () => hub.latest?.keyframe);
    await recorder.start();
    await waitFor(
      `${CLIPS} closed clips`,
      () => recorder.status().segments >= CLIPS,
      (CLIPS * SEGMENT + 30) * 1000,
    );
    await recorder.stop();
    const names: string[] = [];
    for await (const entry of Deno.readDir(output)) names.push(entry.name);
    names.sort();
    assert.ok(names.every((n) => parseClipName(n) && !parseClipName(n)!.recording), `${names}`);
    const durations: number[] = [];
    for (const name of names) durations.push((await probeClip(join(output, name))).duration);
    return durations;
  } finally {
    await recorder.stop();
    await camera.stop();
    await Deno.remove(output, { recursive: true });
  }
}

function assertLengths(durations: number[]): void {
  assert.ok(durations.length > CLIPS - 1, `${durations.length} clips`);
  // The last clip ends where recording stopped.
  for (const [i, duration] of durations.slice(0, -1).entries()) {
    assert.ok(
      Math.abs(duration - SEGMENT) <= 1 / FPS + 0.001,
      `clip ${i} lasts ${duration} s, not ${SEGMENT} s within a frame: ${durations.join(", ")}`,
    );
  }
}

for (const codec of ["h264", "mjpeg"] as const) {
  Deno.test(`SegmentRecorder ${codec} clips last the asked length within one frame`, async () => {
    const durations = await recordClips(codec);
    console.log(codec, durations.map((d) => d.toFixed(3)).join(" "));
    assertLengths(durations);
  });

  Deno.test(`SegmentRecorder ${codec} cuts at a keyframe that arrives a hair early`, async () => {
    const durations = await recordClips(codec, jitteredClock());
    console.log(codec, "jittered", durations.map((d) => d.toFixed(3)).join(" "));
    assertLengths(durations);
  });
}
