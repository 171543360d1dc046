/**
 * Byte sizes as people type them on the command line (`20G`, `1.5GiB`, `512M`), and the
 * free-space floor, which may also be a share of the disk (`10%`).
 */

const UNITS = ["", "K", "M", "G", "T"] as const;
const SIZE = /^(\d+(?:\.\d+)?|\.\d+)\s*([KMGT]?)(I?B)?$/;
const PERCENT = /^(\d+(?:\.\d+)?|\.\d+)\s*%$/;

/** The free-space floor: a number of bytes or a percentage of the disk's size. */
export type FreeSpaceFloor = { bytes: number } | { percent: number };

/**
 * Parses a byte size: a number with an optional K, M, G or T suffix (powers of 1024),
 * optionally followed by `B` or `iB`. Decimals are allowed; the result is rounded down.
 *
 * @throws {TypeError} when the text is not a size.
 * @throws {RangeError} when it is negative or too large.
 *
 * @example
 * ```ts
 * parseByteSize("20G"); // 21474836480
 * parseByteSize("1.5MiB"); // 1572864
 * parseByteSize("4096"); // 4096
 * ```
 */
export function parseByteSize(text: string): number {
  const trimmed = String(text).trim();
  if (trimmed.startsWith("-")) {
    throw new RangeError(`Invalid size: "${text}" is negative`);
  }
  const match = SIZE.exec(trimmed.toUpperCase());
  if (!match) {
    throw new TypeError(
      `Invalid size: "${text}" (expected a number with an optional K, M, G or T suffix, e.g. 20G)`,
    );
  }
  const bytes = Math.floor(
    Number(match[1]) * 1024 ** UNITS.indexOf(match[2] as typeof UNITS[number]),
  );
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`Invalid size: "${text}" is too large`);
  return bytes;
}

/**
 * Parses a free-space floor: a byte size (see {@linkcode parseByteSize}) or a percentage of
 * the disk, from 0 up to (not including) 100.
 *
 * @throws {TypeError} when the text is neither.
 * @throws {RangeError} when the percentage is 100 or more, or the size out of range.
 *
 * @example
 * ```ts
 * parseFreeSpaceFloor("1G"); // { bytes: 1073741824 }
 * parseFreeSpaceFloor("10%"); // { percent: 10 }
 * ```
 */
export function parseFreeSpaceFloor(text: string): FreeSpaceFloor {
  const trimmed = String(text).trim();
  if (!trimmed.endsWith("%")) return { bytes: parseByteSize(trimmed) };
  if (trimmed.startsWith("-")) {
    throw new RangeError(`Invalid free-space floor: "${text}" is negative`);
  }
  const match = PERCENT.exec(trimmed);
  if (!match) {
    throw new TypeError(
      `Invalid free-space floor: "${text}" (expected a size like 1G or a percentage like 10%)`,
    );
  }
  const percent = Number(match[1]);
  if (percent >= 100) {
    throw new RangeError(
      `Invalid free-space floor: "${text}" leaves no room to record (expected under 100%)`,
    );
  }
  return { percent };
}

// One formatter for the server and the page, which runs it in the browser as it is.
export { formatBytes } from "../../web/js/bytes.js";
