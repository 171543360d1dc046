import assert from "node:assert/strict";
import { join } from "node:path";
import { type Codec, h264Defaults, testPatternArgv } from "../../src/camera/argv.ts";
import { Camera } from "../../src/camera/camera.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { parseAudioDevice } from "../../src/audio/audio_input.ts";
import { AudioSource } from "../../src/audio/audio_source.ts";
import { SegmentRecorder } from "../../src/recorder/segment_recorder.ts";
import { parseClipName } from "../../src/storage/clip_name.ts";
import { run, waitFor } from "../_helpers.ts";

const FPS = 15;
const TONE = "lavfi:sine=frequency=1000:sample_rate=48000";

/** The test pattern and a test tone into a recorder of 2 s clips. */
async function rig(codec: Codec, device = TONE, segmentSeconds = 2, argv?: () => string[]) {
  const output = await Deno.makeTempDir({ prefix: "recorder_audio_test_" });
  const hub = new FrameHub();
  const capture = { width: 320, height: 240, fps: FPS, quality: 70, codec };
  const camera = new Camera({
    argv: testPatternArgv({ ...capture, h264: h264Defaults(capture) }),
    codec,
    hub,
    backoff: { initialMs: 100 },
  });
  camera.start();
  await waitFor("the first keyframe", () => hub.latest?.keyframe);
  const input = parseAudioDevice(device);
  assert.ok(input, device);
  const source = new AudioSource({
    input,
    device,
    argv,
    backoff: { initialMs: 200, maxMs: 500 },
  });
  const recorder = new SegmentRecorder({
    hub,
    output,
    segmentSeconds,
    codec,
    fps: FPS,
    audio: { source, bitrate: 48_000 },
    backoff: { initialMs: 100 },
  });
  return {
    output,
    recorder,
    async [Symbol.asyncDispose]() {
      await recorder.stop();
      await camera.stop();
      await Deno.remove(output, { recursive: true });
    },
  };
}

/** Each stream's codec and the time its packets span (first start to last end), in s. */
export async function streamSpans(
  path: string,
): Promise<Map<string, { codec: string; span: number; packets: number }>> {
  const json = JSON.parse(
    new TextDecoder().decode(
      await run([
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "stream=index,codec_type,codec_name:packet=stream_index,pts_time,duration_time",
        "-of",
        "json",
        path,
      ]),
    ),
  );
  const spans = new Map<string, { codec: string; span: number; packets: number }>();
  for (const stream of json.streams) {
    const packets = json.packets.filter((p: { stream_index: number }) =>
      p.stream_index === stream.index
    );
    const starts = packets.map((p: { pts_time: string }) => Number(p.pts_time));
    const ends = packets.map((p: { pts_time: string; duration_time?: string }) =>
      Number(p.pts_time) + Number(p.duration_time ?? 0)
    );
    spans.set(stream.codec_type, {
      codec: stream.codec_name,
      span: Math.max(...ends) - Math.min(...starts),
      packets: packets.length,
    });
  }
  return spans;
}

async function closedClips(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && parseClipName(entry.name)) names.push(entry.name);
  }
  return names.sort();
}

for (const [codec, audioCodec] of [["mjpeg", "opus"], ["h264", "aac"]] as const) {
  Deno.test(`SegmentRecorder records ${codec} clips with ${audioCodec} sound as long as their video`, async () => {
    await using r = await rig(codec);
    await r.recorder.start();
    await waitFor("sound", () => r.recorder.audioStatus().state === "on", 15_000);
    // A 1 kHz sine at ffmpeg's default amplitude (1/8): -21 dBFS RMS.
    const level = r.recorder.audioStatus().levelDb!;
    assert.ok(Math.abs(level - -21.1) < 1, `level ${level} dB`);
    await waitFor("three closed clips", () => r.recorder.status().segments >= 3, 30_000);
    await r.recorder.stop();
    const names = await closedClips(r.output);
    assert.ok(names.length >= 4, `clips: ${names}`);
    for (const name of names) {
      const spans = await streamSpans(join(r.output, name));
      const video = spans.get("video");
      const audio = spans.get("audio");
      assert.ok(video && audio, `${name} has video and sound: ${[...spans.keys()]}`);
      assert.equal(audio.codec, audioCodec);
      assert.ok(
        Math.abs(audio.span - video.span) <= 0.1,
        `${name}: sound ${audio.span.toFixed(3)} s, video ${video.span.toFixed(3)} s`,
      );
      console.log(`${name}: sound ${audio.span.toFixed(3)} s, video ${video.span.toFixed(3)} s`);
    }
  });
}

Deno.test("SegmentRecorder clip with sound killed mid-write still plays, both tracks", async () => {
  for (const codec of ["mjpeg", "h264"] as const) {
    const r = await rig(codec, TONE, 60);
    try {
      await r.recorder.start();
      await waitFor("sound", () => r.recorder.audioStatus().state === "on", 15_000);
      await waitFor("4 s of frames", () => r.recorder.status().frames >= 4 * FPS, 20_000);
      // A power cut: ffmpeg gets no chance to finish the clip.
      Deno.kill(r.recorder.status().pid!, "SIGKILL");
      await waitFor("the repaired clip", () => r.recorder.status().lastClip?.complete === false);
      await r.recorder.stop();
      const [name] = await closedClips(r.output);
      const path = join(r.output, name);
      const spans = await streamSpans(path);
      const video = spans.get("video")!;
      const audio = spans.get("audio")!;
      console.log(`${name} after SIGKILL: sound ${audio?.span} s, video ${video?.span} s`);
      assert.ok(video.span >= 2 && audio.span >= 2, `${name}: both tracks kept`);
      // The fragment or cluster in progress is lost; the sound may lag by its 500 ms at most.
      assert.ok(Math.abs(audio.span - video.span) <= 0.7, `${name}: ${audio.span} / ${video.span}`);
      // Both decode to the end without an error.
      const decoded = await new Deno.Command("ffmpeg", {
        args: ["-v", "error", "-i", path, "-f", "null", "-"],
        stdin: "null",
      }).output();
      const errors = new TextDecoder().decode(decoded.stderr);
      assert.ok(decoded.success, errors);
      // The null muxer's complaint about its own timestamps is no decoding error.
      assert.doesNotMatch(errors.replace(/.*non monotonically increasing dts.*\n?/g, ""), /\S/);
    } finally {
      await r[Symbol.asyncDispose]();
    }
  }
});

Deno.test("SegmentRecorder records video on when the microphone is absent, with a silent track", async () => {
  await using r = await rig("mjpeg", "hw:9,0");
  await r.recorder.start();
  await waitFor("two closed clips", () => r.recorder.status().segments >= 2, 30_000);
  const audio = r.recorder.audioStatus();
  assert.equal(audio.state, "failing");
  assert.equal(audio.device, "hw:9,0");
  assert.equal(audio.levelDb, null);
  assert.match(
    audio.lastError ?? "",
    /^Cannot capture sound from hw:9,0: cannot open audio device hw:9,0 \(No such file/,
  );
  await r.recorder.stop();
  const names = await closedClips(r.output);
  for (const name of names) {
    const spans = await streamSpans(join(r.output, name));
    const { span: audio } = spans.get("audio")!;
    const { span: video } = spans.get("video")!;
    if (name !== names.at(-1)) assert.ok(video > 1.5, `${name}: ${video} s of video`);
    assert.ok(Math.abs(audio - video) <= 0.1, `${name}: sound ${audio} s, video ${video} s`);
  }
});

Deno.test("SegmentRecorder keeps sound and video in step when the microphone comes and goes", async () => {
  // A microphone that gives 1.5 s of sound, then is gone until restarted (after 200 ms).
  await using r = await rig("h264", TONE, 2, () => [
    "ffmpeg",
    "-hide_banner",
    "-nostdin",
    "-loglevel",
    "error",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=1000:duration=1.5:samples_per_frame=480",
    "-ac",
    "1",
    "-f",
    "s16le",
    "-flush_packets",
    "1",
    "pipe:1",
  ]);
  await r.recorder.start();
  await waitFor("four closed clips", () => r.recorder.status().segments >= 4, 40_000);
  await r.recorder.stop();
  const names = await closedClips(r.output);
  for (const name of names) {
    const spans = await streamSpans(join(r.output, name));
    const { span: audio } = spans.get("audio")!;
    const { span: video } = spans.get("video")!;
    assert.ok(Math.abs(audio - video) <= 0.1, `${name}: sound ${audio} s, video ${video} s`);
  }
});
