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
async function rig(codec: Codec, device = TONE) {
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
  const source = new AudioSource({ input, device, backoff: { initialMs: 200, maxMs: 500 } });
  const recorder = new SegmentRecorder({
    hub,
    output,
    segmentSeconds: 2,
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
