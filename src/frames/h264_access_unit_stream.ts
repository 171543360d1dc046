import type { Frame, FrameParserStats } from "./frame.ts";
import { ChunkQueue } from "./_chunk_queue.ts";
import { type H264StreamInfo, parseSps } from "../codecs/h264.ts";

export { type H264StreamInfo, parseSps };

/** Options for {@linkcode H264AccessUnitStream}. */
export interface H264AccessUnitStreamOptions {
  /** An access unit larger than this is dropped and counted in `stats.oversized`. Default 8 MiB. */
  maxFrameBytes?: number;
  /** Sequence number of the first frame emitted (a restarted camera continues the count). */
  firstSeq?: number;
  /** Clock for `Frame.time`, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
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
  /** The current unit's NAL units before the current one: global `[start, end)` pairs. */
  #nals: number[] = [];

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
    const nalEnd = this.#inUnit ? this.#endNal(start) : 0;
    if (!this.#inUnit) {
      if (!canBeginUnit(type, firstMbZero)) return; // still resyncing: counted as garbage
      this.stats.garbageBytes += start - this.#mark;
      this.#beginUnit(start);
    } else if (this.#beginsNewUnit(type, firstMbZero)) {
      this.#endUnit(start, emit);
      this.#beginUnit(start);
    } else if (!this.#dropping) {
      this.#nals.push(this.#nalStart, nalEnd);
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
    this.#nals.length = 0;
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
      // The last NAL runs to the unit's end, zeros and all, as `nalRanges` has it.
      const nals = new Uint32Array(this.#nals.length + 2);
      for (let i = 0; i < this.#nals.length; i++) nals[i] = this.#nals[i] - this.#unitStart;
      nals[nals.length - 2] = this.#nalStart - this.#unitStart;
      nals[nals.length - 1] = end - this.#unitStart;
      emit({
        seq: this.#seq++,
        time: this.#now(),
        data: this.#bytes.copy(this.#unitStart, end),
        keyframe: this.#hasIdr,
        nals,
      });
      this.stats.frames++;
    }
    this.#inUnit = false;
    this.#dropping = false;
    this.#mark = end;
  }

  /**
   * The current NAL ends where the next start code begins: keeps it if it is an SPS or PPS;
   * returns its end without the zeros before that start code (trailing_zero_8bits: a NAL
   * unit never ends in 00), or `next` when its bytes were let go (an oversized unit).
   */
  #endNal(next: number): number {
    const bytes = this.#bytes;
    if (this.#nalStart < bytes.end - bytes.heldBytes) return next; // let go with an oversized unit
    let end = next;
    while (end > this.#nalStart && bytes.at(end - 1) === 0) end--;
    if (this.#nalType === NAL_SPS || this.#nalType === NAL_PPS) {
      const nal = bytes.copy(this.#nalStart, Math.max(end, this.#nalStart + 1));
      if (this.#nalType === NAL_SPS) this.sps = nal;
      else this.pps = nal;
    }
    return end;
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
