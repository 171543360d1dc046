import { concat } from "../codecs/bytes.ts";
import { avcDecoderConfigurationRecord, codecString, parseSps } from "../codecs/h264.ts";

/** One picture for {@linkcode Fmp4Muxer.fragment}. */
export interface Fmp4Sample {
  /** The camera's frame number: a gap in it (frames skipped or lost) is no gap in the timeline. */
  readonly seq: number;
  /** Capture time in ms since the epoch. */
  readonly time: number;
  readonly keyframe: boolean;
  /**
   * The picture's NAL units without start codes (views into the camera's frame), without
   * SPS, PPS and AUD: those are in `avcC`.
   */
  readonly units: readonly Uint8Array[];
}

/** Ticks per second of the track's timeline (the usual one for video: 90 kHz). */
export const TIMESCALE = 90_000;
/** A frame interval longer than this (or after a skip) is no pause in the picture: cut out. */
const MAX_INTERVAL_MS = 1000;
/** The first frame's duration, before an interval is known (30 fps). */
const DEFAULT_INTERVAL = TIMESCALE / 30;
/** moof (mfhd, traf with tfhd, tfdt and a one-sample trun) and the mdat box header. */
const FRAGMENT_HEADER_BYTES = 108;

/**
 * Fragmented MP4 (ISO BMFF, as Media Source Extensions take it) of one H.264 track, written
 * by hand: {@linkcode init} (`ftyp` + `moov` with `avcC`) once, then one `moof` + `mdat` per
 * frame, so that a frame leaves as soon as it arrives. Each fragment is one buffer: the
 * 108-byte header filled in place, then each NAL unit after its 4-byte length. That is the
 * only copy of the frame's bytes, and one socket write.
 *
 * The timeline starts at 0 and advances by the capture-time interval between frames; after a
 * gap in `seq` (a viewer that skipped frames to catch up, a camera restart) or an interval
 * over 1 s or backwards (a clock jump), by the previous interval instead, so a player never
 * meets a hole in its buffer. A frame's duration is the previous interval: the next frame's
 * time is not known yet and waiting for it would cost one frame of latency. The stream must
 * have no B-frames (decode order is display order), which holds for the Pi's hardware
 * encoder and for libx264 with `-tune zerolatency`.
 *
 * @example
 * ```ts
 * declare const sps: Uint8Array, pps: Uint8Array, idr: Uint8Array;
 * const muxer = new Fmp4Muxer(sps, pps);
 * const bytes = [muxer.init, muxer.fragment({ seq: 0, time: Date.now(), keyframe: true, units: [idr] })];
 * ```
 */
export class Fmp4Muxer {
  /** `ftyp` + `moov`: what a player needs before the first fragment. */
  readonly init: Uint8Array;
  /** RFC 6381 codec string, e.g. `avc1.640028`. */
  readonly codec: string;
  readonly width: number;
  readonly height: number;
  #sequence = 0;
  #decodeTime = 0;
  #interval = DEFAULT_INTERVAL;
  #last: Fmp4Sample | undefined;

  /**
   * `sps` and `pps` are NAL units (header byte included, no start code).
   *
   * @throws {RangeError} When the SPS does not give a picture size.
   */
  constructor(sps: Uint8Array, pps: Uint8Array) {
    const info = parseSps(sps);
    if (info?.width === undefined || info.height === undefined) {
      throw new RangeError("Cannot mux MP4: cannot read the picture size from the SPS");
    }
    this.width = info.width;
    this.height = info.height;
    this.codec = codecString(sps);
    this.init = concat(
      ftyp(),
      moov(this.width, this.height, avcDecoderConfigurationRecord(sps, pps)),
    );
  }

  /** Decode time of the next fragment, in {@linkcode TIMESCALE} ticks. */
  get decodeTime(): number {
    return this.#decodeTime;
  }

  /** The bytes of one fragment: `moof`, then `mdat` holding the sample's NAL units. */
  fragment(sample: Fmp4Sample): Uint8Array {
    const last = this.#last;
    if (last) {
      const elapsed = sample.time - last.time;
      if (sample.seq === last.seq + 1 && elapsed > 0 && elapsed <= MAX_INTERVAL_MS) {
        this.#interval = Math.max(1, Math.round(elapsed * (TIMESCALE / 1000)));
      }
      this.#decodeTime += this.#interval;
    }
    this.#last = sample;
    const size = sampleSize(sample);
    // deno-fmt-ignore
    const words = [
      100, MOOF,
      16, MFHD, 0, ++this.#sequence,
      76, TRAF,
      16, TFHD, 0x020000, 1, // default-base-is-moof; track 1
      20, TFDT, 0x01000000, Math.floor(this.#decodeTime / 2 ** 32), this.#decodeTime >>> 0,
      // data-offset, sample-duration, sample-size, sample-flags; one sample
      32, TRUN, 0x000701, 1, FRAGMENT_HEADER_BYTES, this.#interval, size,
      // a keyframe depends on no other picture; any other one does and is no sync sample
      sample.keyframe ? 0x02000000 : 0x01010000,
      8 + size, MDAT,
    ];
    const fragment = new Uint8Array(FRAGMENT_HEADER_BYTES + size);
    const view = new DataView(fragment.buffer);
    for (let i = 0; i < words.length; i++) view.setUint32(4 * i, words[i]);
    let at = FRAGMENT_HEADER_BYTES;
    for (const unit of sample.units) {
      view.setUint32(at, unit.length);
      fragment.set(unit, at + 4);
      at += 4 + unit.length;
    }
    return fragment;
  }
}

/** Bytes of a sample in `mdat`: each NAL unit and its 4-byte length. */
export function sampleSize(sample: Pick<Fmp4Sample, "units">): number {
  let size = 0;
  for (const unit of sample.units) size += 4 + unit.length;
  return size;
}

const fourcc = (type: string) =>
  (type.charCodeAt(0) << 24 | type.charCodeAt(1) << 16 | type.charCodeAt(2) << 8 |
    type.charCodeAt(3)) >>> 0;
const MOOF = fourcc("moof");
const MFHD = fourcc("mfhd");
const TRAF = fourcc("traf");
const TFHD = fourcc("tfhd");
const TFDT = fourcc("tfdt");
const TRUN = fourcc("trun");
const MDAT = fourcc("mdat");

/** The unity transformation matrix of `mvhd` and `tkhd`. */
const MATRIX = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000];

function ftyp(): Uint8Array {
  return box(
    "ftyp",
    text("isom"),
    u32(0x200),
    text("isom"),
    text("iso6"),
    text("avc1"),
    text("mp41"),
  );
}

function moov(width: number, height: number, avcC: Uint8Array): Uint8Array {
  const zeros = (n: number) => new Uint8Array(n);
  const mvhd = fullBox(
    "mvhd",
    0,
    0,
    u32(0, 0, 1000, 0, 0x10000),
    u16(0x100),
    zeros(10),
    u32(...MATRIX),
    zeros(24),
    u32(2),
  );
  const tkhd = fullBox(
    "tkhd",
    0,
    3, // enabled, in movie
    u32(0, 0, 1, 0, 0, 0, 0, 0, 0), // track 1; layer, group, volume 0
    u32(...MATRIX),
    u32(width * 0x10000, height * 0x10000),
  );
  const mdhd = fullBox("mdhd", 0, 0, u32(0, 0, TIMESCALE, 0), u16(0x55c4, 0)); // language "und"
  const hdlr = fullBox("hdlr", 0, 0, u32(0), text("vide"), zeros(12), text("VideoHandler\0"));
  const avc1 = box(
    "avc1",
    zeros(6),
    u16(1), // data_reference_index
    zeros(16),
    u16(width, height),
    u32(0x480000, 0x480000, 0), // 72 dpi
    u16(1), // frame_count
    zeros(32), // compressorname
    u16(0x18, 0xffff), // depth, pre_defined -1
    box("avcC", avcC),
  );
  const stbl = box(
    "stbl",
    fullBox("stsd", 0, 0, u32(1), avc1),
    fullBox("stts", 0, 0, u32(0)),
    fullBox("stsc", 0, 0, u32(0)),
    fullBox("stsz", 0, 0, u32(0, 0)),
    fullBox("stco", 0, 0, u32(0)),
  );
  const minf = box(
    "minf",
    fullBox("vmhd", 0, 1, zeros(8)),
    box("dinf", fullBox("dref", 0, 0, u32(1), fullBox("url ", 0, 1))), // data in this file
    stbl,
  );
  const trak = box("trak", tkhd, box("mdia", mdhd, hdlr, minf));
  const mvex = box("mvex", fullBox("trex", 0, 0, u32(1, 1, 0, 0, 0)));
  return box("moov", mvhd, trak, mvex);
}

function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const body = concat(...parts);
  return concat(u32(8 + body.length), text(type), body);
}

function fullBox(type: string, version: number, flags: number, ...parts: Uint8Array[]): Uint8Array {
  return box(type, u32(version * 0x1000000 + flags), ...parts);
}

function u32(...values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => view.setUint32(4 * i, value >>> 0));
  return out;
}

function u16(...values: number[]): Uint8Array {
  const out = new Uint8Array(2 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => view.setUint16(2 * i, value));
  return out;
}

function text(value: string): Uint8Array {
  return Uint8Array.from(value, (char) => char.charCodeAt(0));
}
