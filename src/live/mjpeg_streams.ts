import type { Frame } from "../frames/frame.ts";
import type { FrameHub } from "../frames/frame_hub.ts";

const BOUNDARY = "videorecorderframe";
const encoder = new TextEncoder();
const FIRST_BOUNDARY = encoder.encode(`--${BOUNDARY}\r\n`);
// The boundary goes right after each frame, not before the next one: Chromium draws a part
// only once the following boundary arrives (crbug.com/527446), which would put the picture
// one frame behind. ustreamer does the same.
const PART_END = encoder.encode(`\r\n--${BOUNDARY}\r\n`);

/**
 * Live view as `multipart/x-mixed-replace` (what Chromium `<img>`, ffmpeg/ffplay, VLC and
 * OpenCV play as "MJPEG over HTTP"). Each response is a hub viewer: it is sent the newest
 * frame each time its socket has drained, so a slow client skips frames instead of queueing
 * them. A client that goes away is forgotten at once (the body's `cancel()`).
 */
export class MjpegStreams {
  readonly #hub: () => FrameHub;
  /** How to end each open stream: cancel its hub subscription. */
  readonly #open = new Set<() => Promise<void>>();
  /**
   * Each frame's part (header, JPEG, boundary) as one buffer, made once for all viewers: one
   * chunk for the server to write instead of three, and one copy of the frame, not one each.
   */
  readonly #parts = new WeakMap<Frame, Uint8Array>();

  /** `hub` may be a getter, for a live view whose hub is replaced (settings changes). */
  constructor(hub: FrameHub | (() => FrameHub)) {
    this.#hub = typeof hub === "function" ? hub : () => hub;
  }

  /** Streams open now. */
  get count(): number {
    return this.#open.size;
  }

  /** A new live-view response. */
  response(): Response {
    const frames = this.#hub().newest().readable.getReader();
    const end = () => {
      this.#open.delete(end);
      return frames.cancel();
    };
    this.#open.add(end);
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => controller.enqueue(FIRST_BOUNDARY),
      // highWaterMark 0: asked for a frame only when the previous one has left for the socket.
      pull: async (controller) => {
        const { value: frame, done } = await frames.read();
        if (done) {
          this.#open.delete(end);
          return controller.close();
        }
        let part = this.#parts.get(frame);
        if (!part) this.#parts.set(frame, part = partOf(frame));
        controller.enqueue(part);
      },
      cancel: end,
    }, { highWaterMark: 0 });
    return new Response(body, {
      headers: {
        "content-type": `multipart/x-mixed-replace;boundary=${BOUNDARY}`,
        "cache-control": "no-store, no-cache, must-revalidate, max-age=0",
        "pragma": "no-cache",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Ends every open stream (on shutdown); each closes once its client has taken what was sent. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#open].map((end) => end()));
  }
}

/** A frame's part of the multipart body: its header, the JPEG, then the boundary. */
function partOf(frame: Frame): Uint8Array {
  const header = encoder.encode(
    `Content-Type: image/jpeg\r\nContent-Length: ${frame.data.byteLength}\r\n` +
      `X-Timestamp: ${(frame.time / 1000).toFixed(6)}\r\n\r\n`,
  );
  const part = new Uint8Array(header.length + frame.data.length + PART_END.length);
  part.set(header);
  part.set(frame.data, header.length);
  part.set(PART_END, header.length + frame.data.length);
  return part;
}
