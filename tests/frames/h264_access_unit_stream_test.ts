import assert from "node:assert/strict";
import { H264AccessUnitStream } from "../../src/frames/h264_access_unit_stream.ts";
import { nalRanges } from "../../src/codecs/h264.ts";
import type { Frame } from "../../src/frames/frame.ts";
import { collect, concat, run } from "../_helpers.ts";
import { chain, feed, MiB, noise, repeated } from "./_feed.ts";

interface EncodeOptions {
  size?: string;
  frames?: number;
  gop?: number;
  /** Extra `-x264-params`, after `repeat-headers=1` (as `rpicam-vid --inline`). */
  params?: string;
  pixFmt?: string;
  extra?: string[];
}

/** Annex-B H.264 of testsrc, as ffmpeg's raw h264 muxer prints it. */
function encode(options: EncodeOptions = {}): Promise<Uint8Array> {
  return run([
    "ffmpeg",
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    `testsrc=size=${options.size ?? "160x120"}:rate=10`,
    "-frames:v",
    String(options.frames ?? 5),
    "-pix_fmt",
    options.pixFmt ?? "yuv420p",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    ...(options.extra ?? []),
    "-g",
    String(options.gop ?? 2),
    "-bsf:v",
    "h264_mp4toannexb",
    "-x264-params",
    ["repeat-headers=1", options.params].filter(Boolean).join(":"),
    "-f",
    "h264",
    "-",
  ]);
}

async function ffprobe(stream: Uint8Array, entries: string): Promise<Record<string, unknown>> {
  const out = await run([
    "ffprobe",
    "-v",
    "error",
    "-f",
    "h264",
    "-count_frames",
    "-show_entries",
    entries,
    "-of",
    "json",
    "-",
  ], { stdin: stream });
  return JSON.parse(new TextDecoder().decode(out));
}

interface Unit {
  data: Uint8Array;
  keyframe: boolean;
}

/** The access units ffmpeg's own h264 parser finds, as byte ranges of the stream. */
async function ffmpegUnits(stream: Uint8Array): Promise<Unit[]> {
  const json = await ffprobe(stream, "packet=pos,size,flags");
  const packets = json.packets as { pos: string; size: string; flags: string }[];
  return packets.map((p) => ({
    data: stream.subarray(Number(p.pos), Number(p.pos) + Number(p.size)),
    keyframe: p.flags.startsWith("K"),
  }));
}

/** Frames decoded by ffprobe from a raw H.264 stream. */
async function decodedFrames(stream: Uint8Array): Promise<number> {
  const json = await ffprobe(stream, "stream=nb_read_frames");
  return Number((json.streams as { nb_read_frames: string }[])[0].nb_read_frames);
}

function assertUnits(frames: Frame[], expected: Unit[], what = "") {
  assert.equal(frames.length, expected.length, `${what} unit count`);
  frames.forEach((frame, i) => {
    assert.deepEqual(frame.data, expected[i].data, `${what} unit ${i} bytes`);
    assert.equal(frame.keyframe, expected[i].keyframe, `${what} unit ${i} keyframe`);
    // The NAL units the parser found on the way are where a search of the frame finds them.
    assert.deepEqual(frame.nals, nalRanges(frame.data), `${what} unit ${i} NAL ranges`);
  });
}

/** Splits `bytes` into chunks of pseudo-random sizes up to `max`, the same every run. */
function chunked(bytes: Uint8Array, max: number, seed = 1): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const size = 1 + (seed % max);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** Offset of the start code (4 bytes if a zero byte leads it) of the NAL whose header is at `header`. */
function startCodeBefore(data: Uint8Array, header: number): number {
  return data[header - 4] === 0 ? header - 4 : header - 3;
}

/** Offsets of the NAL headers in a clean stream (only for ffmpeg output). */
function nalHeaders(stream: Uint8Array): number[] {
  const found: number[] = [];
  for (let at = stream.indexOf(1); at >= 0; at = stream.indexOf(1, at + 1)) {
    if (at >= 2 && stream[at - 1] === 0 && stream[at - 2] === 0) found.push(at + 1);
  }
  return found;
}

const plain = await encode();
const withAud = await encode({ params: "aud=1" });
const sliced = await encode({ params: "slices=4" });
const plainUnits = await ffmpegUnits(plain);
const slicedUnits = await ffmpegUnits(sliced);

Deno.test("H264AccessUnitStream splits access units where ffmpeg's parser does", async () => {
  for (const [name, stream] of [["plain", plain], ["aud", withAud], ["slices", sliced]] as const) {
    const expected = await ffmpegUnits(stream);
    assert.equal(expected.length, 5, `${name}: ffprobe packets`);
    assert.equal(await decodedFrames(stream), 5, `${name}: ffprobe frames`);
    const parser = new H264AccessUnitStream();
    assertUnits(await collect(parser, [stream]), expected, name);
    assert.deepEqual(parser.stats, { frames: 5, garbageBytes: 0, truncated: 0, oversized: 0 });
  }
  // Four slices per picture, and with aud=1 every unit starts with an AUD (type 9).
  const slicesPerUnit = slicedUnits.map((u) =>
    nalHeaders(u.data).filter((h) => [1, 5].includes(u.data[h] & 0x1f)).length
  );
  assert.deepEqual(slicesPerUnit, [4, 4, 4, 4, 4]);
  const audUnits = await collect(new H264AccessUnitStream(), [withAud]);
  assert.ok(audUnits.every((f) => (f.data[nalHeaders(f.data)[0]] & 0x1f) === 9));
});

Deno.test("H264AccessUnitStream yields the same units split at every byte offset", async () => {
  for (const [stream, expected] of [[plain, plainUnits], [sliced, slicedUnits]] as const) {
    for (let cut = 0; cut <= stream.length; cut++) {
      const parser = new H264AccessUnitStream();
      const frames = await collect(parser, [stream.subarray(0, cut), stream.subarray(cut)]);
      assertUnits(frames, expected, `cut at ${cut}:`);
      assert.equal(parser.stats.garbageBytes, 0);
    }
  }
});

Deno.test("H264AccessUnitStream handles one-byte chunks and many units per chunk", async () => {
  const twice = concat(withAud, withAud);
  const expected = await ffmpegUnits(twice);
  const oneByte = Array.from(twice, (b) => Uint8Array.of(b));
  assertUnits(await collect(new H264AccessUnitStream(), oneByte), expected, "one-byte chunks:");
  assertUnits(await collect(new H264AccessUnitStream(), [twice]), expected, "one chunk:");
  for (const max of [3, 100, 5000]) {
    const frames = await collect(new H264AccessUnitStream(), chunked(twice, max));
    assertUnits(frames, expected, `chunks up to ${max}:`);
  }
});

Deno.test("H264AccessUnitStream flags every G-th unit as a keyframe", async () => {
  const stream = await encode({ frames: 12, gop: 4 });
  const frames = await collect(new H264AccessUnitStream(), chunked(stream, 4096));
  assert.equal(frames.length, await decodedFrames(stream));
  assert.deepEqual(
    frames.map((f) => f.keyframe),
    Array.from({ length: 12 }, (_, i) => i % 4 === 0),
  );
  // Each keyframe carries its own SPS and PPS (repeat-headers=1, like --inline).
  for (const frame of frames.filter((f) => f.keyframe)) {
    const types = nalHeaders(frame.data).map((h) => frame.data[h] & 0x1f);
    assert.deepEqual(types.filter((t) => t !== 6), [7, 8, 5]);
  }
});

Deno.test("H264AccessUnitStream round-trips through ffprobe", async () => {
  const stream = await encode({ size: "320x240", frames: 30, gop: 10, params: "slices=2" });
  const frames = await collect(new H264AccessUnitStream(), chunked(stream, 1500, 7));
  assert.equal(frames.length, 30);
  const joined = concat(...frames.map((f) => f.data));
  assert.deepEqual(joined, stream, "units put back together are the input");
  assert.equal(await decodedFrames(joined), 30);
});

Deno.test("H264AccessUnitStream keeps the latest SPS and PPS", async () => {
  const parser = new H264AccessUnitStream();
  assert.equal(parser.sps, undefined);
  assert.equal(parser.pps, undefined);
  assert.equal(parser.info, undefined);
  // The first unit opens with an SPS then a PPS: the parser keeps them without start codes.
  const [spsAt, ppsAt, nextAt] = nalHeaders(plain);
  await collect(parser, chunked(plain, 10));
  assert.deepEqual(parser.sps, plain.subarray(spsAt, startCodeBefore(plain, ppsAt)));
  assert.deepEqual(parser.pps, plain.subarray(ppsAt, startCodeBefore(plain, nextAt)));
  assert.equal(parser.sps![0] & 0x1f, 7);
  assert.equal(parser.pps![0] & 0x1f, 8);

  // A later, different SPS replaces it.
  const big = await encode({ size: "320x240", frames: 1 });
  const both = new H264AccessUnitStream();
  const frames = await collect(both, [plain, big]);
  assert.equal(frames.length, 6);
  assert.equal(both.info?.width, 320);
  const [bigSps, bigPps] = nalHeaders(big);
  assert.deepEqual(both.sps, big.subarray(bigSps, startCodeBefore(big, bigPps)));
});

Deno.test("H264AccessUnitStream reads profile, level and cropped size from the SPS", async () => {
  const cases: { name: string; options: EncodeOptions; profileIdc: number }[] = [
    { name: "320x240 baseline", options: { size: "320x240" }, profileIdc: 66 },
    { name: "1920x1080 (cropped 1088)", options: { size: "1920x1080" }, profileIdc: 66 },
    { name: "odd 4:4:4", options: { size: "321x237", pixFmt: "yuv444p" }, profileIdc: 244 },
    { name: "4:2:2", options: { size: "326x246", pixFmt: "yuv422p" }, profileIdc: 122 },
    {
      name: "interlaced 1080",
      options: { size: "1920x1080", params: "interlaced=1" },
      profileIdc: 77,
    },
    {
      name: "high",
      options: { size: "200x100", params: "8x8dct=1", extra: ["-profile:v", "high"] },
      profileIdc: 100,
    },
  ];
  for (const { name, options, profileIdc } of cases) {
    const stream = await encode({ frames: 1, ...options });
    const json = await ffprobe(stream, "stream=width,height,level");
    const probed = (json.streams as { width: number; height: number; level: number }[])[0];
    const parser = new H264AccessUnitStream();
    await collect(parser, [stream]);
    const [width, height] = options.size!.split("x").map(Number);
    assert.deepEqual(parser.info, { profileIdc, levelIdc: probed.level, width, height }, name);
    assert.deepEqual([probed.width, probed.height], [width, height], `${name}: ffprobe`);
  }
});

Deno.test("H264AccessUnitStream unescapes the SPS before reading it", async () => {
  // An SPS written by hand: 1920x1080 (cropped from 1088), pic_order_cnt_type 1. Its huge
  // offset_for_ref_frame is a run of zero bits, so the NAL carries an emulation-prevention 03.
  const bits = new BitWriter();
  bits.u(8, 66).u(8, 0).u(8, 52); // profile_idc, constraint flags, level_idc
  bits.ue(0).ue(0).ue(1); // sps id, log2_max_frame_num_minus4, pic_order_cnt_type
  bits.u(1, 0).se(-1).se(0).ue(2).se(65_536).se(-40); // pic_order_cnt_type 1 fields
  bits.ue(1).u(1, 0); // max_num_ref_frames, gaps_in_frame_num_value_allowed_flag
  bits.ue(119).ue(67); // width 120 MBs, height 68 MBs
  bits.u(1, 1).u(1, 1).u(1, 1); // frame_mbs_only, direct_8x8_inference, frame_cropping
  bits.ue(0).ue(0).ue(0).ue(4); // crop left, right, top, bottom (2 lines each)
  bits.u(1, 0).u(1, 1); // no VUI, rbsp_stop_one_bit
  const sps = concat(Uint8Array.of(0x67), escape(bits.bytes()));
  assert.ok(nalHeaders(concat(Uint8Array.of(0, 0, 1), sps)).length === 1, "no start code inside");
  assert.ok(hasEscape(sps), "test SPS carries an emulation-prevention byte");
  const parser = new H264AccessUnitStream();
  const frames = await collect(parser, [Uint8Array.of(0, 0, 0, 1), sps, plain]);
  assert.equal(frames.length, 5, "a parameter set before a whole unit joins it");
  assert.deepEqual(frames[0].data.subarray(4, 4 + sps.length), sps);
  // plain's own SPS came later: check the hand-written one with only it in the stream.
  const alone = new H264AccessUnitStream();
  await collect(alone, [Uint8Array.of(0, 0, 0, 1), sps, plainUnits[1].data]);
  assert.deepEqual(alone.sps, sps);
  assert.deepEqual(alone.info, { profileIdc: 66, levelIdc: 52, width: 1920, height: 1080 });
  // A cut SPS still gives profile and level.
  const cut = new H264AccessUnitStream();
  await collect(cut, [Uint8Array.of(0, 0, 0, 1), sps.subarray(0, 6), plainUnits[1].data]);
  assert.deepEqual(cut.info, { profileIdc: 66, levelIdc: 52 });
});

Deno.test("H264AccessUnitStream skips SPS scaling matrices", async () => {
  // x264 signals its matrices in the PPS, so this High profile SPS is written by hand: 1280x720
  // with a flat 4x4 list, one "use the default" list, and a 64-entry list.
  const bits = new BitWriter();
  bits.u(8, 100).u(8, 0).u(8, 31); // profile_idc, constraint flags, level_idc
  bits.ue(0).ue(1).ue(0).ue(0).u(1, 0); // sps id, 4:2:0, 8-bit luma and chroma, no bypass
  bits.u(1, 1); // seq_scaling_matrix_present_flag
  bits.u(1, 1).se(8); // list 0: 16 everywhere (first delta from 8, then 15 deltas of 0)
  for (let i = 1; i < 16; i++) bits.se(0);
  bits.u(1, 1).se(-8); // list 1: next scale 0 means the default list, so it stops here
  bits.u(1, 0).u(1, 0).u(1, 0).u(1, 0); // lists 2-5 absent
  bits.u(1, 1); // list 6: 8x8, 64 deltas
  for (let i = 0; i < 64; i++) bits.se(i % 2 === 0 ? 5 : -3);
  bits.u(1, 0); // list 7 absent
  bits.ue(0).ue(0).ue(2); // log2_max_frame_num_minus4, pic_order_cnt_type 0, its lsb size
  bits.ue(3).u(1, 0); // max_num_ref_frames, gaps_in_frame_num_value_allowed_flag
  bits.ue(79).ue(44); // 80x45 MBs
  bits.u(1, 1).u(1, 1).u(1, 0); // frame_mbs_only, direct_8x8_inference, no cropping
  bits.u(1, 0).u(1, 1); // no VUI, rbsp_stop_one_bit
  const sps = concat(Uint8Array.of(0x67), escape(bits.bytes()));
  const parser = new H264AccessUnitStream();
  await collect(parser, [Uint8Array.of(0, 0, 0, 1), sps, plainUnits[1].data]);
  assert.deepEqual(parser.info, { profileIdc: 100, levelIdc: 31, width: 1280, height: 720 });
});

Deno.test("H264AccessUnitStream skips garbage before and between units", async () => {
  // A NAL with the forbidden bit set, bytes with no start code, then an orphan slice (a P slice
  // whose first_mb_in_slice is not 0: the start of its picture was lost).
  const forbidden = Uint8Array.of(0x00, 0x00, 0x01, 0xe5, 0x88, 0x00, 0x01, 0x42);
  const noise = Uint8Array.of(0x12, 0x00, 0x00, 0x02, 0x01, 0x00, 0x01, 0xff, 0x00);
  const orphan = Uint8Array.of(0x00, 0x00, 0x01, 0x41, 0x5a, 0x33, 0x00, 0x00, 0x03, 0x01);
  const garbage = concat(forbidden, noise, orphan);
  const units = plainUnits;
  const input = [
    concat(noise, garbage, units[0].data, forbidden, units[1].data, forbidden, orphan),
    units[2].data,
    concat(forbidden, orphan, units[3].data, garbage),
    units[4].data,
    garbage,
  ];
  const junk = noise.length + garbage.length * 3 + forbidden.length * 3 + orphan.length * 2;
  assert.equal(concat(...input).length, junk + plain.length);
  for (const chunks of [input, Array.from(concat(...input), (b) => Uint8Array.of(b))]) {
    const parser = new H264AccessUnitStream();
    assertUnits(await collect(parser, chunks), units, `${chunks.length} chunks:`);
    assert.deepEqual(parser.stats, { frames: 5, garbageBytes: junk, truncated: 0, oversized: 0 });
  }
});

Deno.test("H264AccessUnitStream keeps what follows a slice in its unit", async () => {
  // Nothing marks the end of a slice but the next start code: noise right after a unit cannot
  // be told from its slice data, nor a stray non-first slice from the picture's next slice, so
  // both stay in that unit (for the decoder to reject). Only a bad NAL header is caught.
  const noise = Uint8Array.of(0x12, 0x34, 0x00, 0x00, 0x02, 0x56);
  const orphan = Uint8Array.of(0x00, 0x00, 0x01, 0x41, 0x5a, 0x33);
  for (const extra of [noise, orphan]) {
    const parser = new H264AccessUnitStream();
    const [first, second] = plainUnits;
    const frames = await collect(parser, [concat(first.data, extra, second.data)]);
    assertUnits(frames, [{ ...first, data: concat(first.data, extra) }, second]);
    assert.equal(parser.stats.garbageBytes, 0);
  }
});

Deno.test("H264AccessUnitStream emits a unit cut inside a slice as it is", async () => {
  // Annex-B has no lengths: a picture whose last slice lost its tail ends where the next
  // unit's first start code begins, and looks whole. It is emitted; the decoder conceals it.
  for (const [name, units] of [["plain", plainUnits], ["slices", slicedUnits]] as const) {
    const headers = nalHeaders(units[1].data);
    const keep = headers[headers.length - 1] + 40; // 40 bytes into the unit's last slice
    const cutUnit = units[1].data.subarray(0, keep);
    assert.notEqual(cutUnit[keep - 1], 0, "a cut before a zero byte would move it");
    const parser = new H264AccessUnitStream();
    const frames = await collect(parser, [concat(units[0].data, cutUnit, units[2].data)]);
    assertUnits(frames, [units[0], { ...units[1], data: cutUnit }, units[2]], name);
    assert.deepEqual(parser.stats, { frames: 3, garbageBytes: 0, truncated: 0, oversized: 0 });
    // At the end of the input too: the last unit is assumed whole.
    const last = new H264AccessUnitStream();
    assertUnits(await collect(last, [units[0].data, cutUnit]), [units[0], {
      ...units[1],
      data: cutUnit,
    }]);
  }
});

Deno.test("H264AccessUnitStream counts a unit without a slice as truncated", async () => {
  // With AUDs every unit's start is marked, so one cut before its slice is detectable.
  const units = await ffmpegUnits(withAud);
  const headers = nalHeaders(units[2].data); // AUD, SPS, PPS, IDR
  const headersOnly = units[2].data.subarray(0, startCodeBefore(units[2].data, headers[3]));
  const parser = new H264AccessUnitStream();
  const frames = await collect(parser, [concat(units[0].data, headersOnly, units[3].data)]);
  assertUnits(frames, [units[0], units[3]]);
  assert.equal(parser.stats.truncated, 1);
  // Parameter sets in the dropped unit are still the latest seen.
  const sps = units[2].data.subarray(headers[1], startCodeBefore(units[2].data, headers[2]));
  assert.deepEqual(parser.sps, sps);

  // The end of the input: parameter sets with no picture, or a start code with no NAL.
  const tail = new H264AccessUnitStream();
  const tailFrames = await collect(tail, [units[0].data, headersOnly]);
  assertUnits(tailFrames, [units[0]]);
  assert.equal(tail.stats.truncated, 1);
  for (const extra of [[0, 0, 0, 1], [0, 0, 1], [0, 0, 1, 0x65], [0, 0, 0, 1, 0x41]]) {
    const dangling = new H264AccessUnitStream();
    const out = await collect(dangling, [concat(units[0].data, Uint8Array.from(extra))]);
    assertUnits(out, [units[0]], `tail ${extra}`);
    assert.equal(dangling.stats.garbageBytes, extra.length, `tail ${extra}`);
  }
});

Deno.test("H264AccessUnitStream drops oversized units, every slice of them", async () => {
  // An endless IDR slice: a start code, a slice header, then 32 MiB with no start code.
  const header = Uint8Array.of(0, 0, 0, 1, 0x65, 0x88);
  const slice = new Uint8Array(1024 * 1024).fill(0x55);
  const parser = new H264AccessUnitStream({ maxFrameBytes: 512 * 1024 });
  const chunks = [header, ...Array.from({ length: 32 }, () => slice), plain];
  assertUnits(await collect(parser, chunks), plainUnits);
  assert.deepEqual(parser.stats, { frames: 5, garbageBytes: 0, truncated: 0, oversized: 1 });

  // A cap between P and IDR sizes drops every IDR unit whole, all four slices of it.
  const cap = Math.max(...slicedUnits.filter((u) => !u.keyframe).map((u) => u.data.length));
  const capped = new H264AccessUnitStream({ maxFrameBytes: cap });
  const kept = await collect(capped, chunked(concat(sliced, sliced), 700));
  const small = slicedUnits.filter((u) => !u.keyframe);
  assertUnits(kept, [...small, ...small]);
  assert.equal(capped.stats.oversized, 2 * (slicedUnits.length - small.length));
  assert.equal(capped.stats.truncated, 0);
  assert.equal(capped.stats.garbageBytes, 0);
});

Deno.test("H264AccessUnitStream holds a bounded buffer on every pathological input", async () => {
  // Each input is tens of MB, fed in 64 KiB chunks, then a good stream: the parser holds about
  // one unit (or the cap) plus the chunks it spans, and the units after the garbage come out.
  const chunk = 64 * 1024;
  const cap = 1 * MiB;
  const fill = (byte: number, length: number) => new Uint8Array(length).fill(byte);
  const inputs: { name: string; chunks: Iterable<Uint8Array>; bound: number }[] = [
    {
      name: "no start code ever",
      chunks: repeated(Uint8Array.of(0x55), 32 * MiB, chunk),
      bound: 2 * chunk,
    },
    { name: "zeros", chunks: repeated(Uint8Array.of(0), 16 * MiB, chunk), bound: 2 * chunk },
    // One giant IDR slice, and one giant SPS (parameter sets alone never end a unit).
    {
      name: "one giant NAL",
      chunks: chain(
        [Uint8Array.of(0, 0, 0, 1, 0x65, 0x88)],
        repeated(Uint8Array.of(0x55), 32 * MiB, chunk),
      ),
      bound: cap + 2 * chunk,
    },
    {
      name: "endless parameter sets",
      chunks: repeated(concat(Uint8Array.of(0, 0, 1, 0x67), fill(0x55, 1000)), 32 * MiB, chunk),
      bound: cap + 2 * chunk,
    },
    // Start codes that never begin a unit: orphan slices (first_mb_in_slice not 0), bad NALs.
    {
      name: "orphan slices",
      chunks: repeated(
        concat(Uint8Array.of(0, 0, 1, 0x41, 0x5a), fill(0x55, 1000)),
        32 * MiB,
        chunk,
      ),
      bound: 2 * chunk,
    },
    {
      name: "forbidden NALs",
      chunks: repeated(concat(Uint8Array.of(0, 0, 1, 0xe5), fill(0x55, 100)), 16 * MiB, chunk),
      bound: 2 * chunk,
    },
    {
      name: "type 0 NALs",
      chunks: repeated(Uint8Array.of(0, 0, 1, 0), 16 * MiB, chunk),
      bound: 2 * chunk,
    },
    {
      name: "an AUD storm",
      chunks: repeated(Uint8Array.of(0, 0, 0, 1, 0x09, 0xf0), 16 * MiB, chunk),
      bound: 2 * chunk,
    },
    {
      name: "huge units",
      chunks: repeated(
        concat(Uint8Array.of(0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x65, 0x88), fill(0x55, 3 * MiB)),
        32 * MiB,
        chunk,
      ),
      bound: cap + 2 * chunk,
    },
    { name: "random bytes", chunks: noise(32 * MiB, chunk), bound: cap + 2 * chunk },
    {
      name: "orphan slices in 100-byte chunks",
      chunks: repeated(concat(Uint8Array.of(0, 0, 1, 0x41, 0x5a), fill(0x55, 1000)), 4 * MiB, 100),
      bound: 8 * 1024,
    },
    {
      name: "orphan slices in 4 MiB chunks",
      chunks: repeated(
        concat(Uint8Array.of(0, 0, 1, 0x41, 0x5a), fill(0x55, 1000)),
        32 * MiB,
        4 * MiB,
      ),
      bound: 8 * 1024,
    },
  ];
  const good = await encode({ frames: 40, gop: 10 });
  const units = await ffmpegUnits(good);
  for (const { name, chunks, bound } of inputs) {
    const parser = new H264AccessUnitStream({ maxFrameBytes: cap });
    const { frames, maxBuffered, bytes } = await feed(parser, chain(chunks, [good]));
    assert.ok(maxBuffered <= bound, `${name}: held ${maxBuffered} bytes, bound ${bound}`);
    // The garbage may swallow the first good unit (a slice right after parameter sets
    // continues their unit); the rest come out whole.
    assert.ok(frames.length >= units.length - 1, `${name}: ${frames.length} units after it`);
    assertUnits(frames.slice(-30), units.slice(-30), `${name}:`);
    const { garbageBytes, truncated, oversized } = parser.stats;
    assert.ok(garbageBytes + truncated + oversized > 0, `${name}: nothing counted`);
    assert.ok(bytes > 4 * MiB);
  }
});

Deno.test("H264AccessUnitStream numbers units and stamps capture time", async () => {
  let clock = 1_000;
  const parser = new H264AccessUnitStream({ firstSeq: 41, now: () => clock++ });
  const frames = await collect(parser, [plain]);
  assert.deepEqual(frames.map((f) => f.seq), [41, 42, 43, 44, 45]);
  assert.deepEqual(frames.map((f) => f.time), [1_000, 1_001, 1_002, 1_003, 1_004]);
  assert.equal(parser.stats.frames, 5);
});

Deno.test("H264AccessUnitStream emits a unit as soon as the next one starts", async () => {
  // Feed the stream one NAL at a time (cut just after each NAL's header and the byte after):
  // unit k must be out once unit k+1's first NAL has been seen, before its slice data.
  const parser = new H264AccessUnitStream();
  const writer = parser.writable.getWriter();
  const reader = parser.readable.getReader();
  const starts = plainUnits.map((u) => u.data.byteOffset - plain.byteOffset);
  let fed = 0;
  for (let k = 0; k + 1 < starts.length; k++) {
    const upTo = starts[k + 1] + 6; // 4-byte start code, NAL header, one byte
    void writer.write(plain.subarray(fed, upTo));
    fed = upTo;
    const { value } = await withTimeout(reader.read(), `unit ${k} after unit ${k + 1} began`);
    assert.deepEqual(value?.data, plainUnits[k].data, `unit ${k}`);
  }
  void writer.write(plain.subarray(fed));
  void writer.close();
  const { value } = await reader.read();
  assert.deepEqual(value?.data, plainUnits[4].data);
  assert.equal((await reader.read()).done, true);
});

Deno.test("H264AccessUnitStream rejects a non-positive size cap", () => {
  assert.throws(() => new H264AccessUnitStream({ maxFrameBytes: 0 }), RangeError);
  assert.throws(() => new H264AccessUnitStream({ maxFrameBytes: NaN }), RangeError);
});

/** Writes bits and exp-Golomb codes MSB first, for hand-made parameter sets. */
class BitWriter {
  #bits: number[] = [];

  u(count: number, value: number): this {
    for (let i = count - 1; i >= 0; i--) this.#bits.push(Math.floor(value / 2 ** i) % 2);
    return this;
  }

  ue(value: number): this {
    const length = Math.floor(Math.log2(value + 1));
    return this.u(length, 0).u(length + 1, value + 1);
  }

  se(value: number): this {
    return this.ue(value > 0 ? 2 * value - 1 : -2 * value);
  }

  bytes(): Uint8Array {
    while (this.#bits.length % 8 !== 0) this.#bits.push(0);
    const out = new Uint8Array(this.#bits.length / 8);
    this.#bits.forEach((bit, i) => out[i >> 3] |= bit << (7 - (i & 7)));
    return out;
  }
}

/** Inserts emulation-prevention bytes (7.4.1): 00 00 0x with x <= 3 becomes 00 00 03 0x. */
function escape(rbsp: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

/** `promise`, or a failure naming `what` if it takes over 5 s (instead of a hung test). */
async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out waiting for ${what}`)), 5_000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function hasEscape(nal: Uint8Array): boolean {
  return nal.some((b, i) => b === 3 && nal[i - 1] === 0 && nal[i - 2] === 0);
}
