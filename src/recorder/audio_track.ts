import type { AudioChunk } from "../audio/audio_source.ts";
import { SAMPLE_RATE } from "../audio/audio_input.ts";

/** Options for {@linkcode AudioTrack}. */
export interface AudioTrackOptions {
  /**
   * How far the sound may lag the frames before silence stands in for it: a microphone
   * delivers in chunks (an ALSA period), and one that stopped must not hold the clip back.
   * Default 500 ms.
   */
  maxLagMs?: number;
}

/** A block of the sound track: its place on the stream's timeline (ms) and its PCM. */
export interface AudioBlock {
  time: number;
  /** 16-bit little-endian mono samples, {@linkcode BLOCK_SAMPLES} of them. */
  pcm: Uint8Array;
}

/** Samples per block: 20 ms, a whole number of milliseconds. */
export const BLOCK_SAMPLES = SAMPLE_RATE / 50;
const MS_PER_SAMPLE = 1000 / SAMPLE_RATE;
/** Chunks this far off the track's position are moved there (silence, or samples dropped). */
const SNAP_MS = 40;
/** Sound queued beyond this (frames stopped, or the clock jumped back) is dropped, oldest first. */
const MAX_QUEUED_SAMPLES = 3 * SAMPLE_RATE;

/**
 * Lays the microphone's chunks onto the video's timeline as one unbroken track in blocks of
 * 20 ms, so that each clip's sound is as long as its video and in step with it.
 *
 * The frame just written says where capture times are on the timeline (its capture time and
 * its place); sound follows the frames' gaps cut out and clock jumps that way. Sound is laid
 * up to the newest frame, never ahead of it: sound captured while the camera was away is
 * dropped with the gap. Where the microphone gave nothing (absent, restarting, late by more
 * than `maxLagMs`) the track is silence, and sound for times already laid is dropped. Small
 * differences between a chunk's time and the track's position (the sound card's clock
 * drifting off the system's) are taken up by repeating or dropping one sample in 500; more
 * than 40 ms is moved at once.
 */
export class AudioTrack {
  #maxLagMs: number;
  readonly #queue: AudioChunk[] = [];
  #queued = 0;
  /** Timeline position of the next sample, ms; null before the first frame. */
  #position: number | null = null;
  readonly #block = new Int16Array(BLOCK_SAMPLES);
  #filled = 0;
  #blockTime = 0;
  #blocks: AudioBlock[] = [];
  /** Samples that may be repeated or dropped now, to follow a drifting sound card. */
  #allowance = 0;
  /** Timeline minus capture time at the last frame. */
  #map: number | null = null;
  /** The next chunk goes exactly where its time says: the first, or the first after a jump. */
  #snap = true;

  constructor(options: AudioTrackOptions = {}) {
    this.#maxLagMs = options.maxLagMs ?? 500;
  }

  /** Queues a chunk from the microphone. */
  push(chunk: AudioChunk): void {
    this.#queue.push(chunk);
    this.#queued += chunk.samples.length;
    while (this.#queued > MAX_QUEUED_SAMPLES && this.#queue.length > 1) {
      this.#queued -= this.#queue.shift()!.samples.length;
    }
  }

  /**
   * The blocks to write after the frame captured at `capture` that went onto the timeline at
   * `timeline` (ms). The first frame starts the track.
   */
  advance(capture: number, timeline: number): AudioBlock[] {
    const map = timeline - capture;
    // A gap cut out or a clock jump moved the map (more than its rounding to 1 ms).
    if (this.#map !== null && Math.abs(map - this.#map) > 2) this.#snap = true;
    this.#map = map;
    let position = this.#position ??= timeline;
    while (this.#queue.length > 0) {
      let chunk = this.#queue[0];
      let gap = chunk.time + map - position;
      if (gap > timeline - position) break; // after the newest frame: wait for the next
      this.#queue.shift();
      this.#queued -= chunk.samples.length;
      const snap = this.#snap ? 0 : SNAP_MS;
      if (gap < -snap) {
        // Laid already (silence stood in, or a gap was cut): keep only what comes after.
        const skip = Math.round(-gap / MS_PER_SAMPLE);
        if (skip >= chunk.samples.length) continue;
        chunk = { time: chunk.time + skip * MS_PER_SAMPLE, samples: chunk.samples.subarray(skip) };
        gap = 0;
      }
      this.#snap = false;
      if (gap > snap) {
        position = this.#silence(position, gap);
        gap = 0;
      }
      // One sample in 500 at most, and none for a difference under 2 ms (the clock's jitter).
      this.#allowance = Math.min(this.#allowance + chunk.samples.length / 500, 50);
      const wanted = Math.abs(gap) < 2 ? 0 : Math.round(gap / MS_PER_SAMPLE);
      const change = Math.sign(wanted) * Math.min(
        Math.abs(wanted),
        Math.floor(this.#allowance),
        chunk.samples.length >> 1,
      );
      this.#allowance -= Math.abs(change);
      position = this.#append(position, stretch(chunk.samples, change));
    }
    if (timeline - this.#maxLagMs > position) {
      position = this.#silence(position, timeline - this.#maxLagMs - position);
    }
    this.#position = position;
    return this.#takeBlocks();
  }

  /**
   * The last blocks when the frames end at `end` on the timeline (the last frame's time plus
   * its duration): the sound queued for before then, and silence up to it (to a whole block).
   */
  finish(capture: number, timeline: number, end: number): AudioBlock[] {
    this.#maxLagMs = 0;
    const blocks = this.advance(capture + (end - timeline), end);
    if (this.#filled > 0) {
      this.#silence(this.#position!, (BLOCK_SAMPLES - this.#filled) * MS_PER_SAMPLE);
    }
    return [...blocks, ...this.#takeBlocks()];
  }

  #takeBlocks(): AudioBlock[] {
    const blocks = this.#blocks;
    this.#blocks = [];
    return blocks;
  }

  #silence(position: number, ms: number): number {
    return this.#append(position, new Int16Array(Math.round(ms / MS_PER_SAMPLE)));
  }

  #append(position: number, samples: Int16Array): number {
    let at = 0;
    while (at < samples.length) {
      if (this.#filled === 0) this.#blockTime = position;
      const take = Math.min(samples.length - at, BLOCK_SAMPLES - this.#filled);
      this.#block.set(samples.subarray(at, at + take), this.#filled);
      this.#filled += take;
      at += take;
      position += take * MS_PER_SAMPLE;
      if (this.#filled === BLOCK_SAMPLES) {
        const pcm = new Uint8Array(BLOCK_SAMPLES * 2);
        const view = new DataView(pcm.buffer);
        for (let i = 0; i < BLOCK_SAMPLES; i++) view.setInt16(2 * i, this.#block[i], true);
        this.#blocks.push({ time: this.#blockTime, pcm });
        this.#filled = 0;
      }
    }
    return position;
  }
}

/** `samples` with `n` samples more (repeated) or fewer (dropped), spread evenly. */
function stretch(samples: Int16Array, n: number): Int16Array {
  if (n === 0 || samples.length === 0) return samples;
  const out = new Int16Array(samples.length + n);
  const every = samples.length / Math.abs(n);
  let next = every / 2;
  let o = 0;
  for (let i = 0; i < samples.length; i++) {
    if (i >= next) {
      next += every;
      if (n < 0) continue; // dropped
      out[o++] = samples[i]; // repeated
    }
    out[o++] = samples[i];
  }
  return out.subarray(0, o);
}
