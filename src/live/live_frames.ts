import { denoRuntime } from "../runtime/deno.ts";
import type { Frame } from "../frames/frame.ts";
import type { FrameHub } from "../frames/frame_hub.ts";

/** Options for {@linkcode LiveFrames}. */
export interface LiveFramesOptions {
  /** How long a request waits for a new frame before answering 503. Default 3000 ms. */
  waitMs?: number;
  /**
   * A viewer that asks for nothing for this long is forgotten (its hub subscription ends, so
   * it no longer counts in `/api/status` and the H.264 decoder may stop). Default 4000 ms.
   */
  idleMs?: number;
  /**
   * Frames older than this are not sent: a new viewer of a decoder that sat idle, or a
   * camera that stopped, must not be shown an old picture as live. Default 2000 ms.
   */
  maxAgeMs?: number;
  /** The clock frame times are read in (the recorder's). Default `Date.now`. */
  now?: () => number;
  /** Viewers kept at most; the one idle longest goes first. Default 32. */
  maxViewers?: number;
}

/** What a request for a frame asks. */
export interface LiveFrameQuery {
  /** The page's viewer id: frames come from one hub subscription kept between requests. */
  viewer?: string | null;
  /** The `seq` of the frame the client has: never sent again. */
  after?: number | null;
  /** Frames per second at most for this viewer; 0 or absent: as fast as it asks. */
  fps?: number | null;
  /** The client went away: stop waiting. */
  signal?: AbortSignal;
}

const VIEWER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** One page's live view: a hub subscription that outlives each request. */
interface PacedViewer {
  readonly id: string;
  readonly hub: FrameHub;
  readonly reader: ReadableStreamDefaultReader<Frame>;
  /** A read that a timed-out request left behind; the next request takes its frame. */
  pending: Promise<ReadableStreamReadResult<Frame>> | null;
  lastSentAt: number;
  lastUsedAt: number;
  idle: ReturnType<typeof setTimeout> | undefined;
  /** Requests of one viewer run one after the other. */
  queue: Promise<unknown>;
  ended: boolean;
}

/**
 * The control page's live view, paced by the page: `GET /live/frame.jpg` answers one JPEG,
 * the newest frame the viewer has not had, and the page asks for the next only once it has
 * shown this one. What the page shows is then at most one frame's transfer old on any link,
 * where `multipart/x-mixed-replace` (`/stream.mjpg`) fills the kernel's socket buffer on a
 * slow link and shows frames seconds old (the server sees the socket "drained" long before
 * the phone has the bytes).
 *
 * Each viewer id holds a {@linkcode FrameHub.newest} subscription between requests, so a
 * paced viewer counts in the hub's consumers (`/api/status` `viewers`, and the H.264
 * decoder's "someone watches") until it leaves or goes idle. Nothing is queued: a frame is
 * read from the hub only when a request asks for it.
 *
 * @example
 * ```ts
 * import { Hono } from "@hono/hono";
 * import type { Dashcam } from "../dashcam.ts";
 * declare const dashcam: Dashcam;
 *
 * const app = new Hono();
 * const live = new LiveFrames(() => dashcam.live.hub);
 * app.get("/live/frame.jpg", (c) => live.response(LiveFrames.query(c.req.raw)));
 * ```
 */
export class LiveFrames {
  readonly #hub: () => FrameHub;
  readonly #waitMs: number;
  readonly #idleMs: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #maxViewers: number;
  readonly #viewers = new Map<string, PacedViewer>();

  /** `hub` may be a getter, for a live view whose hub is replaced (settings changes). */
  constructor(hub: FrameHub | (() => FrameHub), options: LiveFramesOptions = {}) {
    this.#hub = typeof hub === "function" ? hub : () => hub;
    this.#waitMs = options.waitMs ?? 3000;
    this.#idleMs = options.idleMs ?? 4000;
    this.#maxAgeMs = options.maxAgeMs ?? 2000;
    this.#now = options.now ?? Date.now;
    this.#maxViewers = options.maxViewers ?? 32;
  }

  /** Viewers subscribed now. */
  get count(): number {
    return this.#viewers.size;
  }

  /**
   * The query of a request (`?viewer=ID&after=SEQ&fps=N`); throws a `RangeError` naming
   * the bad parameter.
   */
  static query(request: Request): LiveFrameQuery {
    const params = new URL(request.url).searchParams;
    const viewer = params.get("viewer");
    if (viewer !== null && !VIEWER_ID.test(viewer)) {
      throw new RangeError(
        `Invalid viewer: expected 1 to 64 letters, digits, "-" or "_", got "${viewer}"`,
      );
    }
    const number = (name: string, ok: (value: number) => boolean, expected: string) => {
      const text = params.get(name);
      if (text === null || text === "") return null;
      const value = Number(text);
      if (!ok(value)) throw new RangeError(`Invalid ${name}: expected ${expected}, got "${text}"`);
      return value;
    };
    return {
      viewer,
      after: number("after", Number.isSafeInteger, "a frame number"),
      fps: number(
        "fps",
        (value) => Number.isFinite(value) && value >= 0 && value <= 120,
        "a number from 0 (no limit) to 120",
      ),
      signal: request.signal,
    };
  }

  /** One frame as `image/jpeg` (headers `X-Frame-Seq`, `X-Frame-Time`), or 503 when none came. */
  async response(query: LiveFrameQuery = {}): Promise<Response> {
    const frame = query.viewer ? await this.#paced(query.viewer, query) : await this.#once(query);
    if (!frame) {
      return Response.json(
        { error: `No new frame in ${this.#waitMs / 1000} s: the camera is not delivering` },
        { status: 503, headers: { "retry-after": "1", "cache-control": "no-store" } },
      );
    }
    return new Response(frame.data as Uint8Array<ArrayBuffer>, {
      headers: {
        "content-type": "image/jpeg",
        "cache-control": "no-store",
        "x-frame-seq": String(frame.seq),
        "x-frame-time": String(Math.round(frame.time)),
        "x-server-time": String(Math.round(this.#now())),
      },
    });
  }

  /** The viewer leaves now (the page paused or hid its live view). */
  leave(id: string): void {
    const viewer = this.#viewers.get(id);
    if (viewer) this.#end(viewer);
  }

  /** Forgets every viewer (on shutdown). */
  closeAll(): void {
    for (const viewer of [...this.#viewers.values()]) this.#end(viewer);
  }

  #paced(id: string, query: LiveFrameQuery): Promise<Frame | undefined> {
    const viewer = this.#viewer(id);
    clearTimeout(viewer.idle);
    const turn = viewer.queue.then(async () => {
      const fps = query.fps ?? 0;
      if (fps > 0) {
        const due = viewer.lastSentAt + 1000 / fps - Date.now();
        if (due > 0) await sleep(due, query.signal);
      }
      let frame = await this.#next(viewer, query);
      if (!frame && viewer.ended && this.#hub() !== viewer.hub) {
        // The hub was replaced (the camera restarted with new settings): follow it.
        frame = await this.#next(this.#viewer(id), query);
      }
      if (frame) viewer.lastSentAt = Date.now();
      return frame;
    });
    viewer.queue = turn.catch(() => {});
    return turn.finally(() => {
      const current = this.#viewers.get(id);
      if (!current) return;
      current.lastUsedAt = Date.now();
      clearTimeout(current.idle);
      current.idle = setTimeout(() => this.#end(current), this.#idleMs);
      unrefTimer(current.idle);
    });
  }

  /** The next frame for `viewer` newer than `after` and fresh, within the wait. */
  async #next(viewer: PacedViewer, query: LiveFrameQuery): Promise<Frame | undefined> {
    const deadline = Date.now() + this.#waitMs;
    while (!viewer.ended && !query.signal?.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      viewer.pending ??= viewer.reader.read();
      const result = await within(viewer.pending, left, query.signal);
      if (result === undefined) return undefined; // timed out or aborted: the read stays pending
      viewer.pending = null;
      if (result.done) {
        this.#end(viewer);
        return undefined;
      }
      const frame = result.value;
      if (frame.seq === query.after || this.#now() - frame.time > this.#maxAgeMs) continue;
      return frame;
    }
    return undefined;
  }

  /** Without a viewer id: the newest frame other than `after`, from a subscription of its own. */
  async #once(query: LiveFrameQuery): Promise<Frame | undefined> {
    const hub = this.#hub();
    const latest = hub.latest;
    if (latest && latest.seq !== query.after && this.#now() - latest.time <= this.#maxAgeMs) {
      return latest;
    }
    const viewer = this.#subscribe("", hub);
    try {
      return await this.#next(viewer, query);
    } finally {
      viewer.ended = true;
      void viewer.reader.cancel().catch(() => {});
    }
  }

  #viewer(id: string): PacedViewer {
    const hub = this.#hub();
    let viewer = this.#viewers.get(id);
    if (viewer && (viewer.ended || viewer.hub !== hub)) {
      this.#end(viewer);
      viewer = undefined;
    }
    if (!viewer) {
      viewer = this.#subscribe(id, hub);
      this.#viewers.set(id, viewer);
      if (this.#viewers.size > this.#maxViewers) {
        const oldest = [...this.#viewers.values()].sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
        this.#end(oldest);
      }
    }
    return viewer;
  }

  #subscribe(id: string, hub: FrameHub): PacedViewer {
    return {
      id,
      hub,
      reader: hub.newest().readable.getReader(),
      pending: null,
      lastSentAt: 0,
      lastUsedAt: Date.now(),
      idle: undefined,
      queue: Promise.resolve(),
      ended: false,
    };
  }

  #end(viewer: PacedViewer): void {
    clearTimeout(viewer.idle);
    if (this.#viewers.get(viewer.id) === viewer) this.#viewers.delete(viewer.id);
    if (viewer.ended) return;
    viewer.ended = true;
    // Cancelling also settles a pending read (with done), and leaves the hub.
    void viewer.reader.cancel().catch(() => {});
  }
}

/** `promise`'s value, or undefined after `ms` or once `signal` aborts (the promise runs on). */
function within<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve(undefined);
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    promise.then((value) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve(value);
    }, reject);
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return within(new Promise<void>(() => {}), ms, signal).then(() => {});
}

/** An idle timer must not keep the process alive after shutdown. */
function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  // Deno.unrefTimer(Number(timer)) left it ref'd: Deno 2.9's timers are objects.
  denoRuntime.unrefTimer(timer);
}
