import type { Frame, FrameParserStats } from "./frame.ts";
import { ChunkQueue } from "./_chunk_queue.ts";
import { JPEG_MARKER } from "../codecs/jpeg.ts";

/** Options for {@linkcode JpegFrameStream}. */
export interface JpegFrameStreamOptions {
  /** A frame larger than this is dropped and counted in `stats.oversized`. Default 8 MiB. */
  maxFrameBytes?: number;
  /** Sequence number of the first frame emitted (a restarted camera continues the count). */
  firstSeq?: number;
  /** Clock for `Frame.time`, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

const enum State {
  /** Looking for a start-of-image marker. */
  Seek,
  /** At a marker inside a frame, before or between scans. */
  Marker,
  /** Inside entropy-coded scan data, looking for the next marker. */
  Entropy,
}

const MARKER = 0xff;
const { soi: SOI, eoi: EOI, sos: SOS } = JPEG_MARKER;

/** Whether the byte after an FF in scan data makes it a marker that ends the scan. */
function endsScan(next: number): boolean {
  return next !== 0x00 && next !== MARKER && (next < 0xd0 || next > 0xd7);
}

/**
 * Splits an MJPEG byte stream (JPEGs back to back, as `rpicam-vid --codec mjpeg -o -` or
 * `ffmpeg -f mjpeg -` print them) into whole JPEG {@linkcode Frame}s.
 *
 * It walks the JPEG marker segments instead of searching for the first FF D9, so an EXIF
 * thumbnail (a whole JPEG inside APP1) does not end the frame early. Markers are found with
 * `Uint8Array.indexOf`, the input chunks are kept as they came, and each frame's bytes are
 * copied exactly once, into the frame. Garbage between frames is skipped, a frame cut short
 * by a new SOI or by the end of the input is dropped, and a frame over `maxFrameBytes` is
 * dropped without buffering more than that: all counted in {@linkcode stats}. Whatever the
 * input, what is held is the frame being built (and the chunks it spans), see
 * {@linkcode bufferedBytes}.
 *
 * @example
 * ```ts
 * import type { FrameHub } from "./frame_hub.ts";
 * declare const child: { stdout: ReadableStream<Uint8Array> };
 * declare const hub: FrameHub;
 *
 * const frames = child.stdout.pipeThrough(new JpegFrameStream());
 * for await (const frame of frames) hub.publish(frame);
 * ```
 */
export class JpegFrameStream extends TransformStream<Uint8Array, Frame> {
  #parser: JpegParser;

  constructor(options: JpegFrameStreamOptions = {}) {
    const parser = new JpegParser(options);
    super({
      transform: (chunk, controller) => parser.push(chunk, (frame) => controller.enqueue(frame)),
      flush: () => parser.end(),
    });
    this.#parser = parser;
  }

  /** Live counters: frames emitted, garbage bytes skipped, truncated and oversized frames. */
  get stats(): Readonly<FrameParserStats> {
    return this.#parser.stats;
  }

  /**
   * Input bytes held between chunks: the frame being built (at most about `maxFrameBytes`)
   * plus the chunks it spans, whatever the input.
   */
  get bufferedBytes(): number {
    return this.#parser.bufferedBytes;
  }
}

class JpegParser {
  readonly stats: FrameParserStats = { frames: 0, garbageBytes: 0, truncated: 0, oversized: 0 };
  readonly #bytes = new ChunkQueue();
  readonly #maxFrameBytes: number;
  readonly #now: () => number;
  #seq: number;
  #state = State.Seek;
  /** Global offset of the current frame's SOI (meaningful outside `Seek`). */
  #start = 0;
  /** Global offset the parser has examined up to. */
  #pos = 0;

  constructor(options: JpegFrameStreamOptions) {
    this.#maxFrameBytes = options.maxFrameBytes ?? 8 * 1024 * 1024;
    if (!(this.#maxFrameBytes > 0)) {
      throw new RangeError(`Invalid maxFrameBytes: expected > 0, got ${this.#maxFrameBytes}`);
    }
    this.#seq = options.firstSeq ?? 0;
    this.#now = options.now ?? Date.now;
  }

  get bufferedBytes(): number {
    return this.#bytes.heldBytes;
  }

  push(chunk: Uint8Array, emit: (frame: Frame) => void): void {
    if (chunk.byteLength === 0) return;
    this.#bytes.push(chunk);
    while (this.#step(emit));
    // Nothing before the current frame's SOI can be part of a frame any more (a frame cut
    // short by a new SOI moves `#start`; before, only a finished frame let its bytes go, so
    // cut frames piled up forever). What is held is the frame being built, capped below.
    this.#bytes.discardBefore(this.#state === State.Seek ? this.#pos : this.#start);
  }

  end(): void {
    if (this.#state !== State.Seek) this.stats.truncated++;
    else this.stats.garbageBytes += this.#bytes.end - this.#pos;
  }

  /** Advances the state machine once; false when it needs more input. */
  #step(emit: (frame: Frame) => void): boolean {
    const bytes = this.#bytes;
    if (this.#state !== State.Seek && this.#pos - this.#start > this.#maxFrameBytes) {
      // Too big to be a frame: drop it and look for the next SOI after what is buffered.
      // Memory stays bounded: at most one input chunk is held past `#pos`.
      this.stats.oversized++;
      this.#state = State.Seek;
      this.#pos = bytes.end;
      bytes.discardBefore(this.#pos);
      return false;
    }
    switch (this.#state) {
      case State.Seek: {
        const at = bytes.indexOf(MARKER, this.#pos);
        if (at < 0) {
          this.stats.garbageBytes += bytes.end - this.#pos;
          this.#pos = bytes.end;
          return false;
        }
        this.stats.garbageBytes += at - this.#pos;
        this.#pos = at;
        if (at + 3 > bytes.end) return false;
        if (bytes.at(at + 1) === SOI && bytes.at(at + 2) === MARKER) {
          this.#start = at;
          this.#pos = at + 2;
          this.#state = State.Marker;
        } else {
          this.stats.garbageBytes++;
          this.#pos = at + 1;
        }
        return true;
      }
      case State.Marker: {
        if (this.#pos + 2 > bytes.end) return false;
        if (bytes.at(this.#pos) !== MARKER) return this.#resync();
        const marker = bytes.at(this.#pos + 1);
        if (marker === MARKER) {
          this.#pos++; // fill byte before a marker
        } else if (marker === EOI) {
          const end = this.#pos + 2;
          if (end - this.#start > this.#maxFrameBytes) {
            this.stats.oversized++;
          } else {
            emit({
              seq: this.#seq++,
              time: this.#now(),
              data: bytes.copy(this.#start, end),
              keyframe: true,
            });
            this.stats.frames++;
          }
          this.#state = State.Seek;
          this.#pos = end;
          bytes.discardBefore(end);
        } else if (marker === SOI) {
          // A new image began before this one ended: the camera restarted or bytes were lost.
          this.stats.truncated++;
          this.#start = this.#pos;
          this.#pos += 2;
        } else if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
          this.#pos += 2; // RSTn and TEM stand alone
        } else {
          if (this.#pos + 4 > bytes.end) return false;
          const length = (bytes.at(this.#pos + 2) << 8) | bytes.at(this.#pos + 3);
          if (length < 2) return this.#resync();
          this.#pos += 2 + length;
          if (marker === SOS) this.#state = State.Entropy;
        }
        return true;
      }
      case State.Entropy: {
        // Scan data ends at the first FF that is no stuffed FF (FF 00), restart marker
        // (FF D0-D7) or fill byte (FF FF).
        const at = bytes.indexOfMarker(this.#pos, endsScan);
        if (at < 0) {
          // Looked at up to the last byte, which may be an FF whose next byte is to come.
          this.#pos = Math.max(this.#pos, bytes.end - 1);
          return false;
        }
        this.#pos = at;
        this.#state = State.Marker;
        return true;
      }
    }
  }

  /** The frame is corrupt: count it and look for the next SOI after this one's. */
  #resync(): boolean {
    this.stats.truncated++;
    this.#state = State.Seek;
    this.#pos = this.#start + 2;
    return true;
  }
}
