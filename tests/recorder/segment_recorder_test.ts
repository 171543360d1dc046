import assert from "node:assert/strict";
import { join } from "node:path";
import { testPatternArgv } from "../../src/camera/argv.ts";
import { Camera } from "../../src/camera/camera.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { SegmentRecorder } from "../../src/recorder/segment_recorder.ts";
import { parseClipName } from "../../src/storage/clip_name.ts";
import { lavfi, probeClip, waitFor } from "../_helpers.ts";

const FPS = 15;

/** A real camera (ffmpeg's test pattern, real time) feeding a hub, and a temp output dir. */
async function rig(t: { segmentSeconds?: number } = {}) {
  const output = await Deno.makeTempDir({ prefix: "recorder_test_" });
  const hub = new FrameHub();
  const camera = new Camera({
    argv: testPatternArgv({ width: 320, height: 240, fps: FPS, quality: 70 }),
    hub,
    backoff: { initialMs: 100 },
  });
  camera.start();
  await waitFor("the first frame", () => hub.latest);
  const recorder = new SegmentRecorder({
    hub,
    output,
    segmentSeconds: t.segmentSeconds ?? 2,
    backoff: { initialMs: 100 },
  });
  return {
    output,
    hub,
    camera,
    recorder,
    async [Symbol.asyncDispose]() {
      await recorder.stop();
      await camera.stop();
      await Deno.remove(output, { recursive: true });
    },
  };
}

async function listClips(dir: string) {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("SegmentRecorder records clips whose durations match wall time", async () => {
  await using r = await rig();
  await r.recorder.start();
  const firstFrame = await waitFor("the first frame", () => r.recorder.status().current?.start);
  await waitFor("three closed clips", () => r.recorder.status().segments >= 3, 15_000);
  const stoppedAt = Date.now();
  await r.recorder.stop();
  const wall = (stoppedAt - firstFrame) / 1000;

  const names = await listClips(r.output);
  assert.ok(names.length >= 4, `clips: ${names}`);
  const clips = names.map((name) => parseClipName(name)!);
  assert.ok(clips.every((clip) => clip && !clip.recording), `all closed: ${names}`);
  assert.deepEqual(clips.map((c) => c.seq), names.map((_, i) => i), "contiguous numbers");

  const probes = await Promise.all(names.map((name) => probeClip(join(r.output, name))));
  const frames = probes.reduce((n, p) => n + p.frames, 0);
  assert.equal(frames, r.recorder.status().frames, "every frame fed to ffmpeg is in a clip");
  for (const [i, full] of probes.slice(0, -1).entries()) {
    // Clips cut on a frame: 5% of 2 s, plus one frame interval.
    const tolerance = 0.1 + 1 / FPS;
    assert.ok(Math.abs(full.duration - 2) <= tolerance, `clip ${i}: ${full.duration} s, not 2`);
    // Frames carry capture times, so even the first clip holds the camera's rate.
    assert.ok(Math.abs(full.frames - 2 * FPS) <= 2, `clip ${i}: ${full.frames} frames`);
  }
  const footage = probes.reduce((s, p) => s + p.duration, 0);
  assert.ok(Math.abs(footage - wall) / wall <= 0.05, `${footage} s of footage in ${wall} s`);
  assert.equal(r.recorder.status().dropped, 0);
});

Deno.test("SegmentRecorder stops and starts at run time while the camera keeps running", async () => {
  await using r = await rig();
  await r.recorder.start();
  await waitFor("frames written", () => r.recorder.status().frames >= FPS);
  await r.recorder.stop();
  const stopped = r.recorder.status();
  assert.equal(stopped.recording, false);
  assert.equal(stopped.current, null);
  const framesAtStop = r.camera.status().frames;
  await waitFor("the camera to go on", () => r.camera.status().frames >= framesAtStop + FPS);
  assert.equal(r.recorder.status().frames, stopped.frames, "nothing recorded while stopped");

  await r.recorder.start();
  await waitFor("frames written again", () => r.recorder.status().frames >= stopped.frames + FPS);
  await r.recorder.stop();
  const seqs = (await listClips(r.output)).map((name) => parseClipName(name)!.seq);
  assert.deepEqual(seqs, [0, 1], "the second recording continues the numbering");
  assert.equal(r.camera.status().restarts, 0);
});

Deno.test("SegmentRecorder survives ffmpeg being killed and keeps the interrupted clip", async () => {
  await using r = await rig({ segmentSeconds: 60 });
  await r.recorder.start();
  await waitFor("frames written", () => r.recorder.status().frames >= 2 * FPS);
  const ffmpeg = r.recorder.status().pid!;
  Deno.kill(ffmpeg, "SIGKILL");
  await waitFor("a new ffmpeg", () => {
    const status = r.recorder.status();
    return status.restarts === 1 && status.state === "running" && status.pid !== ffmpeg;
  });
  const interrupted = r.recorder.status().lastClip!;
  assert.equal(interrupted.seq, 0);
  assert.equal(interrupted.complete, false);
  assert.match(r.recorder.status().lastError ?? "", /Recorder exited with signal SIGKILL/);
  const before = r.recorder.status().frames;
  await waitFor("recording to resume", () => r.recorder.status().frames >= before + FPS);
  await r.recorder.stop();

  const names = await listClips(r.output);
  assert.deepEqual(names.map((n) => parseClipName(n)!.seq), [0, 1]);
  const kept = await probeClip(join(r.output, names[0]));
  assert.ok(kept.frames >= FPS, `the killed clip still plays ${kept.frames} frames`);
});

Deno.test("SegmentRecorder resumes recording after the camera process is killed", async () => {
  await using r = await rig({ segmentSeconds: 60 });
  await r.recorder.start();
  await waitFor("frames written", () => r.recorder.status().frames >= FPS);
  Deno.kill(r.camera.status().pid!, "SIGKILL");
  await waitFor("the camera to restart", () => r.camera.status().restarts === 1);
  const before = r.recorder.status().frames;
  await waitFor("frames from the new camera", () => r.recorder.status().frames >= before + FPS);
  assert.equal(r.recorder.status().restarts, 0, "ffmpeg kept running through the camera restart");
  await r.recorder.stop();
  const [clip] = await listClips(r.output);
  assert.equal((await probeClip(join(r.output, clip))).frames, r.recorder.status().frames);
});

Deno.test("SegmentRecorder names clips a power cut left open and numbers after them", async () => {
  await using r = await rig();
  // A clip as ffmpeg leaves it when power is lost: still under its recording name.
  await lavfi("testsrc=size=160x120:rate=10", [
    "-frames:v",
    "10",
    "-c:v",
    "mjpeg",
    "-f",
    "matroska",
    join(r.output, "000007.recording.mkv"),
  ]);
  await r.recorder.start();
  await waitFor("frames written", () => r.recorder.status().frames >= FPS);
  await r.recorder.recover(); // repaired in the background, while recording
  await r.recorder.stop();
  const names = await listClips(r.output);
  assert.deepEqual(names.map((n) => parseClipName(n)), [
    { seq: 7, start: parseClipName(names[0])!.start, recording: false, ext: "mkv" },
    { seq: 8, start: parseClipName(names[1])!.start, recording: false, ext: "mkv" },
  ]);
  assert.equal((await probeClip(join(r.output, names[0]))).frames, 10);
});
