import assert from "node:assert/strict";
import { H264AccessUnitStream } from "../../src/frames/h264_access_unit_stream.ts";
import type { Frame } from "../../src/frames/frame.ts";
import { MatroskaStream } from "../../src/recorder/matroska_stream.ts";
import { collect, concat, makeJpegs, run } from "../_helpers.ts";

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
  // Uneven gaps, as a camera under load delivers them, and a 2.5 s gap (a new cluster).
  const times = [10_000, 10_040, 10_300, 12_800];
  let written = 0; // each frame is written as it is captured
  const matroska = new MatroskaStream("mjpeg", () => written);
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
  assert.deepEqual(packets.map((p: { time: number }) => p.time), [0, 0.04, 0.3, 2.8]);
});

Deno.test("MatroskaStream turns H.264 access units into AVC with avcC", async () => {
  const annexB = await run([
    "ffmpeg",
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc=size=320x240:rate=10",
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
  const matroska = new MatroskaStream("mjpeg", () => monotonic);
  // Capture times as the wall clock gave them, and when each frame was really written.
  const steps: [capture: number, written: number][] = [
    [1_000_000, 0],
    [1_000_100, 100],
    [200, 200], // the clock was set back by the phone
    [300, 300],
    [9e12, 400], // NTP arrived: decades forward
    [9e12 + 3_000, 3_400], // a real 3 s gap (the camera restarted)
  ];
  const chunks = steps.flatMap(([time, written], seq) => {
    monotonic = written;
    return matroska.write({ seq, time, data: jpeg, keyframe: true });
  });
  const { packets } = await probeStream(concat(...chunks));
  assert.deepEqual(packets.map((p: { time: number }) => p.time), [0, 0.1, 0.2, 0.3, 0.4, 3.4]);
});
