import assert from "node:assert/strict";
import {
  annexBToLengthPrefixed,
  avcDecoderConfigurationRecord,
  codecString,
  NAL_TYPE,
  nalType,
  nalUnits,
  parseSps,
} from "../../src/codecs/h264.ts";
import { makeH264 } from "../live/_fmp4.ts";

Deno.test("nalUnits splits at 3- and 4-byte start codes, without the zeros before them", () => {
  const au = Uint8Array.of(0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 0, 1, 0x65, 7);
  assert.deepEqual(nalUnits(au), [
    Uint8Array.of(0x09, 0xf0),
    Uint8Array.of(0x67, 1, 2),
    Uint8Array.of(0x65, 7),
  ]);
  assert.deepEqual(
    annexBToLengthPrefixed(au),
    Uint8Array.of(0, 0, 0, 2, 0x09, 0xf0, 0, 0, 0, 3, 0x67, 1, 2, 0, 0, 0, 2, 0x65, 7),
  );
});

Deno.test("avcDecoderConfigurationRecord and codecString follow the SPS of a real stream", async () => {
  const [keyframe] = await makeH264({ width: 320, height: 240, frames: 1, gop: 1 });
  const units = nalUnits(keyframe.data);
  const sps = units.find((unit) => nalType(unit) === NAL_TYPE.sps)!;
  const pps = units.find((unit) => nalType(unit) === NAL_TYPE.pps)!;
  const record = avcDecoderConfigurationRecord(sps, pps);
  assert.deepEqual([...record.subarray(0, 6)], [1, sps[1], sps[2], sps[3], 0xff, 0xe1]);
  assert.deepEqual(record.subarray(8, 8 + sps.length), sps);
  assert.deepEqual(record.subarray(11 + sps.length), pps);
  assert.equal(record.length, 11 + sps.length + pps.length);
  const hex = (byte: number) => byte.toString(16).padStart(2, "0");
  assert.equal(
    codecString(sps),
    `avc1.${hex(sps[1])}${hex(sps[2])}${hex(sps[3])}`.toUpperCase().replace("AVC1", "avc1"),
  );
  assert.deepEqual(
    [parseSps(sps)?.width, parseSps(sps)?.height, parseSps(sps)?.profileIdc],
    [320, 240, sps[1]],
  );
});
