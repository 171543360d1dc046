/**
 * H.264 bitstream helpers shared by the muxers: NAL unit types, Annex B access units split
 * into NAL units and rewritten with 4-byte lengths (what MP4 and Matroska carry), the
 * `AVCDecoderConfigurationRecord` (`avcC`), the RFC 6381 codec string, and the SPS fields a
 * container needs (profile, level, picture size). Nothing here decodes pictures.
 *
 * @module
 */

/** `nal_unit_type` values (ITU-T H.264 table 7-1) this project looks at. */
export const NAL_TYPE = {
  slice: 1,
  partitionA: 2,
  idr: 5,
  sei: 6,
  sps: 7,
  pps: 8,
  aud: 9,
} as const;

/** The `nal_unit_type` of a NAL unit (header byte first, no start code). */
export function nalType(nal: Uint8Array): number {
  return nal[0] & 0x1f;
}

/** What the latest sequence parameter set says about the stream. */
export interface H264StreamInfo {
  /** `profile_idc`: 66 baseline, 77 main, 100 high, 244 high 4:4:4, ... */
  profileIdc: number;
  /** `level_idc`: ten times the level (41 is level 4.1). */
  levelIdc: number;
  /** Displayed width in pixels, after cropping; absent if the SPS could not be parsed. */
  width?: number;
  /** Displayed height in pixels, after cropping; absent if the SPS could not be parsed. */
  height?: number;
}

/**
 * Where the NAL units of an Annex B access unit are: `[start, end)` pairs, flat, of each unit
 * without its start code. Zero bytes before a start code (a 4-byte start code's leading 00,
 * trailing_zero_8bits) are not part of the unit before it; the last unit runs to the end.
 * `H264AccessUnitStream` hands these on with each frame (`Frame.nals`), found while parsing.
 */
export function nalRanges(au: Uint8Array): Uint32Array {
  const ranges: number[] = [];
  let start = -1;
  for (let at = au.indexOf(1); at >= 0; at = au.indexOf(1, at + 1)) {
    if (at < 2 || au[at - 1] !== 0 || au[at - 2] !== 0) continue;
    if (start >= 0) ranges.push(start, trimZeros(au, start, at - 2));
    start = at + 1;
  }
  if (start >= 0) ranges.push(start, au.length);
  return Uint32Array.from(ranges);
}

/** The end of a unit that ends at `end` or before, without the zero bytes it ends with. */
function trimZeros(au: Uint8Array, start: number, end: number): number {
  while (end > start && au[end - 1] === 0) end--;
  return end;
}

/**
 * The NAL units of an Annex B access unit, without their start codes (views into `au`, not
 * copies), at `ranges` when known (`Frame.nals`), else found (see {@linkcode nalRanges}).
 */
export function nalUnits(au: Uint8Array, ranges: Uint32Array = nalRanges(au)): Uint8Array[] {
  const units: Uint8Array[] = [];
  for (let i = 0; i < ranges.length; i += 2) units.push(au.subarray(ranges[i], ranges[i + 1]));
  return units;
}

/** Bytes of an access unit with a 4-byte length in place of each start code. */
export function lengthPrefixedSize(ranges: Uint32Array): number {
  let size = 0;
  for (let i = 0; i < ranges.length; i += 2) size += 4 + ranges[i + 1] - ranges[i];
  return size;
}

/**
 * Writes the NAL units of `au` at `ranges` into `out` at `offset`, each after its length as 4
 * bytes big-endian (ISO 14496-15 with `lengthSizeMinusOne` 3, what `avcC` below declares);
 * returns the offset after them. The one copy of the frame's bytes, into a buffer sized with
 * {@linkcode lengthPrefixedSize}.
 */
export function writeLengthPrefixed(
  out: Uint8Array,
  offset: number,
  au: Uint8Array,
  ranges: Uint32Array,
): number {
  for (let i = 0; i < ranges.length; i += 2) {
    const length = ranges[i + 1] - ranges[i];
    out[offset] = length >>> 24;
    out[offset + 1] = (length >>> 16) & 0xff;
    out[offset + 2] = (length >>> 8) & 0xff;
    out[offset + 3] = length & 0xff;
    out.set(au.subarray(ranges[i], ranges[i + 1]), offset + 4);
    offset += 4 + length;
  }
  return offset;
}

/**
 * NAL units in one new buffer, each after its length as 4 bytes big-endian (ISO 14496-15
 * with `lengthSizeMinusOne` 3, what `avcC` below declares).
 */
export function lengthPrefixed(units: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const unit of units) size += 4 + unit.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const unit of units) {
    view.setUint32(offset, unit.length);
    out.set(unit, offset + 4);
    offset += 4 + unit.length;
  }
  return out;
}

/** An Annex B access unit with a 4-byte length in place of each start code. */
export function annexBToLengthPrefixed(
  au: Uint8Array,
  ranges: Uint32Array = nalRanges(au),
): Uint8Array {
  const out = new Uint8Array(lengthPrefixedSize(ranges));
  writeLengthPrefixed(out, 0, au, ranges);
  return out;
}

/**
 * The `AVCDecoderConfigurationRecord` (ISO 14496-15 5.3.3.1) for one SPS and one PPS (NAL
 * units, header byte included): the body of an MP4 `avcC` box and of Matroska's
 * CodecPrivate. NAL lengths are 4 bytes. The high-profile extension (chroma format, bit
 * depths) is left out, as players read those from the SPS itself.
 */
export function avcDecoderConfigurationRecord(sps: Uint8Array, pps: Uint8Array): Uint8Array {
  const out = new Uint8Array(11 + sps.length + pps.length);
  out.set([1, sps[1], sps[2], sps[3], 0xff, 0xe1, sps.length >> 8, sps.length & 0xff]);
  out.set(sps, 8);
  out.set([1, pps.length >> 8, pps.length & 0xff], 8 + sps.length);
  out.set(pps, 11 + sps.length);
  return out;
}

/**
 * The RFC 6381 codec string of a stream, `avc1.PPCCLL` (profile_idc, the constraint flags
 * byte and level_idc in hex), as `MediaSource.isTypeSupported` and a `codecs=` parameter
 * take it.
 *
 * @example
 * ```ts
 * import { codecString } from "./h264.ts";
 * codecString(Uint8Array.of(0x67, 0x64, 0x00, 0x2a)); // "avc1.64002A"
 * ```
 */
export function codecString(sps: Uint8Array): string {
  const hex = (byte: number) => byte.toString(16).toUpperCase().padStart(2, "0");
  return `avc1.${hex(sps[1])}${hex(sps[2])}${hex(sps[3])}`;
}

/** Profiles whose SPS carries chroma format, bit depths and scaling matrices (7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Profile, level and cropped picture size from an SPS NAL unit (header included). */
export function parseSps(nal: Uint8Array): H264StreamInfo | undefined {
  const rbsp = unescape(nal);
  if (rbsp.length < 4) return undefined;
  const info: H264StreamInfo = { profileIdc: rbsp[1], levelIdc: rbsp[3] };
  try {
    const bits = new BitReader(rbsp.subarray(4));
    bits.ue(); // seq_parameter_set_id
    let chromaFormatIdc = 1;
    let separateColourPlane = false;
    if (HIGH_PROFILES.has(info.profileIdc)) {
      chromaFormatIdc = bits.ue();
      if (chromaFormatIdc === 3) separateColourPlane = bits.u(1) === 1;
      bits.ue(); // bit_depth_luma_minus8
      bits.ue(); // bit_depth_chroma_minus8
      bits.u(1); // qpprime_y_zero_transform_bypass_flag
      if (bits.u(1) === 1) { // seq_scaling_matrix_present_flag
        for (let i = 0; i < (chromaFormatIdc === 3 ? 12 : 8); i++) {
          if (bits.u(1) === 1) skipScalingList(bits, i < 6 ? 16 : 64);
        }
      }
    }
    bits.ue(); // log2_max_frame_num_minus4
    const picOrderCntType = bits.ue();
    if (picOrderCntType === 0) {
      bits.ue(); // log2_max_pic_order_cnt_lsb_minus4
    } else if (picOrderCntType === 1) {
      bits.u(1); // delta_pic_order_always_zero_flag
      bits.se(); // offset_for_non_ref_pic
      bits.se(); // offset_for_top_to_bottom_field
      const cycle = bits.ue();
      for (let i = 0; i < cycle; i++) bits.se(); // offset_for_ref_frame
    }
    bits.ue(); // max_num_ref_frames
    bits.u(1); // gaps_in_frame_num_value_allowed_flag
    const widthInMbs = bits.ue() + 1;
    const heightInMapUnits = bits.ue() + 1;
    const frameMbsOnly = bits.u(1);
    if (frameMbsOnly === 0) bits.u(1); // mb_adaptive_frame_field_flag
    bits.u(1); // direct_8x8_inference_flag
    let [left, right, top, bottom] = [0, 0, 0, 0];
    if (bits.u(1) === 1) [left, right, top, bottom] = [bits.ue(), bits.ue(), bits.ue(), bits.ue()];
    // Crop offsets are in chroma sample units (7.4.2.1.1, CropUnitX/Y).
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const cropUnitX = chromaArrayType === 0 || chromaArrayType === 3 ? 1 : 2;
    const cropUnitY = (chromaArrayType === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = widthInMbs * 16 - cropUnitX * (left + right);
    const height = (2 - frameMbsOnly) * heightInMapUnits * 16 - cropUnitY * (top + bottom);
    if (width > 0 && height > 0) Object.assign(info, { width, height });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    // A short or malformed SPS: profile and level are still good.
  }
  return info;
}

function skipScalingList(bits: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size && next !== 0; j++) {
    next = (last + bits.se() + 256) % 256;
    if (next !== 0) last = next;
  }
}

/** The RBSP of a NAL unit: drops each emulation-prevention 03 that follows 00 00. */
function unescape(payload: Uint8Array): Uint8Array {
  let at = findEscape(payload, 0);
  if (at < 0) return payload;
  const out = new Uint8Array(payload.length);
  let length = 0;
  let from = 0;
  while (at >= 0) {
    out.set(payload.subarray(from, at), length);
    length += at - from;
    from = at + 1;
    at = findEscape(payload, at + 1);
  }
  out.set(payload.subarray(from), length);
  return out.subarray(0, length + payload.length - from);
}

/** Index of the next 03 preceded by 00 00, at or after `from`, or -1. */
function findEscape(payload: Uint8Array, from: number): number {
  for (let at = payload.indexOf(3, from); at >= 0; at = payload.indexOf(3, at + 1)) {
    if (at >= from + 2 && payload[at - 1] === 0 && payload[at - 2] === 0) return at;
  }
  return -1;
}

/** Reads bits and exp-Golomb codes MSB first; throws RangeError past the end. */
class BitReader {
  #bytes: Uint8Array;
  #bit = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  u(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const byte = this.#bytes[this.#bit >> 3];
      if (byte === undefined) throw new RangeError("SPS ends early");
      value = value * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return value;
  }

  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw new RangeError("Exp-Golomb code too long");
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const code = this.ue();
    return code % 2 === 1 ? (code + 1) / 2 : -code / 2;
  }
}
