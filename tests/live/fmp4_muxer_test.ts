import assert from "node:assert/strict";
import { lengthPrefixed, NAL_TYPE, nalType, nalUnits } from "../../src/codecs/h264.ts";
import type { Frame } from "../../src/frames/frame.ts";
import { Fmp4Muxer, type Fmp4Sample, TIMESCALE } from "../../src/live/fmp4_muxer.ts";
import { concat, run } from "../_helpers.ts";
import { makeH264, readBoxes } from "./_fmp4.ts";

/** SPS, PPS and the samples of `frames`, as Mp4LiveStreams makes them. */
function samples(frames: Frame[], start = 1_800_000_000_000) {
  let sps: Uint8Array | undefined;
  let pps: Uint8Array | undefined;
  const out: Fmp4Sample[] = frames.map((frame, i) => {
    const picture = nalUnits(frame.data).filter((unit) => {
      if (nalType(unit) === NAL_TYPE.sps) sps ??= unit;
      if (nalType(unit) === NAL_TYPE.pps) pps ??= unit;
      return ![NAL_TYPE.sps, NAL_TYPE.pps, NAL_TYPE.aud].includes(nalType(unit) as 7);
    });
    return {
      seq: i,
      time: start + i * 40,
      keyframe: frame.keyframe,
      units: picture,
    };
  });
  return { sps: sps!, pps: pps!, samples: out };
}

async function probe(file: string): Promise<Record<string, string>> {
  const out = await run([
    "ffprobe",
    "-v",
    "error",
    "-count_frames",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=codec_name,width,height,nb_read_frames,profile",
    "-of",
    "default=nw=1",
    file,
  ]);
  return Object.fromEntries(
    new TextDecoder().decode(out).trim().split("\n").map((line) => line.split("=")),
  );
}

Deno.test("Fmp4Muxer output is an MP4 that ffprobe reads: every frame, the SPS's size", async () => {
  // 180 lines is not a multiple of 16: the size comes from the SPS's cropping.
  const frames = await makeH264({ width: 320, height: 180, frames: 45, gop: 15 });
  const { sps, pps, samples: list } = samples(frames);
  const muxer = new Fmp4Muxer(sps, pps);
  assert.deepEqual([muxer.width, muxer.height], [320, 180]);
  assert.match(muxer.codec, /^avc1\.[0-9A-F]{6}$/);
  assert.equal(muxer.codec.slice(5, 7), sps[1].toString(16).toUpperCase());
  const bytes = concat(muxer.init, ...list.map((sample) => muxer.fragment(sample)));
  const dir = await Deno.makeTempDir({ prefix: "fmp4_muxer_test_" });
  try {
    const file = `${dir}/live.mp4`;
    await Deno.writeFile(file, bytes);
    const info = await probe(file);
    assert.deepEqual(
      [info.codec_name, info.width, info.height, info.nb_read_frames],
      ["h264", "320", "180", "45"],
    );
    // The pictures are the camera's, bit for bit: decoded, they equal the raw stream decoded.
    await Deno.writeFile(`${dir}/raw.h264`, concat(...frames.map((frame) => frame.data)));
    const md5 = async (input: string) =>
      new TextDecoder().decode(
        await run(["ffmpeg", "-v", "error", "-i", input, "-map", "0:v", "-f", "framemd5", "-"]),
      ).split("\n").filter((line) => line && !line.startsWith("#")).map((line) =>
        line.split(",").pop()
      );
    assert.deepEqual(await md5(file), await md5(`${dir}/raw.h264`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Fmp4Muxer writes one moof+mdat per frame, timed by the capture times", async () => {
  const frames = await makeH264({ width: 160, height: 120, frames: 10, gop: 5 });
  const { sps, pps, samples: list } = samples(frames);
  const muxer = new Fmp4Muxer(sps, pps);
  const { types, fragments, rest } = readBoxes(
    concat(muxer.init, ...list.map((sample) => muxer.fragment(sample))),
  );
  assert.deepEqual(types.slice(0, 2), ["ftyp", "moov"]);
  assert.equal(rest, 0);
  assert.equal(fragments.length, 10);
  assert.deepEqual(fragments.map((f) => f.keyframe), list.map((s) => s.keyframe));
  assert.deepEqual(fragments.map((f) => f.data), list.map((s) => lengthPrefixed(s.units)));
  // 40 ms apart: 3600 ticks at 90 kHz, from 0.
  assert.equal(TIMESCALE, 90_000);
  assert.deepEqual(fragments.map((f) => f.decodeTime), list.map((_, i) => i * 3600));
});

Deno.test("Fmp4Muxer keeps the timeline whole across skipped frames and clock jumps", async () => {
  const frames = await makeH264({ width: 160, height: 120, frames: 4, gop: 2 });
  const { sps, pps, samples: list } = samples(frames);
  const muxer = new Fmp4Muxer(sps, pps);
  const times: number[] = [];
  const feed = (sample: Fmp4Sample) => {
    muxer.fragment(sample);
    times.push(muxer.decodeTime);
  };
  feed({ ...list[0], seq: 0, time: 1000 });
  feed({ ...list[1], seq: 1, time: 1033 });
  feed({ ...list[2], seq: 9, time: 1400 }); // skipped 7 frames: one interval, no hole
  feed({ ...list[3], seq: 10, time: 500 }); // the clock went back
  feed({ ...list[2], seq: 11, time: 9000 }); // and jumped forward
  const tick = 33 * 90;
  assert.deepEqual(times, [0, tick, 2 * tick, 3 * tick, 4 * tick]);
});

Deno.test("Fmp4Muxer refuses an SPS without a picture size", () => {
  assert.throws(
    () => new Fmp4Muxer(Uint8Array.of(0x67, 0x64), Uint8Array.of(0x68, 0xee)),
    /Cannot mux MP4: cannot read the picture size/,
  );
});
