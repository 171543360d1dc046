/**
 * SegmentRecorder on a bad day: hundreds of clips a crash left open, and an ffmpeg that keeps
 * writing but no longer cuts clips. Real ffmpeg and files throughout.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { testPatternArgv } from "../../src/camera/argv.ts";
import { Camera } from "../../src/camera/camera.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { SegmentRecorder } from "../../src/recorder/segment_recorder.ts";
import { parseClipName, recordingFileName } from "../../src/storage/clip_name.ts";
import { probeClip, waitFor } from "../_helpers.ts";
import { filesIn, writeClips } from "../storage/_clips.ts";

const FPS = 15;

async function rig(segmentSeconds: number) {
  const output = await Deno.makeTempDir({ prefix: "recorder_faults_test_" });
  const hub = new FrameHub();
  const camera = new Camera({
    argv: testPatternArgv({ width: 320, height: 240, fps: FPS, quality: 70 }),
    hub,
    backoff: { initialMs: 100 },
  });
  const recorder = new SegmentRecorder({
    hub,
    output,
    segmentSeconds,
    backoff: { initialMs: 100 },
  });
  return {
    output,
    camera,
    recorder,
    async [Symbol.asyncDispose]() {
      await recorder.stop();
      await camera.stop();
      await Deno.remove(output, { recursive: true });
    },
  };
}

Deno.test("SegmentRecorder records at once while clips a crash left open are repaired behind it", async () => {
  await using r = await rig(2);
  // 60 clips as a power cut leaves them (a real Matroska file of 10 frames each), and the
  // leftover of a repair that was itself cut off.
  const STRAYS = 60;
  const strays = Array.from({ length: STRAYS }, (_, seq) => recordingFileName(seq, "mkv"));
  await writeClips(r.output, ...strays);
  await Deno.writeFile(join(r.output, "000005.recording.mkv.repair.mkv"), new Uint8Array(100));

  r.camera.start();
  await r.recorder.start();
  await waitFor("frames written", () => r.recorder.status().frames >= FPS, 15_000);
  const early = r.recorder.status();
  assert.ok(early.repairing > 0, `recording began before the repairs ended: ${early.repairing}`);
  assert.equal(early.current?.seq, STRAYS, "no number of a stray is reused");

  await r.recorder.recover();
  await waitFor("a clip closed after the repairs", () => r.recorder.status().segments > STRAYS);
  await r.recorder.stop();
  const status = r.recorder.status();
  assert.equal(status.repairing, 0);
  assert.equal(status.saving, 0);
  assert.equal(status.lastError, null);
  assert.equal(status.fault, null);

  const names = await filesIn(r.output);
  assert.deepEqual(names.filter((name) => /repair/.test(name)), [], "no repair leftovers");
  const clips = names.map((name) => parseClipName(name)!);
  assert.ok(clips.every((clip) => clip && !clip.recording), `all named: ${names}`);
  assert.deepEqual(clips.map((clip) => clip.seq), names.map((_, i) => i), "contiguous numbers");
  // Each clip was saved exactly once: a second save of the same file would fail or count twice.
  assert.equal(status.segments, names.length);
  for (const name of names.slice(0, STRAYS)) {
    assert.equal((await probeClip(join(r.output, name))).frames, 10, `${name} plays whole`);
  }
});

Deno.test("SegmentRecorder restarts an ffmpeg that keeps writing but stops cutting clips", async () => {
  // ffmpeg as it behaves when it no longer cuts: the real one, told to cut every hour.
  const bin = await Deno.makeTempDir({ prefix: "stuck_ffmpeg_" });
  await Deno.writeTextFile(
    join(bin, "ffmpeg"),
    `#!/bin/sh
for arg; do
  shift
  if [ "$previous" = "-segment_time" ]; then arg=3600; fi
  set -- "$@" "$arg"
  previous=$arg
done
exec /usr/bin/ffmpeg "$@"
`,
    { mode: 0o755 },
  );
  const path = Deno.env.get("PATH") ?? "";
  Deno.env.set("PATH", `${bin}:${path}`);
  try {
    await using r = await rig(1);
    r.camera.start();
    await r.recorder.start();
    await waitFor("frames written", () => r.recorder.status().frames >= FPS, 15_000);
    const firstFfmpeg = r.recorder.status().pid;
    // 1 s clips: the fault is found 10 s past the length, and ffmpeg restarted.
    const faulted = await waitFor("the restart", () => {
      const status = r.recorder.status();
      return status.restarts >= 1 && status.state === "running" ? status : undefined;
    }, 30_000);
    assert.notEqual(faulted.pid, firstFfmpeg);
    assert.match(
      faulted.lastError ?? "",
      /Clip 000000\.recording\.mkv has been open for 1\d s, clips are 1 s: restarting ffmpeg/,
    );
    // The clip that stayed open is kept under its final name, playable (SIGTERM lets ffmpeg
    // close it properly).
    const kept = await waitFor("the overdue clip saved", () => r.recorder.status().lastClip);
    assert.equal(kept.seq, 0);
    const probe = await probeClip(join(r.output, kept.file));
    assert.ok(probe.frames >= 10 * FPS, `${probe.frames} frames kept`);
  } finally {
    Deno.env.set("PATH", path);
    await Deno.remove(bin, { recursive: true });
  }
});
