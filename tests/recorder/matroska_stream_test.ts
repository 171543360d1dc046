import assert from "node:assert/strict";
import { join } from "node:path";
import { H264AccessUnitStream } from "../../src/frames/h264_access_unit_stream.ts";
import type { Frame } from "../../src/frames/frame.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { MatroskaStream } from "../../src/recorder/matroska_stream.ts";
import { type SavedClip, SegmentRecorder } from "../../src/recorder/segment_recorder.ts";
import { parseClipName } from "../../src/storage/clip_name.ts";
import { collect, concat, lavfi, makeJpegs, probeClip, run, waitFor } from "../_helpers.ts";

/** ffprobe's view of a Matroska stream: codec, size, and each packet's time (s) and flags. */
async function probeStream(bytes: Uint8Array) {
  const out = await run([
    "ffprobe",
    "-v",
    "error",
    "-show_entries",
    "stream=codec_name,width,height:packet=pts_time,flags",
    "-of",
    "json",
    "-",
  ], { stdin: bytes });
  const json = JSON.parse(new TextDecoder().decode(out));
  return {
    stream: json.streams[0],
    packets: json.packets.map((p: { pts_time: string; flags: string }) => ({
      time: Number(p.pts_time),
      key: p.flags.startsWith("K"),
    })),
  };
}

Deno.test("MatroskaStream carries MJPEG frames with their capture times", async () => {
  const jpegs = await makeJpegs(4, { width: 320, height: 240 });
  // Uneven gaps, as a camera under load delivers them, and a 0.9 s one (a new cluster).
  const times = [10_000, 10_040, 10_300, 11_200];
  let written = 0; // each frame is written as it is captured
  const matroska = new MatroskaStream("mjpeg", { monotonic: () => written });
  const frames: Frame[] = jpegs.map((data, seq) => ({
    seq,
    time: times[seq],
    data,
    keyframe: true,
  }));
  const chunks = frames.flatMap((frame) => {
    written = frame.time;
    return matroska.write(frame);
  });
  assert.ok(chunks.includes(jpegs[2]), "a JPEG is passed on as it is, not copied");
  const { stream, packets } = await probeStream(concat(...chunks));
  assert.deepEqual([stream.codec_name, stream.width, stream.height], ["mjpeg", 320, 240]);
  assert.deepEqual(packets.map((p: { time: number }) => p.time), [0, 0.04, 0.3, 1.2]);
});

Deno.test("MatroskaStream gives each frame one interval of the frame rate, when told it", async () => {
  const jpegs = await makeJpegs(3);
  const durations = async (matroska: MatroskaStream) => {
    const chunks = jpegs.flatMap((data, seq) =>
      matroska.write({ seq, time: 1_000 + seq * 40, data, keyframe: true })
    );
    const out = await run(
      ["ffprobe", "-v", "error", "-show_entries", "packet=duration_time", "-of", "csv=p=0", "-"],
      { stdin: concat(...chunks) },
    );
    return new TextDecoder().decode(out).trim().split("\n");
  };
  assert.deepEqual(await durations(new MatroskaStream("mjpeg", { frameRate: 25 })), [
    "0.040000",
    "0.040000",
    "0.040000",
  ]);
  assert.deepEqual(await durations(new MatroskaStream("mjpeg")), ["N/A", "N/A", "N/A"]);
});

Deno.test("MatroskaStream turns H.264 access units into AVC with avcC", async () => {
  const annexB = await lavfi("testsrc=size=320x240:rate=10", [
    "-frames:v",
    "12",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
    "-g",
    "5",
    "-x264-params",
    "repeat-headers=1",
    "-f",
    "h264",
    "-",
  ]);
  const units = await collect(new H264AccessUnitStream(), [annexB]);
  const frames = units.map((unit, seq) => ({ ...unit, time: 1_000 + seq * 100 }));
  const chunksOf = (list: Frame[]) => {
    const matroska = new MatroskaStream("h264");
    return list.flatMap((frame) => matroska.write(frame));
  };
  const { stream, packets } = await probeStream(concat(...chunksOf(frames)));
  assert.deepEqual([stream.codec_name, stream.width, stream.height], ["h264", 320, 240]);
  assert.equal(packets.length, 12);
  assert.deepEqual(packets.map((p: { key: boolean }) => p.key), units.map((u) => u.keyframe));
  assert.deepEqual(packets.map((p: { time: number }) => p.time), frames.map((_, i) => i / 10));
  // Decodable: ffmpeg decodes every frame of it.
  const decoded = await run(
    ["ffmpeg", "-v", "error", "-i", "-", "-f", "framecrc", "-"],
    { stdin: concat(...chunksOf(frames)) },
  );
  const lines = new TextDecoder().decode(decoded).split("\n").filter((l) => /^0,/.test(l));
  assert.equal(lines.length, 12);
});

Deno.test("MatroskaStream.encode packs a batch into the bytes write gives, with or without NAL offsets", async () => {
  const annexB = await lavfi("testsrc2=size=320x240:rate=10", [
    "-frames:v",
    "6",
    "-c:v",
    "libx264",
    "-g",
    "3",
    "-x264-params",
    "repeat-headers=1",
    "-f",
    "h264",
    "-",
  ]);
  const units = await collect(new H264AccessUnitStream(), [annexB]);
  const frames = units.map((unit, seq) => ({ ...unit, time: 1_000 + seq * 100 }));
  const written = (() => {
    const matroska = new MatroskaStream("h264", { monotonic: () => 0 });
    return concat(...frames.flatMap((frame) => matroska.write(frame)));
  })();
  // As the parser hands frames on (with where their NAL units are), and as made elsewhere.
  for (const list of [frames, frames.map(({ nals: _, ...frame }) => frame)]) {
    const matroska = new MatroskaStream("h264", { monotonic: () => 0 });
    const batches = [matroska.encode(list.slice(0, 1)), matroska.encode(list.slice(1))];
    assert.deepEqual(concat(...batches), written);
  }
  const jpegs = await makeJpegs(3);
  const jpegFrames = jpegs.map((data, seq) => ({ seq, time: seq * 40, data, keyframe: true }));
  const a = new MatroskaStream("mjpeg", { monotonic: () => 0 });
  const b = new MatroskaStream("mjpeg", { monotonic: () => 0 });
  assert.deepEqual(a.encode(jpegFrames), concat(...jpegFrames.flatMap((f) => b.write(f))));
});

Deno.test("MatroskaStream refuses to start on a non-keyframe and keeps times increasing", async () => {
  const [jpeg] = await makeJpegs(1);
  const matroska = new MatroskaStream("mjpeg");
  assert.throws(
    () => matroska.write({ seq: 0, time: 0, data: jpeg, keyframe: false }),
    RangeError,
  );
  const same = [0, 1, 2].map((seq) => ({ seq, time: 5_000, data: jpeg, keyframe: true }));
  const { packets } = await probeStream(concat(...same.flatMap((f) => matroska.write(f))));
  assert.deepEqual(packets.map((p: { time: number }) => p.time), [0, 0.001, 0.002]);
});

Deno.test("MatroskaStream rides over clock jumps but keeps real gaps", async () => {
  const [jpeg] = await makeJpegs(1);
  let monotonic = 0;
  const matroska = new MatroskaStream("mjpeg", { monotonic: () => monotonic });
  // Capture times as the wall clock gave them, and when each frame was really written.
  const steps: [capture: number, written: number][] = [
    [1_000_000, 0],
    [1_000_100, 100],
    [200, 200], // the clock was set back by the phone
    [300, 300],
    [9e12, 400], // NTP arrived: decades forward
    [9e12 + 100, 500],
    [9e12 + 3_100, 3_500], // a real 3 s gap (the camera restarted): cut out
  ];
  const chunks = steps.flatMap(([time, written], seq) => {
    monotonic = written;
    return matroska.write({ seq, time, data: jpeg, keyframe: true });
  });
  const { packets } = await probeStream(concat(...chunks));
  assert.deepEqual(packets.map((p: { time: number }) => p.time), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
  // Every point maps onto the latest clock, the gap's far side with its own offset.
  assert.deepEqual([0, 400, 500, 600, 700].map((t) => matroska.wallTime(t)), [
    9e12 - 400,
    9e12,
    9e12 + 100,
    9e12 + 3_100,
    9e12 + 3_200,
  ]);
});

/** Writes frames captured (and written) at `times`, and returns the packet times ffprobe reads. */
async function timeline(matroska: MatroskaStream, times: number[], clock: { now: number }) {
  const [jpeg] = await makeJpegs(1);
  const chunks = times.flatMap((time, seq) => {
    clock.now = time;
    return matroska.write({ seq, time, data: jpeg, keyframe: true });
  });
  const { packets } = await probeStream(concat(...chunks));
  return packets.map((p: { time: number }) => Math.round(p.time * 1000));
}

Deno.test("MatroskaStream cuts a gap in the frames down to one frame interval", async () => {
  // 10 fps for 1 s, the camera away for 6 s, 10 fps again: the segmenter would cut a clip at
  // every clip length the 6 s cross, each of one frame.
  const clock = { now: 0 };
  const matroska = new MatroskaStream("mjpeg", { monotonic: () => clock.now });
  const before = Array.from({ length: 10 }, (_, i) => 50_000 + i * 100);
  const after = Array.from({ length: 10 }, (_, i) => 56_900 + i * 100);
  const times = await timeline(matroska, [...before, ...after], clock);
  assert.deepEqual(times, Array.from({ length: 20 }, (_, i) => i * 100));
  assert.equal(matroska.gaps, 1);
  // Clip starts map back to when their frames were captured, on both sides of the gap, also
  // from times as ffmpeg prints them (seconds, 6 decimals).
  for (const [i, capture] of [...before, ...after].entries()) {
    assert.equal(matroska.wallTime(i * 100), capture, `frame ${i}`);
    assert.equal(matroska.wallTime(Number((i / 10).toFixed(6)) * 1000), capture, `frame ${i}`);
  }
  assert.equal(matroska.wallTime(1_050), 56_950, "between frames after the gap");
  assert.equal(matroska.wallTime(950), 50_950, "after the last frame before the gap");
});

Deno.test("MatroskaStream keeps short gaps and slow frame rates as they are", async () => {
  // A 0.9 s stall at 30 fps is kept (it crosses at most one clip boundary), and so are the
  // 2.5 s intervals of a camera set to 0.4 fps (three intervals make a gap), once one is known.
  const clock = { now: 0 };
  const stall = [0, 33, 67, 100, 1_000, 1_033];
  assert.deepEqual(
    await timeline(new MatroskaStream("mjpeg", { monotonic: () => clock.now }), stall, clock),
    stall,
  );
  const slow = [0, 2_500, 5_000, 7_500, 10_000, 12_600];
  const matroska = new MatroskaStream("mjpeg", { monotonic: () => clock.now });
  assert.deepEqual(await timeline(matroska, slow, clock), [0, 33, 2_533, 5_033, 7_533, 10_133]);
  assert.equal(matroska.gaps, 1, "only the first interval, before any was known");
  assert.equal(matroska.wallTime(10_133), 12_600);
});

Deno.test("MatroskaStream cuts a gap right after the first frame", async () => {
  // A camera that died after one frame: its gap does not become the usual interval.
  const clock = { now: 0 };
  const matroska = new MatroskaStream("mjpeg", { monotonic: () => clock.now });
  const times = await timeline(matroska, [0, 8_000, 8_100, 8_200, 20_000, 20_100], clock);
  assert.deepEqual(times, [0, 33, 133, 233, 333, 433]);
  assert.equal(matroska.gaps, 2);
  assert.deepEqual([0, 33, 233, 333, 433].map((t) => matroska.wallTime(t)), [
    0,
    8_000,
    8_200,
    20_000,
    20_100,
  ]);
});

Deno.test("MatroskaStream gives the segmenter no one-frame clips across a camera gap", async () => {
  // Through the real recorder and ffmpeg segmenter (2 s clips): 15 fps for 40 frames, no
  // frames for 6 s (a camera restart), 40 frames again. With the gap on the timeline ffmpeg
  // cut a clip at each of the 3 boundaries the gap crossed, each of one frame.
  const FPS = 15;
  const output = await Deno.makeTempDir({ prefix: "matroska_gap_test_" });
  const hub = new FrameHub();
  const clips: SavedClip[] = [];
  const recorder = new SegmentRecorder({
    hub,
    output,
    segmentSeconds: 2,
    backoff: { initialMs: 100 },
    onClip: (clip) => void clips.push(clip),
  });
  const [jpeg] = await makeJpegs(1, { width: 320, height: 240 });
  const published: Frame[] = [];
  const publish = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const frame = { seq: published.length, time: Date.now(), data: jpeg, keyframe: true };
      published.push(frame);
      hub.publish(frame);
      await new Promise((resolve) => setTimeout(resolve, 1000 / FPS));
    }
  };
  try {
    await recorder.start();
    await waitFor("ffmpeg", () => recorder.status().state === "running");
    await new Promise((resolve) => setTimeout(resolve, 200)); // its feed has subscribed
    await publish(40);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await publish(40);
    await waitFor("every frame written", () => recorder.status().frames === published.length);
    await recorder.stop();

    clips.sort((a, b) => a.seq - b.seq);
    let first = 0;
    for (const clip of clips) {
      const { frames, duration } = await probeClip(join(output, clip.file));
      const what = `clip ${clip.seq} (${frames} frames, ${duration} s)`;
      assert.ok(frames >= FPS / 2 && duration >= 0.5, what);
      // Named by when its first frame was captured, across the gap too.
      const captured = published[first].time;
      assert.ok(
        Math.abs(clip.start - captured) <= 500,
        `${what} starts ${clip.start - captured} ms off`,
      );
      const named = parseClipName(clip.file.split("/").pop()!)!.start!;
      assert.ok(named <= captured + 500 && named > captured - 1_500, `${what} named ${named}`);
      first += frames;
    }
    assert.equal(first, published.length, "every frame in a clip");
    assert.ok(clips.length >= 2 && clips.length <= 4, `${clips.length} clips for 5.3 s of footage`);
    // A clip after the gap starts on a frame captured after it.
    assert.ok(clips.some((clip) => clip.start >= published[40].time - 500), "a clip after the gap");
  } finally {
    await recorder.stop();
    await Deno.remove(output, { recursive: true });
  }
});
