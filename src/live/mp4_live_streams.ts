import { NAL_TYPE, nalType, nalUnits } from "../codecs/h264.ts";
import type { Frame } from "../frames/frame.ts";
import type { FrameHub } from "../frames/frame_hub.ts";
import { RateMeter } from "../frames/rate_meter.ts";
import { Fmp4Muxer, type Fmp4Sample, sampleSize } from "./fmp4_muxer.ts";

/** Options for {@linkcode Mp4LiveStreams}. */
export interface Mp4LiveStreamsOptions {
  /**
   * Frames a viewer may have waiting for its socket; past that (or past `maxQueuedBytes`)
   * its queue is emptied and it resumes at the next keyframe. Default 60 (2 s at 30 fps).
   */
  maxQueuedFrames?: number;
  /** Bytes a viewer may have waiting, likewise. Default 8 MiB. */
  maxQueuedBytes?: number;
  /** How long a new viewer waits for its first keyframe before a 503. Default 5 s. */
  firstFrameTimeoutMs?: number;
}

/** One `/live.mp4` viewer, for `/api/status`. */
export interface Mp4ViewerStats {
  readonly kind: "mp4";
  /** Frames sent towards the socket. */
  readonly delivered: number;
  /** Frames not sent: skipped to catch up, or before the first keyframe. */
  readonly dropped: number;
  /** Times the viewer fell behind and skipped to the next keyframe. */
  readonly skips: number;
  /** Frames waiting for the socket now, and their bytes. */
  readonly queued: number;
  readonly queuedBytes: number;
  /** Frames sent in the last whole second. */
  readonly fps: number;
  /** When the viewer came, ms since the epoch. */
  readonly since: number;
}

/** A frame as the viewers share it: converted once, whatever the number of viewers. */
interface Sample extends Fmp4Sample {
  /** Its bytes in a fragment's `mdat`. */
  readonly size: number;
  /** The parameter sets in force (the same objects while their bytes stay the same). */
  readonly sps: Uint8Array;
  readonly pps: Uint8Array;
}

/**
 * Live view as fragmented MP4 of the camera's own H.264 (`GET /live.mp4`), for a `<video>`
 * fed through Media Source Extensions: nothing is decoded, the phone's hardware decoder does
 * the work. Each response is the init segment (from the SPS/PPS) and then one fragment per
 * camera frame, sent as the frame arrives.
 *
 * While anyone watches, one subscription to the camera's hub splits each frame into its NAL
 * units once (views, no copy) and keeps the frames since the newest keyframe, so a viewer
 * starts at that keyframe at once (the first viewer waits for the next one). Each viewer has
 * a bounded queue: one whose socket falls behind by `maxQueuedFrames` or `maxQueuedBytes` has
 * its queue emptied and resumes at the next keyframe, so what it is sent always decodes and
 * it never holds more. A client that leaves is forgotten at once (the body's `cancel()`), and
 * the subscription ends with the last viewer. A change of SPS or PPS (a camera restarted
 * with other settings) ends the stream: the player must start over with a new init segment.
 *
 * @example
 * ```ts
 * import { FrameHub } from "../frames/frame_hub.ts";
 * const mp4 = new Mp4LiveStreams(new FrameHub());
 * const response = await mp4.response(); // content-type: video/mp4; codecs="avc1.640028"
 * ```
 */
export class Mp4LiveStreams {
  readonly #hub: () => FrameHub;
  readonly #maxQueuedFrames: number;
  readonly #maxQueuedBytes: number;
  readonly #firstFrameTimeoutMs: number;
  readonly #viewers = new Set<Mp4Viewer>();
  #tap: Tap | undefined;

  /** `hub` is the camera's (H.264 access units); a getter follows a hub that is replaced. */
  constructor(hub: FrameHub | (() => FrameHub), options: Mp4LiveStreamsOptions = {}) {
    this.#hub = typeof hub === "function" ? hub : () => hub;
    this.#maxQueuedFrames = positive("maxQueuedFrames", options.maxQueuedFrames ?? 60);
    this.#maxQueuedBytes = positive("maxQueuedBytes", options.maxQueuedBytes ?? 8 * 1024 * 1024);
    this.#firstFrameTimeoutMs = options.firstFrameTimeoutMs ?? 5_000;
  }

  /** Streams open now. */
  get count(): number {
    return this.#viewers.size;
  }

  /** Counters of every open stream. */
  get viewers(): Mp4ViewerStats[] {
    return [...this.#viewers].map((viewer) => viewer.stats());
  }

  /**
   * A new viewer's response, once its first keyframe is there (the `content-type` names the
   * codec: `video/mp4; codecs="avc1.PPCCLL"`); undefined when none comes within
   * `firstFrameTimeoutMs`.
   *
   * @throws {RangeError} When the camera's SPS gives no picture size.
   */
  async response(): Promise<Response | undefined> {
    const hub = this.#hub();
    if (this.#tap && this.#tap.hub !== hub) this.#stopTap();
    const tap = this.#tap ??= new Tap(hub, {
      maxFrames: this.#maxQueuedFrames,
      maxBytes: this.#maxQueuedBytes,
      offer: (sample) => {
        for (const viewer of this.#viewers) if (viewer.tap === tap) viewer.offer(sample);
      },
      ended: () => {
        if (this.#tap === tap) this.#stopTap();
      },
    });
    const viewer = new Mp4Viewer(
      this.#maxQueuedFrames,
      this.#maxQueuedBytes,
      (v) => this.#leave(v),
    );
    viewer.tap = tap;
    this.#viewers.add(viewer);
    for (const sample of tap.gop) viewer.offer(sample);
    let first;
    try {
      first = await viewer.first(this.#firstFrameTimeoutMs);
    } finally {
      if (!first) viewer.close();
    }
    if (!first) return undefined;
    return new Response(viewer.readable, {
      headers: {
        "content-type": `video/mp4; codecs="${first.codec}"`,
        "cache-control": "no-store, no-cache, must-revalidate, max-age=0",
        "pragma": "no-cache",
        "x-accel-buffering": "no",
        "x-content-type-options": "nosniff",
      },
    });
  }

  /** Ends every open stream (on shutdown). */
  closeAll(): Promise<void> {
    for (const viewer of [...this.#viewers]) viewer.close();
    this.#stopTap();
    return Promise.resolve();
  }

  #leave(viewer: Mp4Viewer): void {
    this.#viewers.delete(viewer);
    if (this.#viewers.size === 0) this.#stopTap();
  }

  #stopTap(): void {
    const tap = this.#tap;
    this.#tap = undefined;
    if (!tap) return;
    tap.stop();
    // Viewers of a hub that ended (the camera's pipeline was rebuilt) end with it.
    for (const viewer of [...this.#viewers]) if (viewer.tap === tap) viewer.close();
  }
}

function positive(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new RangeError(`Invalid ${name}: expected a whole number > 0, got ${value}`);
  }
  return value;
}

interface TapOptions {
  maxFrames: number;
  maxBytes: number;
  offer(sample: Sample): void;
  ended(): void;
}

/** The one subscription to the camera's hub while anyone watches. */
class Tap {
  readonly hub: FrameHub;
  /** Frames from the newest keyframe on, while they fit a viewer's queue; else empty. */
  gop: Sample[] = [];
  #gopBytes = 0;
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;
  readonly #reader: ReadableStreamDefaultReader<Frame>;
  readonly #options: TapOptions;
  #stopped = false;

  constructor(hub: FrameHub, options: TapOptions) {
    this.hub = hub;
    this.#options = options;
    this.#reader = hub.every({ maxQueuedFrames: options.maxFrames }).readable.getReader();
    void this.#run();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.gop = [];
    void this.#reader.cancel().catch(() => {});
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        const { value: frame, done } = await this.#reader.read();
        if (done || this.#stopped) break;
        const sample = this.#sample(frame);
        if (sample) this.#options.offer(sample);
      }
    } catch {
      // cancelled
    }
    if (!this.#stopped) this.#options.ended();
  }

  #sample(frame: Frame): Sample | undefined {
    const units = nalUnits(frame.data, frame.nals);
    const picture: Uint8Array[] = [];
    for (const unit of units) {
      const type = nalType(unit);
      if (type === NAL_TYPE.sps) this.#sps = same(this.#sps, unit);
      else if (type === NAL_TYPE.pps) this.#pps = same(this.#pps, unit);
      else if (type !== NAL_TYPE.aud) picture.push(unit);
    }
    if (!this.#sps || !this.#pps) return undefined; // cannot start a decoder yet
    const sample: Sample = {
      seq: frame.seq,
      time: frame.time,
      keyframe: frame.keyframe,
      units: picture,
      size: sampleSize({ units: picture }),
      sps: this.#sps,
      pps: this.#pps,
    };
    if (sample.keyframe) {
      this.gop = [];
      this.#gopBytes = 0;
    }
    if (this.gop.length > 0 || sample.keyframe) {
      this.gop.push(sample);
      this.#gopBytes += sample.size;
      // A long GOP would not fit a new viewer's queue: wait for the next keyframe instead.
      if (this.gop.length > this.#options.maxFrames || this.#gopBytes > this.#options.maxBytes) {
        this.gop = [];
      }
    }
    return sample;
  }
}

/** `next`, or `current` when their bytes are the same (so a change is one comparison later). */
function same(current: Uint8Array | undefined, next: Uint8Array): Uint8Array {
  if (current?.length !== next.length) return next.slice();
  for (let i = 0; i < next.length; i++) if (current[i] !== next[i]) return next.slice();
  return current;
}

class Mp4Viewer {
  readonly readable: ReadableStream<Uint8Array>;
  readonly since = Date.now();
  /** Set by {@linkcode Mp4LiveStreams}: the tap this viewer was fed by. */
  tap: Tap | undefined;
  #queue: Sample[] = [];
  #queuedBytes = 0;
  #delivered = 0;
  #dropped = 0;
  #skips = 0;
  readonly #rate = new RateMeter();
  #awaitKeyframe = true;
  #closed = false;
  #muxer: Fmp4Muxer | undefined;
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;
  /** Resolves a pull (or {@linkcode first}) waiting for a frame. */
  #wake: (() => void) | undefined;
  readonly #maxFrames: number;
  readonly #maxBytes: number;
  readonly #leave: (viewer: Mp4Viewer) => void;

  constructor(maxFrames: number, maxBytes: number, leave: (viewer: Mp4Viewer) => void) {
    this.#maxFrames = maxFrames;
    this.#maxBytes = maxBytes;
    this.#leave = leave;
    // highWaterMark 0: a fragment is made only when the last one has left for the socket.
    this.readable = new ReadableStream<Uint8Array>({
      pull: (controller) => this.#pull(controller),
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
  }

  stats(): Mp4ViewerStats {
    return {
      kind: "mp4",
      delivered: this.#delivered,
      dropped: this.#dropped,
      skips: this.#skips,
      queued: this.#queue.length,
      queuedBytes: this.#queuedBytes,
      fps: this.#rate.rate,
      since: this.since,
    };
  }

  offer(sample: Sample): void {
    if (this.#closed) return;
    if (this.#awaitKeyframe && !sample.keyframe) {
      this.#dropped++;
      return;
    }
    const bytes = this.#queuedBytes + sample.size;
    if (this.#queue.length >= this.#maxFrames || bytes > this.#maxBytes) {
      // Behind: let go of what waits and resume at a keyframe (this one, if it is one).
      this.#dropped += this.#queue.length;
      this.#skips++;
      this.#queue = [];
      this.#queuedBytes = 0;
      if (!sample.keyframe) {
        this.#dropped++;
        this.#awaitKeyframe = true;
        return;
      }
    }
    this.#awaitKeyframe = false;
    this.#queue.push(sample);
    this.#queuedBytes += sample.size;
    this.#wakeUp();
  }

  /** Waits for the first frame (a keyframe); its codec, or undefined after `timeoutMs`. */
  async first(timeoutMs: number): Promise<{ codec: string } | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
    while (this.#queue.length === 0 && !this.#closed) {
      const frame = new Promise<void>((resolve) => this.#wake = resolve);
      if (await Promise.race([frame.then(() => true), timeout.then(() => false)]) === false) break;
    }
    clearTimeout(timer);
    this.#wake = undefined;
    const sample = this.#queue[0];
    if (!sample || this.#closed) return undefined;
    this.#startMuxer(sample);
    return { codec: this.#muxer!.codec };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#leave(this);
    this.#wakeUp();
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    while (this.#queue.length === 0 && !this.#closed) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const sample = this.#queue.shift();
    if (!sample) return controller.close();
    this.#queuedBytes -= sample.size;
    if (!this.#muxer) {
      this.#startMuxer(sample);
    } else if (sample.sps !== this.#sps || sample.pps !== this.#pps) {
      // Another camera setup: this init segment no longer fits; the player reconnects.
      this.close();
      return controller.close();
    }
    const muxer = this.#muxer!;
    if (this.#delivered === 0) controller.enqueue(muxer.init);
    controller.enqueue(muxer.fragment(sample));
    this.#delivered++;
    this.#rate.mark();
  }

  #startMuxer(sample: Sample): void {
    if (this.#muxer) return;
    this.#muxer = new Fmp4Muxer(sample.sps, sample.pps);
    this.#sps = sample.sps;
    this.#pps = sample.pps;
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
