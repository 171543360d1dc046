import { Hono } from "@hono/hono";
import { HTTPException } from "@hono/hono/http-exception";
import type { CameraStatus } from "../camera/camera.ts";
import type { PreviewStatus } from "../camera/h264_preview.ts";
import type { Frame } from "../frames/frame.ts";
import type { FrameHub } from "../frames/frame_hub.ts";
import type { RecorderStatus } from "../recorder/segment_recorder.ts";
import { type Credentials, requireCredentials, sameOriginOnly } from "./auth.ts";
import type { MjpegStreams } from "./mjpeg_streams.ts";

/**
 * Where live JPEGs come from: the camera's own hub in MJPEG mode, the on-demand decoder in
 * H.264 mode.
 */
export interface LiveView {
  /** JPEG frames; `/stream.mjpg` viewers subscribe here. */
  readonly hub: FrameHub;
  /** The newest picture, waiting for one if needed; undefined when none comes in time. */
  snapshot(): Promise<Frame | undefined>;
}

/** What the routes need; each part is built and owned by `mod.ts`. */
export interface AppOptions {
  live: LiveView;
  streams: MjpegStreams;
  /** The H.264 live-view decoder, when there is one. */
  preview?: { status(): PreviewStatus };
  camera: { readonly source: string; readonly description: string; status(): CameraStatus };
  recorder: { status(): RecorderStatus; start(): Promise<void>; stop(): Promise<void> };
  /** When the process started, ms since the epoch. */
  startedAt: number;
  /** Required on every route; null turns authentication off (`--no-auth`). */
  credentials: Credentials | null;
  /** Directory holding the control page. Default: `web/` beside `src/`. */
  webDir?: string;
}

const WEB_DIR = new URL("../../web/", import.meta.url).pathname;
const WEB_FILES: Record<string, string> = {
  "/": "index.html",
  "/index.html": "index.html",
};

/**
 * The HTTP API and live view.
 *
 * @example
 * ```ts
 * const app = createApp({ hub, streams, camera, recorder, startedAt: Date.now() });
 * const res = await app.request("/api/status");
 * ```
 */
export function createApp(options: AppOptions): Hono {
  const { live, streams, recorder } = options;
  const app = new Hono();
  if (options.credentials) app.use("*", requireCredentials(options.credentials));
  app.use("*", sameOriginOnly());

  app.get("/stream.mjpg", () => streams.response());

  app.get("/snapshot.jpg", async (c) => {
    const frame = await live.snapshot();
    if (!frame) {
      c.header("retry-after", "1");
      return c.json({ error: "No frame yet: the camera has not delivered one" }, 503);
    }
    return c.body(frame.data as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "image/jpeg",
      "cache-control": "no-store",
      "x-timestamp": (frame.time / 1000).toFixed(6),
    });
  });

  app.get("/api/status", (c) => c.json(statusReport(options)));

  app.post("/api/recording/start", async (c) => {
    await recorder.start();
    return c.json(recordingReport(recorder.status()));
  });

  app.post("/api/recording/stop", async (c) => {
    await recorder.stop();
    return c.json(recordingReport(recorder.status()));
  });

  const webDir = options.webDir ?? WEB_DIR;
  for (const [path, file] of Object.entries(WEB_FILES)) {
    app.get(path, async (c) => {
      const html = await Deno.readFile(`${webDir}/${file}`);
      return c.body(html, 200, { "content-type": "text/html; charset=utf-8" });
    });
  }

  app.notFound((c) => c.json({ error: `Not found: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    // Thrown on purpose (401 from basicAuth): its response is the answer.
    if (error instanceof HTTPException) return error.getResponse();
    console.error(`Request ${c.req.method} ${c.req.path} failed:`, error);
    return c.json({ error: `Internal error: ${error.message}` }, 500);
  });
  return app;
}

/** The `/api/status` document. */
export function statusReport(options: AppOptions): Record<string, unknown> {
  const camera = options.camera.status();
  const viewers = options.live.hub.consumers.filter((consumer) => consumer.kind === "newest");
  const preview = options.preview?.status();
  return {
    camera: {
      source: options.camera.source,
      description: options.camera.description,
      codec: camera.codec,
      state: camera.state,
      pid: camera.pid,
      frames: camera.frames,
      fps: camera.fps,
      bitrate: camera.bitrate,
      keyframe_interval: camera.keyframeInterval,
      h264: camera.h264,
      restarts: camera.restarts,
      last_frame_at: camera.lastFrameAt,
      garbage_bytes: camera.garbageBytes,
      truncated: camera.truncated,
      oversized: camera.oversized,
      last_exit: camera.lastExit,
      last_error: camera.lastError,
      restart_at: camera.restartAt,
      stderr: camera.stderr,
    },
    recorder: recordingReport(options.recorder.status()),
    preview: preview
      ? {
        state: preview.state,
        keyframes_only: preview.keyframesOnly,
        width: preview.width,
        height: preview.height,
        fps: preview.fps,
        frames: preview.frames,
        restarts: preview.restarts,
        last_error: preview.lastError,
        stderr: preview.stderr,
      }
      : null,
    viewers: {
      count: viewers.length,
      streams: options.streams.count,
      clients: viewers.map((viewer) => ({
        fps: viewer.fps,
        frames: viewer.delivered,
        since: viewer.since,
      })),
    },
    uptime_s: Math.round((Date.now() - options.startedAt) / 1000),
  };
}

function recordingReport(status: RecorderStatus): Record<string, unknown> {
  return {
    recording: status.recording,
    state: status.state,
    frames: status.frames,
    dropped: status.dropped,
    segments: status.segments,
    current: status.current,
    last_clip: status.lastClip,
    restarts: status.restarts,
    last_exit: status.lastExit,
    last_error: status.lastError,
    restart_at: status.restartAt,
    stderr: status.stderr,
  };
}
