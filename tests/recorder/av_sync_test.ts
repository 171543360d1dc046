/**
 * How far apart sound and pictures are in a clip, measured end to end through the recorder:
 * a flash in the pictures and a beep in the sound at each whole second of the clock.
 *
 * The test is the camera and the microphone. Pictures are published to the hub at 30 fps,
 * each stamped when published (as the camera's parser stamps a frame on arrival); the GOP's
 * first 3 frames are white, and its first frame is published at each whole second. Sound is
 * written into a FIFO every 10 ms, each sample once its time has come (as ALSA hands over a
 * period once it is full), a beep from each whole second on; the recorder's own capture
 * ffmpeg reads it, as it would read ALSA. In the clip, each beep's first sample is compared
 * with its flash's first frame (the bound widened by how late flashes were published).
 *
 * Not measured here: a real camera's own latency (its frames are stamped on arrival, after
 * exposure and encoding), which no Pi camera was at hand to measure.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Codec } from "../../src/camera/argv.ts";
import type { Frame } from "../../src/frames/frame.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { H264AccessUnitStream } from "../../src/frames/h264_access_unit_stream.ts";
import { SAMPLE_RATE } from "../../src/audio/audio_input.ts";
import { AudioSource } from "../../src/audio/audio_source.ts";
import { SegmentRecorder } from "../../src/recorder/segment_recorder.ts";
import { collect, lavfi, run, splitAtSoi, waitFor } from "../_helpers.ts";

const FPS = 30;

/** One second of frames, the first 3 white: JPEGs, or H.264 access units (one GOP). */
async function flashGop(codec: Codec): Promise<{ data: Uint8Array; keyframe: boolean }[]> {
  const video = codec === "h264"
    ? ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", String(FPS), "-f", "h264"]
    : ["-c:v", "mjpeg", "-q:v", "5", "-f", "mjpeg"];
  const bytes = await lavfi(
    `color=c=black:s=160x120:r=${FPS}:d=1,format=yuv420p,` +
      `geq=lum='if(lt(N,3),235,16)':cb=128:cr=128`,
    [...video, "-"],
  );
  if (codec === "mjpeg") return splitAtSoi(bytes).map((data) => ({ data, keyframe: true }));
  const units: Frame[] = await collect(new H264AccessUnitStream(), [bytes]);
  return units.map((unit) => ({ data: unit.data, keyframe: unit.keyframe }));
}

/** Publishes the GOP over and over from `start` (a whole second) on; returns each flash's lateness. */
function publish(
  hub: FrameHub,
  gop: { data: Uint8Array; keyframe: boolean }[],
  start: number,
  signal: AbortSignal,
) {
  const late: number[] = [];
  const done = (async () => {
    for (let n = 0; !signal.aborted; n++) {
      const due = start + (n * 1000) / FPS;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      const time = Date.now();
      if (n % FPS === 0) late.push(time - due);
      hub.publish({ seq: n, time, ...gop[n % FPS] });
    }
  })();
  return { late, done };
}

/** Writes sound into `fifo` in real time: silence, and a 1 kHz beep of 100 ms each second. */
function microphone(fifo: string, signal: AbortSignal): Promise<void> {
  return (async () => {
    const file = await Deno.open(fifo, { write: true });
    const start = Date.now();
    let written = 0;
    try {
      while (!signal.aborted) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        const due = Math.floor(((Date.now() - start) * SAMPLE_RATE) / 1000);
        const pcm = new Int16Array(due - written);
        for (let i = 0; i < pcm.length; i++) {
          const at = start + ((written + i) * 1000) / SAMPLE_RATE; // this sample's time
          const phase = ((at % 1000) + 1000) % 1000;
          // A 1 kHz sine: `phase` is in ms.
          pcm[i] = phase < 100 ? Math.round(16000 * Math.sin(2 * Math.PI * phase)) : 0;
        }
        written = due;
        await file.write(new Uint8Array(pcm.buffer));
      }
    } catch {
      // The capture went away: the test is over.
    } finally {
      file.close();
    }
  })();
}

/** The times (s) at which each flash begins: the first bright frame after dark ones. */
async function flashes(path: string): Promise<number[]> {
  const out = new TextDecoder().decode(
    await run([
      "ffprobe",
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      `movie=${path},signalstats`,
      "-show_entries",
      "frame=pts_time:frame_tags=lavfi.signalstats.YAVG",
      "-of",
      "csv=p=0",
    ]),
  );
  const frames = out.trim().split("\n").map((line) => line.split(",").map(Number));
  const onsets: number[] = [];
  for (let i = 1; i < frames.length; i++) {
    if (frames[i][1] > 128 && frames[i - 1][1] <= 128) onsets.push(frames[i][0]);
  }
  return onsets;
}

/** The times (s) at which each beep begins: its first loud sample after 50 ms of silence. */
async function beeps(path: string): Promise<number[]> {
  const first = new TextDecoder().decode(
    await run([
      "ffprobe",
      "-v",
      "error",
      "-select_streams",
      "a:0",
      "-read_intervals",
      "%+#1",
      "-show_entries",
      "frame=pts_time",
      "-of",
      "csv=p=0",
      path,
    ]),
  );
  const start = Number(first.trim().split("\n")[0]);
  const pcm = await run([
    "ffmpeg",
    "-v",
    "error",
    "-i",
    path,
    "-map",
    "0:a",
    "-ac",
    "1",
    "-ar",
    String(SAMPLE_RATE),
    "-f",
    "s16le",
    "-",
  ]);
  const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length >> 1);
  const onsets: number[] = [];
  let quiet = 0;
  for (let i = 0; i < samples.length; i++) {
    if (Math.abs(samples[i]) > 0.1 * 32768) {
      if (quiet >= SAMPLE_RATE / 20) onsets.push(start + i / SAMPLE_RATE);
      quiet = 0;
    } else {
      quiet++;
    }
  }
  return onsets;
}

for (const codec of ["mjpeg", "h264"] as const) {
  Deno.test(`SegmentRecorder ${codec} clip: each beep is within 100 ms of its flash`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "av_sync_test_" });
    const fifo = join(dir, "mic.pcm");
    await run(["mkfifo", fifo]);
    const hub = new FrameHub();
    const source = new AudioSource({
      input: { kind: "lavfi", graph: "unused" },
      device: fifo,
      argv: () => [
        "ffmpeg",
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-f",
        "s16le",
        "-ar",
        String(SAMPLE_RATE),
        "-ac",
        "1",
        "-i",
        fifo,
        "-f",
        "s16le",
        "-flush_packets",
        "1",
        "pipe:1",
      ],
    });
    const recorder = new SegmentRecorder({
      hub,
      output: dir,
      segmentSeconds: 8,
      codec,
      fps: FPS,
      keyframeInterval: codec === "h264" ? FPS : undefined,
      audio: { source, bitrate: 64_000 },
    });
    const gop = await flashGop(codec);
    assert.equal(gop.length, FPS);
    const stop = new AbortController();
    const mic = microphone(fifo, stop.signal);
    const pictures = publish(hub, gop, Math.ceil(Date.now() / 1000) * 1000 + 1000, stop.signal);
    let clip: string;
    try {
      await waitFor("the first keyframe", () => hub.latest, 20_000);
      await recorder.start();
      await waitFor("a closed clip", () => recorder.status().segments >= 1, 40_000);
      clip = recorder.status().lastClip!.file;
    } finally {
      await recorder.stop();
      stop.abort();
      await pictures.done;
      await mic;
    }
    const path = join(dir, clip);
    const [video, audio] = [await flashes(path), await beeps(path)];
    await Deno.remove(dir, { recursive: true });
    assert.ok(video.length >= 6, `flashes at ${video}`);
    // Each beep against the flash of the same second.
    const offsets: number[] = [];
    for (const beep of audio) {
      const flash = video.reduce((a, b) => Math.abs(b - beep) < Math.abs(a - beep) ? b : a);
      if (Math.abs(flash - beep) > 0.5) continue; // its flash is in the next clip
      offsets.push(Math.round((beep - flash) * 1000));
    }
    const worstLate = Math.max(...pictures.late);
    console.log(
      `${codec} ${clip}: sound minus picture ${
        offsets.join(" ")
      } ms; flashes published up to ${worstLate} ms late`,
    );
    assert.ok(offsets.length >= video.length - 1, `beeps at ${audio}, flashes at ${video}`);
    // A flash published late moves the picture later by as much: the bound allows for it.
    for (const offset of offsets) {
      assert.ok(Math.abs(offset) <= 100 + worstLate, `offsets ${offsets} ms`);
    }
  });
}
