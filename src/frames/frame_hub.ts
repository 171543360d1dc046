import type { Frame } from "./frame.ts";
import { RateMeter } from "./rate_meter.ts";

/** Options for {@linkcode FrameHub.every}. */
export interface EveryFrameOptions {
  /**
   * Frames the consumer may fall behind before new ones are dropped (and counted). After a
   * drop the consumer resumes at the next keyframe, so an H.264 decoder never sees a gap.
   * Default 90 (3 s at 30 fps).
   */
  maxQueuedFrames?: number;
}

/** Options for {@linkcode FrameHub}. */
export interface FrameHubOptions {
  /**
   * Called whenever a consumer comes or goes, with how many there are now: lets a producer
   * run only while someone consumes (the H.264 live-view decoder).
   */
  onConsumers?: (count: number) => void;
}

/** What the hub tells about one consumer, for `/api/status`. */
export interface ConsumerStats {
  readonly kind: "every" | "newest";
  /** Frames handed to the consumer. */
  readonly delivered: number;
  /** Frames the consumer lost because it fell too far behind ("every" only). */
  readonly dropped: number;
  /** Frames handed over in the last whole second. */
  readonly fps: number;
  /** When the consumer subscribed, in ms since the epoch. */
  readonly since: number;
}

/** A subscription: its frames as a Web stream, and its counters. Cancel the stream to leave. */
export interface FrameConsumer {
  readonly readable: ReadableStream<Frame>;
  readonly stats: ConsumerStats;
  /** Leaves the hub but lets the reader take the frames already queued, then ends the stream. */
  close(): void;
  /** Frames waiting in the queue now (0 for "newest", which never queues). */
  readonly queued: number;
}

/**
 * Fans frames out from one camera to any number of consumers, each with its own bounded
 * queue, so no consumer can slow the camera or another consumer, or hold memory.
 *
 * - {@linkcode every}: all frames in order (the recorder). Its queue holds at most
 *   `maxQueuedFrames`; past that it drops and counts.
 * - {@linkcode newest}: the newest frame each time the reader asks for one (a live viewer),
 *   as ustreamer serves MJPEG: a viewer whose socket is slow skips frames and queues none.
 *
 * `ReadableStream.tee()` is not used on purpose: a branch that is not read makes it buffer
 * without limit (whatwg/streams#1233).
 *
 * @example
 * ```ts
 * import type { Frame } from "./frame.ts";
 * declare const frame: Frame;
 *
 * const hub = new FrameHub();
 * const viewer = hub.newest();
 * hub.publish(frame);
 * const { value } = await viewer.readable.getReader().read(); // frame
 * ```
 */
export class FrameHub {
  #latest: Frame | undefined;
  #latestKeyframe: Frame | undefined;
  readonly #consumers = new Set<Consumer>();
  readonly #rate = new RateMeter();
  readonly #onConsumers: ((count: number) => void) | undefined;
  #published = 0;

  constructor(options: FrameHubOptions = {}) {
    this.#onConsumers = options.onConsumers;
  }

  /** Hands a frame to every consumer; never waits. */
  publish(frame: Frame): void {
    this.#latest = frame;
    if (frame.keyframe) this.#latestKeyframe = frame;
    this.#published++;
    this.#rate.mark();
    for (const consumer of this.#consumers) consumer.offer(frame);
  }

  /** The newest frame published, if any. */
  get latest(): Frame | undefined {
    return this.#latest;
  }

  /** The newest keyframe published, if any: where a decoder joining now can start. */
  get latestKeyframe(): Frame | undefined {
    return this.#latestKeyframe;
  }

  /**
   * Forgets the newest frame (and keyframe), so that a new viewer waits for the next one
   * instead of being handed a picture from long ago (the H.264 preview after it sat idle).
   */
  forgetLatest(): void {
    this.#latest = undefined;
    this.#latestKeyframe = undefined;
  }

  /** Frames published in all. */
  get published(): number {
    return this.#published;
  }

  /** Frames published in the last whole second. */
  get fps(): number {
    return this.#rate.rate;
  }

  /** Counters of every current consumer. */
  get consumers(): ConsumerStats[] {
    return [...this.#consumers].map((consumer) => consumer.stats);
  }

  /** Subscribes to every frame from now on, in order. */
  every(options: EveryFrameOptions = {}): FrameConsumer {
    const maxQueuedFrames = options.maxQueuedFrames ?? 90;
    if (!(Number.isInteger(maxQueuedFrames) && maxQueuedFrames > 0)) {
      throw new RangeError(
        `Invalid maxQueuedFrames: expected a whole number > 0, got ${maxQueuedFrames}`,
      );
    }
    return this.#add(new EveryConsumer(maxQueuedFrames, (c) => this.#remove(c)));
  }

  /** Subscribes to the newest frame whenever the reader is ready for one. */
  newest(): FrameConsumer {
    return this.#add(new NewestConsumer(this, (c) => this.#remove(c)));
  }

  /** Ends every consumer's stream (on shutdown). */
  close(): void {
    for (const consumer of [...this.#consumers]) consumer.close();
  }

  #add<T extends Consumer>(consumer: T): T {
    this.#consumers.add(consumer);
    this.#onConsumers?.(this.#consumers.size);
    return consumer;
  }

  #remove(consumer: Consumer): void {
    if (this.#consumers.delete(consumer)) this.#onConsumers?.(this.#consumers.size);
  }
}

interface Consumer extends FrameConsumer {
  offer(frame: Frame): void;
}

class Counters implements ConsumerStats {
  delivered = 0;
  dropped = 0;
  readonly since = Date.now();
  readonly #rate = new RateMeter();

  constructor(readonly kind: "every" | "newest") {}

  get fps(): number {
    return this.#rate.rate;
  }

  countDelivered(): void {
    this.delivered++;
    this.#rate.mark();
  }
}

class EveryConsumer implements Consumer {
  readonly readable: ReadableStream<Frame>;
  readonly stats = new Counters("every");
  readonly #maxQueuedFrames: number;
  #controller!: ReadableStreamDefaultController<Frame>;
  #closed = false;
  /** Set until the first keyframe, and again after a drop. */
  #awaitKeyframe = true;

  readonly #leave: (consumer: Consumer) => void;

  constructor(maxQueuedFrames: number, leave: (consumer: Consumer) => void) {
    this.#leave = leave;
    this.#maxQueuedFrames = maxQueuedFrames;
    this.readable = new ReadableStream<Frame>({
      start: (controller) => void (this.#controller = controller),
      cancel: () => {
        this.#closed = true;
        leave(this);
      },
    }, new CountQueuingStrategy({ highWaterMark: maxQueuedFrames }));
  }

  get queued(): number {
    return this.#maxQueuedFrames - (this.#controller.desiredSize ?? this.#maxQueuedFrames);
  }

  offer(frame: Frame): void {
    if (this.#closed) return;
    if (this.#awaitKeyframe && !frame.keyframe) {
      this.stats.dropped++;
      return;
    }
    if (this.#controller.desiredSize! <= 0) {
      this.stats.dropped++;
      this.#awaitKeyframe = true;
      return;
    }
    this.#awaitKeyframe = false;
    this.#controller.enqueue(frame);
    this.stats.countDelivered();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#leave(this);
    this.#controller.close();
  }
}

class NewestConsumer implements Consumer {
  readonly readable: ReadableStream<Frame>;
  readonly stats = new Counters("newest");
  readonly queued = 0;
  #last: Frame | undefined;
  /** Resolves a pull that found no frame newer than the last one sent. */
  #wake: ((frame: Frame | undefined) => void) | undefined;
  #closed = false;

  readonly #leave: (consumer: Consumer) => void;

  constructor(hub: FrameHub, leave: (consumer: Consumer) => void) {
    this.#leave = leave;
    // highWaterMark 0: pull() runs only when the reader asks, i.e. when the socket drained.
    this.readable = new ReadableStream<Frame>({
      pull: async (controller) => {
        if (this.#closed) return controller.close();
        let frame = hub.latest;
        if (!frame || frame === this.#last) {
          frame = await new Promise<Frame | undefined>((resolve) => this.#wake = resolve);
        }
        if (!frame) return controller.close();
        this.#last = frame;
        controller.enqueue(frame);
        this.stats.countDelivered();
      },
      cancel: () => {
        this.#closed = true;
        this.#wake?.(undefined);
        leave(this);
      },
    }, { highWaterMark: 0 });
  }

  offer(frame: Frame | undefined): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.(frame);
  }

  close(): void {
    this.#closed = true; // a later pull() ends the stream
    this.#leave(this);
    this.offer(undefined);
  }
}
