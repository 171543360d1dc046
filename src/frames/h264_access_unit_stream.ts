import type { Frame, FrameParserStats } from "./frame.ts";
import { ChunkQueue } from "./_chunk_queue.ts";

/** Options for {@linkcode H264AccessUnitStream}. */
export interface H264AccessUnitStreamOptions {
  /** An access unit larger than this is dropped and counted in `stats.oversized`. Default 8 MiB. */
  maxFrameBytes?: number;
  /** Sequence number of the first frame emitted (a restarted camera continues the count). */
  firstSeq?: number;
  /** Clock for `Frame.time`, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
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

const NAL_SLICE = 1;
const NAL_PARTITION_A = 2;
const NAL_IDR = 5;
const NAL_SEI = 6;
const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_AUD = 9;

/**
 * Splits an Annex-B H.264 byte stream (as `rpicam-vid --codec h264 --inline -o -` or
 * `ffmpeg -f h264 -` print it) into access units: one {@linkcode Frame} per picture, holding
 * every NAL unit of it with start codes, including the AUD/SPS/PPS/SEI before its first slice.
 * `keyframe` is true for an access unit with an IDR slice.
 *
 * Boundaries follow ITU-T H.264 7.4.1.2.3: an AUD always starts an access unit; an SPS, PPS,
 * SEI or NAL type 14–18 starts one once the current unit has a slice; so does a slice whose
 * `first_mb_in_slice` is 0. Annex-B has no lengths, so a picture's end is only known when the
 * next unit begins: a unit is emitted as soon as the next one's first NAL header (for a slice,
 * plus one byte) arrives, which for a live camera is one frame interval later.
 *
 * Start codes are found with `Uint8Array.indexOf`, input chunks are kept as they came and each
 * unit's bytes are copied exactly once, into the frame; concatenating the frames gives back the
 * input minus the garbage skipped. Bytes before the first start code, a NAL with the forbidden
 * bit set or of type 0 (and what follows it up to the next start code), and slices that cannot
 * begin a picture while resyncing are skipped and counted in `garbageBytes`. A unit that ends
 * (at a new AUD, a bad NAL or the end of input) without any slice is counted `truncated`. A unit
 * over `maxFrameBytes` is dropped, holding at most about that much plus one chunk. Annex-B has
 * no lengths, so a picture cut inside its last slice cannot be told from a whole one: at the end
 * of input, or when a new unit or a bad NAL follows, a unit with a slice is emitted as is and
 * the decoder conceals what is missing.
 *
 * @example
 * ```ts
 * import type { FrameHub } from "./frame_hub.ts";
 * declare const child: { stdout: ReadableStream<Uint8Array> };
 * declare const hub: FrameHub;
 *
 * const units = new H264AccessUnitStream();
 * for await (const frame of child.stdout.pipeThrough(units)) hub.publish(frame);
 * console.log(units.info); // { profileIdc: 100, levelIdc: 41, width: 1920, height: 1080 }
 * ```
 */
export class H264AccessUnitStream extends TransformStream<Uint8Array, Frame> {
  #parser: H264Parser;

  constructor(options: H264AccessUnitStreamOptions = {}) {
    const parser = new H264Parser(options);
    super({
      transform: (chunk, controller) => parser.push(chunk, (frame) => controller.enqueue(frame)),
      flush: (controller) => parser.end((frame) => controller.enqueue(frame)),
    });
    this.#parser = parser;
  }

  /** Live counters: frames emitted, garbage bytes skipped, truncated and oversized units. */
  get stats(): Readonly<FrameParserStats> {
    return this.#parser.stats;
  }

  /**
   * Input bytes held between chunks: the unit being built (at most about `maxFrameBytes`)
   * plus the chunks it spans, whatever the input.
   */
  get bufferedBytes(): number {
    return this.#parser.bufferedBytes;
  }

  /** The latest sequence parameter set NAL unit seen (header included, no start code). */
  get sps(): Uint8Array | undefined {
    return this.#parser.sps;
  }

  /** The latest picture parameter set NAL unit seen (header included, no start code). */
  get pps(): Uint8Array | undefined {
    return this.#parser.pps;
  }

  /** Profile, level and picture size from the latest SPS, or undefined before one is seen. */
  get info(): H264StreamInfo | undefined {
    return this.#parser.info;
  }
}

class H264Parser {
  readonly stats: FrameParserStats = { frames: 0, garbageBytes: 0, truncated: 0, oversized: 0 };
  sps: Uint8Array | undefined;
  pps: Uint8Array | undefined;
  readonly #bytes = new ChunkQueue();
  readonly #maxFrameBytes: number;
  readonly #now: () => number;
  #seq: number;
  #info: { sps: Uint8Array; info: H264StreamInfo | undefined } | undefined;
  /** Global offset the next start code search begins at. */
  #pos = 0;
  /** Outside a unit: first byte not yet counted as garbage. */
  #mark = 0;
  #inUnit = false;
  /** Global offset of the current unit's first start code (leading zero byte included). */
  #unitStart = 0;
  #hasSlice = false;
  #hasIdr = false;
  /** The unit grew past the cap: its bytes are let go, its boundaries still tracked. */
  #dropping = false;
  /** Global offset of the current NAL's header byte, and its type. */
  #nalStart = 0;
  #nalType = 0;

  constructor(options: H264AccessUnitStreamOptions) {
    this.#maxFrameBytes = options.maxFrameBytes ?? 8 * 1024 * 1024;
    if (!(this.#maxFrameBytes > 0)) {
      throw new RangeError(`Invalid maxFrameBytes: expected > 0, got ${this.#maxFrameBytes}`);
    }
    this.#seq = options.firstSeq ?? 0;
    this.#now = options.now ?? Date.now;
  }

  get info(): H264StreamInfo | undefined {
    const sps = this.sps;
    if (sps === undefined) return undefined;
    if (this.#info?.sps !== sps) this.#info = { sps, info: parseSps(sps) };
    return this.#info.info;
  }

  get bufferedBytes(): number {
    return this.#bytes.heldBytes;
  }

  push(chunk: Uint8Array, emit: (frame: Frame) => void): void {
    if (chunk.byteLength === 0) return;
    this.#bytes.push(chunk);
    while (this.#step(emit));
    // Keep the unit being built; otherwise just the bytes a start code split across chunks
    // needs to be recognised (the search looks back up to 3 bytes from the 01).
    if (!this.#inUnit) this.#bytes.discardBefore(this.#mark);
    else if (this.#dropping) this.#bytes.discardBefore(this.#pos - 3);
    else this.#bytes.discardBefore(this.#unitStart);
  }

  end(emit: (frame: Frame) => void): void {
    const bytes = this.#bytes;
    // `#pos` short of the end means a start code whose NAL header (or, for a slice, the byte
    // after it) never came: a NAL that short is junk, and it ends the unit before it.
    let tail = bytes.end;
    if (this.#pos < bytes.end) tail = this.#isZero(this.#pos - 3) ? this.#pos - 3 : this.#pos - 2;
    if (this.#inUnit) {
      this.#endNal(tail);
      // The last NAL may have been cut short; there is no way to tell, so a unit with a slice
      // is emitted (a player shows a damaged last picture rather than none).
      this.#endUnit(tail, emit);
    } else {
      this.stats.garbageBytes += tail - this.#mark;
    }
    this.stats.garbageBytes += bytes.end - tail;
    this.#mark = this.#pos = bytes.end;
  }

  /** Finds and handles the next start code; false when it needs more input. */
  #step(emit: (frame: Frame) => void): boolean {
    const bytes = this.#bytes;
    if (
      this.#inUnit && !this.#dropping && this.#pos - this.#unitStart > this.#maxFrameBytes
    ) {
      // Too big: count it now and stop holding its bytes; the next unit starts clean.
      this.stats.oversized++;
      this.#dropping = true;
    }
    const one = bytes.indexOf(0x01, this.#pos);
    if (one < 0) {
      this.#pos = bytes.end;
      if (!this.#inUnit && bytes.end - 3 > this.#mark) {
        this.stats.garbageBytes += bytes.end - 3 - this.#mark;
        this.#mark = bytes.end - 3;
      }
      return false;
    }
    if (!this.#isZero(one - 1) || !this.#isZero(one - 2)) {
      this.#pos = one + 1;
      return true;
    }
    if (one + 1 >= bytes.end) {
      this.#pos = one;
      return false;
    }
    const header = bytes.at(one + 1);
    const type = header & 0x1f;
    const firstMbCoded = type === NAL_SLICE || type === NAL_PARTITION_A || type === NAL_IDR;
    if (firstMbCoded && one + 2 >= bytes.end) {
      this.#pos = one;
      return false;
    }
    // ue(v) first_mb_in_slice is 0 exactly when its first bit is 1.
    const firstMbZero = firstMbCoded && (bytes.at(one + 2) & 0x80) !== 0;
    const start = this.#isZero(one - 3) ? one - 3 : one - 2;
    this.#pos = one + 2;
    this.#nal(start, one + 1, header, firstMbZero, emit);
    return true;
  }

  /** A NAL unit begins at `header`, its start code at `start`. */
  #nal(
    start: number,
    header: number,
    byte: number,
    firstMbZero: boolean,
    emit: (frame: Frame) => void,
  ): void {
    const type = byte & 0x1f;
    if ((byte & 0x80) !== 0 || type === 0) {
      // forbidden_zero_bit, or "00 00 01 00": not a NAL unit. It ends the current unit (which
      // may well be whole: garbage between pictures), and bytes up to the next start code that
      // can begin a unit are garbage.
      if (this.#inUnit) this.#endUnit(start, emit);
      return;
    }
    if (this.#inUnit) this.#endNal(start);
    if (!this.#inUnit) {
      if (!canBeginUnit(type, firstMbZero)) return; // still resyncing: counted as garbage
      this.stats.garbageBytes += start - this.#mark;
      this.#beginUnit(start);
    } else if (this.#beginsNewUnit(type, firstMbZero)) {
      this.#endUnit(start, emit);
      this.#beginUnit(start);
    }
    this.#nalStart = header;
    this.#nalType = type;
    if (type >= NAL_SLICE && type <= NAL_IDR) this.#hasSlice = true;
    if (type === NAL_IDR) this.#hasIdr = true;
  }

  #beginsNewUnit(type: number, firstMbZero: boolean): boolean {
    if (type === NAL_AUD) return true;
    if (!this.#hasSlice) return false;
    return firstMbZero || (type >= NAL_SEI && type <= NAL_PPS) || (type >= 14 && type <= 18);
  }

  #beginUnit(start: number): void {
    this.#inUnit = true;
    this.#unitStart = start;
    this.#hasSlice = false;
    this.#hasIdr = false;
    this.#dropping = false;
  }

  /** The current unit ends at global offset `end` (exclusive). */
  #endUnit(end: number, emit: (frame: Frame) => void): void {
    if (this.#dropping) {
      // counted when it crossed the cap
    } else if (!this.#hasSlice) {
      this.stats.truncated++;
    } else if (end - this.#unitStart > this.#maxFrameBytes) {
      this.stats.oversized++;
    } else {
      emit({
        seq: this.#seq++,
        time: this.#now(),
        data: this.#bytes.copy(this.#unitStart, end),
        keyframe: this.#hasIdr,
      });
      this.stats.frames++;
    }
    this.#inUnit = false;
    this.#dropping = false;
    this.#mark = end;
  }

  /** The current NAL ends where the next start code begins: keep it if it is an SPS or PPS. */
  #endNal(next: number): void {
    if (this.#nalType !== NAL_SPS && this.#nalType !== NAL_PPS) return;
    const bytes = this.#bytes;
    if (this.#nalStart < bytes.end - bytes.heldBytes) return; // let go with an oversized unit
    // A NAL unit never ends in 00; zeros before the next start code are trailing_zero_8bits.
    let end = next;
    while (end > this.#nalStart + 1 && bytes.at(end - 1) === 0) end--;
    const nal = bytes.copy(this.#nalStart, end);
    if (this.#nalType === NAL_SPS) this.sps = nal;
    else this.pps = nal;
  }

  #isZero(at: number): boolean {
    const bytes = this.#bytes;
    return at >= bytes.end - bytes.heldBytes && bytes.at(at) === 0;
  }
}

/**
 * Whether a NAL of `type` can be the first of an access unit: an AUD, SPS, PPS, SEI, types
 * 14–18, or a slice that starts the picture. Anything else seen while resyncing belongs to a
 * unit whose beginning was lost.
 */
function canBeginUnit(type: number, firstMbZero: boolean): boolean {
  return firstMbZero || (type >= NAL_SEI && type <= NAL_AUD) || (type >= 14 && type <= 18);
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
