import assert from "node:assert/strict";
import { JpegFrameStream } from "../../src/frames/jpeg_frame_stream.ts";
import type { Frame } from "../../src/frames/frame.ts";
import { collect, concat, makeJpegs } from "../_helpers.ts";
import { chain, feed, MiB, noise, repeated } from "./_feed.ts";

const jpegs = await makeJpegs(3);

function assertFrames(frames: Frame[], expected: Uint8Array[]) {
  assert.equal(frames.length, expected.length, "frame count");
  frames.forEach((frame, i) => {
    assert.deepEqual(frame.data, expected[i], `frame ${i} bytes`);
    assert.equal(frame.keyframe, true);
  });
}

Deno.test("JpegFrameStream yields whole frames split at every byte offset", async () => {
  const all = concat(...jpegs);
  for (let cut = 0; cut <= all.length; cut++) {
    const frames = await collect(new JpegFrameStream(), [all.subarray(0, cut), all.subarray(cut)]);
    assertFrames(frames, jpegs);
  }
});

Deno.test("JpegFrameStream handles one-byte chunks and many frames per chunk", async () => {
  const all = concat(...jpegs, ...jpegs);
  const bytes = Array.from(all, (b) => Uint8Array.of(b));
  assertFrames(await collect(new JpegFrameStream(), bytes), [...jpegs, ...jpegs]);
  assertFrames(await collect(new JpegFrameStream(), [all]), [...jpegs, ...jpegs]);
});

Deno.test("JpegFrameStream numbers frames and stamps capture time", async () => {
  let clock = 1_000;
  const stream = new JpegFrameStream({ firstSeq: 41, now: () => clock++ });
  const frames = await collect(stream, [concat(...jpegs)]);
  assert.deepEqual(frames.map((f) => f.seq), [41, 42, 43]);
  assert.deepEqual(frames.map((f) => f.time), [1_000, 1_001, 1_002]);
  assert.equal(stream.stats.frames, 3);
});

Deno.test("JpegFrameStream resyncs after garbage between frames", async () => {
  // Garbage with lone FFs, an FF D8 not followed by FF, and an FF D9 outside any frame.
  const garbage = Uint8Array.of(0x00, 0xff, 0x12, 0xff, 0xd8, 0x00, 0xff, 0xd9, 0xff);
  const stream = new JpegFrameStream();
  const frames = await collect(stream, [
    concat(garbage, jpegs[0], garbage, jpegs[1]),
    concat(garbage, jpegs[2], garbage),
  ]);
  assertFrames(frames, jpegs);
  assert.equal(stream.stats.garbageBytes, garbage.length * 4);
  assert.equal(stream.stats.truncated, 0);
});

Deno.test("JpegFrameStream drops a frame cut short by the next one", async () => {
  for (const keep of [3, 20, Math.floor(jpegs[1].length / 2), jpegs[1].length - 2]) {
    const stream = new JpegFrameStream();
    const frames = await collect(stream, [concat(jpegs[0], jpegs[1].subarray(0, keep), jpegs[2])]);
    assertFrames(frames, [jpegs[0], jpegs[2]]);
    assert.equal(stream.stats.truncated, 1, `cut after ${keep} bytes`);
  }
});

Deno.test("JpegFrameStream counts a frame truncated by the end of input", async () => {
  const stream = new JpegFrameStream();
  const frames = await collect(stream, [concat(jpegs[0], jpegs[1].subarray(0, 500))]);
  assertFrames(frames, [jpegs[0]]);
  assert.equal(stream.stats.truncated, 1);
});

Deno.test("JpegFrameStream drops oversized frames and keeps memory bounded", async () => {
  // An endless "frame": SOI, SOS header, then scan data that never ends, 32 MiB of it.
  const header = Uint8Array.of(0xff, 0xd8, 0xff, 0xda, 0x00, 0x02);
  const scan = new Uint8Array(1024 * 1024).fill(0x55);
  const stream = new JpegFrameStream({ maxFrameBytes: 512 * 1024 });
  const chunks = [header, ...Array.from({ length: 32 }, () => scan), jpegs[0], jpegs[1]];
  const frames = await collect(stream, chunks);
  assertFrames(frames, [jpegs[0], jpegs[1]]);
  assert.equal(stream.stats.oversized, 1);
  // A frame just over the cap is dropped too; one under it is kept.
  const cap = Math.max(...jpegs.map((j) => j.length)) - 1;
  const capped = new JpegFrameStream({ maxFrameBytes: cap });
  const kept = await collect(capped, [concat(...jpegs, ...jpegs)]);
  const small = jpegs.filter((j) => j.length <= cap);
  assertFrames(kept, [...small, ...small]);
  assert.equal(capped.stats.oversized, 2 * (jpegs.length - small.length));
});

Deno.test("JpegFrameStream keeps an EXIF thumbnail inside its frame", async () => {
  // APP1 holding a whole JPEG (with its own FF D9), as cameras write EXIF thumbnails.
  const thumb = jpegs[0];
  const length = thumb.length + 2 + 6;
  const app1 = concat(
    Uint8Array.of(0xff, 0xe1, length >> 8, length & 0xff),
    new TextEncoder().encode("Exif\0\0"),
    thumb,
  );
  const withExif = concat(jpegs[1].subarray(0, 2), app1, jpegs[1].subarray(2));
  const frames = await collect(new JpegFrameStream(), [concat(withExif, jpegs[2])]);
  assertFrames(frames, [withExif, jpegs[2]]);
});

Deno.test("JpegFrameStream rejects a non-positive size cap", () => {
  assert.throws(() => new JpegFrameStream({ maxFrameBytes: 0 }), RangeError);
});

Deno.test("JpegFrameStream holds a bounded buffer on every pathological input", async () => {
  // Each input is tens of MB, fed in 64 KiB chunks (as a pipe delivers them), then whole
  // frames: the parser holds about one frame (or the cap) plus the chunks it spans, and the
  // frames after the garbage still come out.
  const chunk = 64 * 1024;
  const cap = 1 * MiB;
  const full = jpegs[1];
  const tail = Uint8Array.of(0xff, 0xd9);
  const inputs: { name: string; chunks: Iterable<Uint8Array>; bound: number }[] = [
    // The camera: the first half of a JPEG, again and again (a new SOI before the EOI).
    {
      name: "frames cut in the scan",
      chunks: repeated(full.subarray(0, full.length >> 1), 32 * MiB, chunk),
      bound: 2 * chunk,
    },
    {
      name: "frames cut in a header",
      chunks: repeated(full.subarray(0, 20), 16 * MiB, chunk),
      bound: 2 * chunk,
    },
    {
      name: "an SOI storm",
      chunks: repeated(Uint8Array.of(0xff, 0xd8), 16 * MiB, chunk),
      bound: 2 * chunk,
    },
    // A scan that never ends, and one valid-looking frame of APP0 segments that never ends.
    {
      name: "no EOI ever",
      chunks: chain(
        [Uint8Array.of(0xff, 0xd8, 0xff, 0xda, 0, 2)],
        repeated(Uint8Array.of(0x55), 32 * MiB, chunk),
      ),
      bound: cap + 2 * chunk,
    },
    {
      name: "endless headers",
      chunks: chain(
        [Uint8Array.of(0xff, 0xd8)],
        repeated(
          concat(Uint8Array.of(0xff, 0xe0, 0xff, 0xff), new Uint8Array(0xfffd)),
          32 * MiB,
          chunk,
        ),
      ),
      bound: cap + 2 * chunk,
    },
    {
      name: "huge frames",
      chunks: repeated(
        concat(
          Uint8Array.of(0xff, 0xd8, 0xff, 0xda, 0, 2),
          new Uint8Array(3 * MiB).fill(0x55),
          tail,
        ),
        32 * MiB,
        chunk,
      ),
      bound: cap + 2 * chunk,
    },
    { name: "random bytes", chunks: noise(32 * MiB, chunk), bound: cap + 2 * chunk },
    // Tiny writes: chunks merge, and merged chunks must not pin what lies before a frame.
    {
      name: "cut frames in 100-byte chunks",
      chunks: repeated(full.subarray(0, full.length >> 1), 4 * MiB, 100),
      bound: 4 * full.length,
    },
    // Big reads: a chunk is let go of up to the frame that starts near its end.
    {
      name: "cut frames in 4 MiB chunks",
      chunks: repeated(full.subarray(0, full.length >> 1), 32 * MiB, 4 * MiB),
      bound: 4 * full.length,
    },
  ];
  for (const { name, chunks, bound } of inputs) {
    const stream = new JpegFrameStream({ maxFrameBytes: cap });
    // Enough whole frames after it that a false frame start in the garbage cannot hide them all.
    const good = Array.from({ length: 40 }, (_, i) => jpegs[i % jpegs.length]);
    const { frames, maxBuffered, bytes } = await feed(stream, chain(chunks, good));
    assert.ok(maxBuffered <= bound, `${name}: held ${maxBuffered} bytes, bound ${bound}`);
    assert.ok(frames.length >= good.length - 2, `${name}: ${frames.length} frames after it`);
    assertFrames(frames.slice(-30), good.slice(-30));
    const { garbageBytes, truncated, oversized } = stream.stats;
    assert.ok(garbageBytes + truncated + oversized > 0, `${name}: nothing counted`);
    assert.ok(bytes > 4 * MiB);
  }
});
