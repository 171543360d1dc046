import assert from "node:assert/strict";
import { formatBytes, parseByteSize, parseFreeSpaceFloor } from "../../src/storage/byte_size.ts";

Deno.test("parseByteSize reads K/M/G/T suffixes as powers of 1024", () => {
  assert.equal(parseByteSize("4096"), 4096);
  assert.equal(parseByteSize("1K"), 1024);
  assert.equal(parseByteSize("512M"), 512 * 1024 ** 2);
  assert.equal(parseByteSize("20G"), 20 * 1024 ** 3);
  assert.equal(parseByteSize("2T"), 2 * 1024 ** 4);
});

Deno.test("parseByteSize accepts B and iB, any case, spaces and decimals", () => {
  assert.equal(parseByteSize("20GB"), 20 * 1024 ** 3);
  assert.equal(parseByteSize("20GiB"), 20 * 1024 ** 3);
  assert.equal(parseByteSize("20 gib"), 20 * 1024 ** 3);
  assert.equal(parseByteSize("100B"), 100);
  assert.equal(parseByteSize("1.5M"), 1.5 * 1024 ** 2);
  assert.equal(parseByteSize(".5K"), 512);
  assert.equal(parseByteSize("1.0001K"), 1024); // rounded down to whole bytes
});

Deno.test("parseByteSize refuses other text with a TypeError naming it", () => {
  for (const text of ["", "G", "20X", "20 GGB", "1,5G", "twenty", "20G extra", "0x10"]) {
    assert.throws(() => parseByteSize(text), (error: Error) => {
      assert.ok(error instanceof TypeError, text);
      assert.match(error.message, /^Invalid size: ".*" \(expected a number/);
      return true;
    });
  }
});

Deno.test("parseByteSize refuses negative and huge sizes with a RangeError", () => {
  assert.throws(() => parseByteSize("-1G"), RangeError);
  assert.throws(() => parseByteSize("99999999T"), /Invalid size: "99999999T" is too large/);
});

Deno.test("parseFreeSpaceFloor reads a size or a percentage", () => {
  assert.deepEqual(parseFreeSpaceFloor("1G"), { bytes: 1024 ** 3 });
  assert.deepEqual(parseFreeSpaceFloor("10%"), { percent: 10 });
  assert.deepEqual(parseFreeSpaceFloor(" 2.5 % "), { percent: 2.5 });
  assert.deepEqual(parseFreeSpaceFloor("0"), { bytes: 0 });
});

Deno.test("parseFreeSpaceFloor refuses 100% or more, negatives and junk", () => {
  assert.throws(() => parseFreeSpaceFloor("100%"), RangeError);
  assert.throws(() => parseFreeSpaceFloor("150%"), /under 100%/);
  assert.throws(() => parseFreeSpaceFloor("-5%"), RangeError);
  assert.throws(() => parseFreeSpaceFloor("ten%"), TypeError);
  assert.throws(() => parseFreeSpaceFloor("%"), TypeError);
  assert.throws(() => parseFreeSpaceFloor("1Q"), TypeError);
});

Deno.test("formatBytes uses binary units with one decimal", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1024), "1 KiB");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(20 * 1024 ** 3), "20 GiB");
  assert.equal(formatBytes(21.3 * 1024 ** 3), "21.3 GiB");
  assert.equal(formatBytes(1024 ** 2 - 1), "1 MiB");
  assert.equal(formatBytes(3 * 1024 ** 4), "3 TiB");
  assert.equal(formatBytes(-2048), "-2 KiB");
});
