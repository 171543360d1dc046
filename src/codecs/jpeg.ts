/**
 * JPEG helpers shared by the parser and the muxers: the markers this project looks at
 * (ITU-T T.81 table B.1), whether bytes start like a JPEG, and the picture size from the
 * start-of-frame segment. Nothing here decodes pictures.
 *
 * @module
 */

/** The marker bytes (each after an FF) this project looks at. */
export const JPEG_MARKER = {
  /** Start of image. */
  soi: 0xd8,
  /** End of image. */
  eoi: 0xd9,
  /** Start of scan: entropy-coded data follows its header. */
  sos: 0xda,
} as const;

/** Whether `bytes` begin with a JPEG's start-of-image marker (FF D8). */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === JPEG_MARKER.soi;
}

/**
 * Width and height from a JPEG's start-of-frame segment (SOF0–SOF15 but DHT, JPG and DAC,
 * which share the range), walking the marker segments from the start; undefined when there
 * is none before the data ends.
 *
 * @example
 * ```ts
 * import { jpegSize } from "./jpeg.ts";
 * declare const jpeg: Uint8Array;
 * jpegSize(jpeg); // { width: 1280, height: 720 }
 * ```
 */
export function jpegSize(jpeg: Uint8Array): { width: number; height: number } | undefined {
  let at = 2;
  while (at + 9 < jpeg.length && jpeg[at] === 0xff) {
    const marker = jpeg[at + 1];
    const length = (jpeg[at + 2] << 8) | jpeg[at + 3];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return {
        height: (jpeg[at + 5] << 8) | jpeg[at + 6],
        width: (jpeg[at + 7] << 8) | jpeg[at + 8],
      };
    }
    at += 2 + length;
  }
  return undefined;
}
