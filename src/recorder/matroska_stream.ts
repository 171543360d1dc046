import type { Codec, Frame } from "../frames/frame.ts";
import {
  annexBToLengthPrefixed,
  avcDecoderConfigurationRecord,
  lengthPrefixedSize,
  NAL_TYPE,
  nalRanges,
  nalType,
  nalUnits,
  parseSps,
  writeLengthPrefixed,
} from "../codecs/h264.ts";
import { concat } from "../codecs/bytes.ts";
import { jpegSize } from "../codecs/jpeg.ts";

/** Options for {@linkcode MatroskaStream}. */
export interface MatroskaStreamOptions {
  /** A clock that never jumps, to spot clock jumps. Default `performance.now`. */
  monotonic?: () => number;
  /**
   * The camera's frames per second: each frame lasts one interval (`DefaultDuration`), so a
   * clip covers its last frame too. Without it frames have no duration.
   */
  frameRate?: number;
  /**
   * A second track, of sound: 16-bit mono PCM at 48 kHz (`A_PCM/INT/LIT`), written with
   * {@linkcode MatroskaStream.writeAudio}.
   */
  audio?: boolean;
}

/**
 * Writes frames as a live Matroska stream (unknown-size Segment and Clusters), so that the
 * ffmpeg segmenter gets each frame with its capture time instead of stamping it on arrival:
 * frames queued while ffmpeg starts, or delayed by a busy CPU, keep their real times.
 *
 * The stream's timeline is the capture time with two corrections, both remembered so that
 * {@linkcode wallTime} maps any point back to the clock:
 * - a clock jump (NTP, the phone setting the clock) is ridden over with the real time elapsed;
 * - a gap in the frames (the camera restarting) is cut down to one frame interval. The
 *   segmenter cuts a clip at each multiple of the clip length the timeline crosses, so a
 *   G-second gap kept as is made G/length clips of one frame each; cut out, the clip around it
 *   holds its full length of footage, with a jump in it. A gap is over {@linkcode GAP_MS}
 *   (1 s) and over three usual intervals (the median of the last nine): longer than any frame
 *   interval from 1 fps up, or at a slower rate once one interval is known; and a stall up to
 *   1 s kept as is crosses at most one clip boundary and leaves the clip after it at least
 *   its length less 1 s (1 s of 2 s clips), so no clip of a frame or two.
 *
 * MJPEG frames are written as they are (`V_MJPEG`: a block header, then the frame's own
 * bytes, no copy). H.264 access units become `V_MPEG4/ISO/AVC`: the SPS/PPS of the first
 * keyframe go into `avcC`, and each NAL unit gets a 4-byte length instead of its start code.
 *
 * @example
 * ```ts
 * import type { Frame } from "../frames/frame.ts";
 * declare const frame: Frame;
 * declare const stdin: WritableStreamDefaultWriter<Uint8Array>;
 *
 * const matroska = new MatroskaStream("mjpeg");
 * for (const chunk of matroska.write(frame)) await stdin.write(chunk);
 * ```
 */
export class MatroskaStream {
  readonly #codec: Codec;
  readonly #monotonic: () => number;
  readonly #frameRate: number | undefined;
  readonly #audio: boolean;
  /**
   * Capture time minus timeline time, from each point of the timeline on (`from` ascending):
   * a new piece at each gap cut out, all shifted by a clock jump. The last is the current one.
   */
  readonly #pieces: { from: number; origin: number }[] = [];
  #clusterTime = -Infinity;
  #lastTime = -1;
  #lastCapture = 0;
  #lastWrite = 0;
  /** The last intervals between frames (ms), to tell the usual one. */
  readonly #recent: number[] = [];
  #gaps = 0;

  constructor(codec: Codec, options: MatroskaStreamOptions = {}) {
    this.#codec = codec;
    this.#monotonic = options.monotonic ?? (() => performance.now());
    this.#frameRate = options.frameRate;
    this.#audio = options.audio ?? false;
  }

  /**
   * The bytes for a batch of frames, each followed by the sound blocks `sound` gives for it
   * (called once the frame is on the timeline: see {@linkcode lastTime}), in one buffer of the
   * right size: one write to ffmpeg's stdin (a write costs an event-loop turn), and each
   * frame's bytes copied once, into it (H.264: NAL units length-prefixed on the way, at the
   * offsets the parser found).
   */
  encode(
    frames: readonly Frame[],
    sound?: (frame: Frame) => readonly { time: number; pcm: Uint8Array }[],
  ): Uint8Array {
    const parts: (Uint8Array | Frame)[] = [];
    let size = 0;
    for (const frame of frames) {
      for (const head of this.#blockHead(frame)) {
        parts.push(head);
        size += head.length;
      }
      parts.push(frame);
      size += this.#payloadSize(frame);
      for (const block of sound?.(frame) ?? []) {
        for (const part of this.writeAudio(block.time, block.pcm)) {
          parts.push(part);
          size += part.length;
        }
      }
    }
    const out = new Uint8Array(size);
    let offset = 0;
    for (const part of parts) {
      if (part instanceof Uint8Array) {
        out.set(part, offset);
        offset += part.length;
      } else if (this.#codec === "h264") {
        offset = writeLengthPrefixed(out, offset, part.data, part.nals ?? nalRanges(part.data));
      } else {
        out.set(part.data, offset);
        offset += part.data.length;
      }
    }
    return out;
  }

  /**
   * The bytes for one frame: the stream header before the first (which must be a keyframe),
   * a new cluster each second, then the block. The frame's data is returned as is, not copied
   * (MJPEG).
   */
  write(frame: Frame): Uint8Array[] {
    const chunks = this.#blockHead(frame);
    chunks.push(
      this.#codec === "h264" ? annexBToLengthPrefixed(frame.data, frame.nals) : frame.data,
    );
    return chunks;
  }

  /** Bytes of a frame's data in its block. */
  #payloadSize(frame: Frame): number {
    if (this.#codec !== "h264") return frame.data.length;
    return lengthPrefixedSize(frame.nals ?? nalRanges(frame.data));
  }

  /** What goes before a frame's data: stream header, cluster, block header; puts it on the timeline. */
  #blockHead(frame: Frame): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    const written = this.#monotonic();
    let cut = 0;
    if (this.#lastTime < 0) {
      if (!frame.keyframe) throw new RangeError("Cannot start a Matroska stream: not a keyframe");
      this.#pieces.push({ from: 0, origin: frame.time });
      chunks.push(this.#header(frame));
    } else {
      let elapsed = frame.time - this.#lastCapture;
      const real = written - this.#lastWrite;
      if (elapsed < 0 || elapsed - real > 2_000) {
        // Frame times jumped (NTP, or the phone set the clock): carry on from the real time
        // elapsed, so the clip's timeline neither stops nor leaps, and map every point of it
        // onto the new clock (clips are named by it).
        for (const piece of this.#pieces) piece.origin += elapsed - real;
        elapsed = real;
      }
      cut = this.#gapCut(elapsed);
    }
    this.#lastCapture = frame.time;
    this.#lastWrite = written;
    const origin = this.#pieces[this.#pieces.length - 1].origin + cut;
    // Strictly increasing milliseconds: two frames parsed in the same ms stay in order.
    const time = Math.max(Math.round(frame.time - origin), this.#lastTime + 1);
    if (cut > 0) {
      this.#pieces.push({ from: time, origin: frame.time - time });
      if (this.#pieces.length > MAX_PIECES) this.#pieces.shift();
      this.#gaps++;
    }
    this.#lastTime = time;
    if (time - this.#clusterTime >= 1000) {
      this.#clusterTime = time;
      chunks.push(concat(id(CLUSTER), UNKNOWN_SIZE, element(TIMESTAMP, uint(time))));
    }
    const dataSize = this.#payloadSize(frame);
    const relative = time - this.#clusterTime;
    const blockHeader = Uint8Array.of(
      0x81, // track 1
      (relative >> 8) & 0xff,
      relative & 0xff,
      frame.keyframe ? 0x80 : 0x00,
    );
    chunks.push(concat(id(SIMPLE_BLOCK), size(blockHeader.length + dataSize), blockHeader));
    return chunks;
  }

  /**
   * The capture time (frame time, ms since the epoch) of a point on the stream's timeline
   * (ms): a frame's own time maps to its capture time, across the gaps cut out. After a clock
   * jump, points map onto the new clock.
   */
  wallTime(timeline: number): number {
    // ffmpeg prints times in seconds with 6 decimals: rounded back to our millisecond grid, a
    // clip starting on the first frame after a gap maps with that frame's piece.
    const at = Math.round(timeline);
    let i = this.#pieces.length - 1;
    while (i > 0 && this.#pieces[i].from > at) i--;
    return timeline + (this.#pieces[i]?.origin ?? 0);
  }

  /** Where the last frame went on the timeline (ms), -1 before the first. */
  get lastTime(): number {
    return this.#lastTime;
  }

  /**
   * The bytes of a block of sound at `time` on the timeline (ms; see `AudioTrack`), after the
   * frame it follows: within 32 s of that frame's cluster.
   */
  writeAudio(time: number, pcm: Uint8Array): Uint8Array[] {
    if (!this.#audio || this.#lastTime < 0) {
      throw new RangeError("Cannot write sound: no sound track, or no frame yet");
    }
    const relative = Math.round(time) - this.#clusterTime; // signed 16 bits
    const blockHeader = Uint8Array.of(0x82, (relative >> 8) & 0xff, relative & 0xff, 0x80);
    return [concat(id(SIMPLE_BLOCK), size(blockHeader.length + pcm.length), blockHeader), pcm];
  }

  /** Gaps cut out of the timeline so far. */
  get gaps(): number {
    return this.#gaps;
  }

  /** How much of `elapsed` ms since the last frame to cut out: all of a gap but one interval. */
  #gapCut(elapsed: number): number {
    // The median of the last intervals, gaps included: one outage does not move it, and a
    // camera set below 1 fps is learnt after one interval. Before any, a gap is over 1 s.
    // A sorted copy; not toSorted(), which Node 18 lacks.
    const recent = [...this.#recent].sort((a, b) => a - b);
    const usual = recent[(recent.length - 1) >> 1];
    this.#recent.push(elapsed);
    if (this.#recent.length > 9) this.#recent.shift();
    if (elapsed <= Math.max(GAP_MS, 3 * (usual ?? 0))) return 0;
    return elapsed - Math.max(1, Math.round(usual ?? DEFAULT_INTERVAL_MS));
  }

  #header(first: Frame): Uint8Array {
    const h264 = this.#codec === "h264";
    const { width, height } = h264 ? h264Size(first) : firstJpegSize(first.data);
    const ebml = element(
      EBML,
      element(0x4286, uint(1)), // EBMLVersion
      element(0x42f7, uint(1)), // EBMLReadVersion
      element(0x42f2, uint(4)), // EBMLMaxIDLength
      element(0x42f3, uint(8)), // EBMLMaxSizeLength
      element(0x4282, text("matroska")), // DocType
      element(0x4287, uint(4)), // DocTypeVersion
      element(0x4285, uint(2)), // DocTypeReadVersion
    );
    const info = element(
      INFO,
      element(0x2ad7b1, uint(1_000_000)), // TimestampScale: 1 ms
      element(0x4d80, text("videorecorder")), // MuxingApp
      element(0x5741, text("videorecorder")), // WritingApp
    );
    const track = element(
      0xae, // TrackEntry
      element(0xd7, uint(1)), // TrackNumber
      element(0x73c5, uint(1)), // TrackUID
      element(0x83, uint(1)), // TrackType: video
      element(0x86, text(h264 ? "V_MPEG4/ISO/AVC" : "V_MJPEG")), // CodecID
      ...(h264 ? [element(0x63a2, avcC(first))] : []), // CodecPrivate
      // A frame's duration: without it a clip ends at its last frame's start, one frame short.
      ...(this.#frameRate ? [element(0x23e383, uint(Math.round(1e9 / this.#frameRate)))] : []),
      element(0xe0, element(0xb0, uint(width)), element(0xba, uint(height))), // Video
    );
    const sound = this.#audio
      ? [element(
        0xae, // TrackEntry
        element(0xd7, uint(2)), // TrackNumber
        element(0x73c5, uint(2)), // TrackUID
        element(0x83, uint(2)), // TrackType: audio
        element(0x86, text("A_PCM/INT/LIT")), // CodecID
        element(
          0xe1,
          element(0xb5, float(48_000)),
          element(0x9f, uint(1)),
          element(0x6264, uint(16)),
        ),
      )]
      : [];
    return concat(ebml, id(SEGMENT), UNKNOWN_SIZE, info, element(TRACKS, track, ...sound));
  }
}

/** Frames further apart than this (or three usual intervals) are a gap, cut out. */
export const GAP_MS = 1000;
/** The step a gap is cut down to before any interval is known (30 fps). */
const DEFAULT_INTERVAL_MS = 1000 / 30;
/** Pieces of the time map kept: SegmentRecorder asks only about the clips of the last minutes. */
const MAX_PIECES = 1000;

const EBML = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const INFO = 0x1549a966;
const TRACKS = 0x1654ae6b;
const CLUSTER = 0x1f43b675;
const TIMESTAMP = 0xe7;
const SIMPLE_BLOCK = 0xa3;
const UNKNOWN_SIZE = Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

function id(value: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.from(bytes);
}

/** An EBML size as a variable-length integer. */
function size(value: number): Uint8Array {
  if (value < 0x7f) return Uint8Array.of(0x80 | value);
  if (value < 0x3fff) return Uint8Array.of(0x40 | (value >> 8), value & 0xff);
  if (value < 0x1fffff) {
    return Uint8Array.of(0x20 | (value >> 16), (value >> 8) & 0xff, value & 0xff);
  }
  const out = new Uint8Array(8);
  out[0] = 0x01;
  for (let i = 7, v = value; i > 0; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  return out;
}

function uint(value: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = value; v > 0 || bytes.length === 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.from(bytes);
}

function float(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, value);
  return out;
}

function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

function element(elementId: number, ...children: Uint8Array[]): Uint8Array {
  const body = concat(...children);
  return concat(id(elementId), size(body.length), body);
}

/** The first JPEG's size, for the track header. */
function firstJpegSize(jpeg: Uint8Array): { width: number; height: number } {
  const found = jpegSize(jpeg);
  if (!found) {
    throw new RangeError("Cannot start a Matroska stream: no frame size in the first JPEG");
  }
  return found;
}

function parameterSets(au: Frame): { sps: Uint8Array; pps: Uint8Array } {
  const units = nalUnits(au.data, au.nals);
  const sps = units.find((unit) => nalType(unit) === NAL_TYPE.sps);
  const pps = units.find((unit) => nalType(unit) === NAL_TYPE.pps);
  if (!sps || !pps) {
    throw new RangeError(
      "Cannot start a Matroska stream: the first keyframe has no SPS/PPS (rpicam-vid needs --inline)",
    );
  }
  return { sps, pps };
}

/** The AVCDecoderConfigurationRecord (ISO 14496-15) of the first keyframe's SPS and PPS. */
function avcC(au: Frame): Uint8Array {
  const { sps, pps } = parameterSets(au);
  return avcDecoderConfigurationRecord(sps, pps);
}

/** Width and height from the SPS of an H.264 keyframe. */
function h264Size(au: Frame): { width: number; height: number } {
  const info = parseSps(parameterSets(au).sps);
  if (info?.width === undefined || info.height === undefined) {
    throw new RangeError("Cannot start a Matroska stream: cannot read the SPS size");
  }
  return { width: info.width, height: info.height };
}
