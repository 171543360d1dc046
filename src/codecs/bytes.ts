/**
 * Byte helpers shared by the muxers (Matroska, fragmented MP4).
 *
 * @module
 */

/** The parts in one new buffer. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
