import { Hono } from "@hono/hono";
import { bodyLimit } from "@hono/hono/body-limit";
import { HTTPException } from "@hono/hono/http-exception";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ArchiveStatus } from "../archive/archiver.ts";
import type { GpsReport } from "../car/gps_report.ts";
import type { Dashcam, DashcamStatus } from "../dashcam.ts";
import type { RecorderStatus } from "../recorder/segment_recorder.ts";
import type {
  ArchiveReport,
  HealthReport,
  HttpReport,
  RecorderReport,
  StatusReport,
} from "./api_documents.ts";
import { type Credentials, knownHostOnly, requireCredentials, sameOriginOnly } from "./auth.ts";
import { clipsRoutes } from "./clips_routes.ts";
import { EMBEDDED_WEB } from "./embedded_web.ts";
import { LiveFrames } from "../live/live_frames.ts";
import type { ListenStatus } from "./listen.ts";
import { redactAll } from "./redact_secrets.ts";
import { settingsRoutes } from "./settings_routes.ts";

/** What the routes need; `mod.ts` builds and owns each part. */
export interface AppOptions {
  dashcam: Dashcam;
  /** When the process started, ms since the epoch. */
  startedAt: number;
  /** Required on every route; null turns authentication off (`--no-auth`). */
  credentials: Credentials | null;
  /** Where settings changed on the page are saved. */
  configFile: string;
  /** Pi health (temperature, throttling, memory, load) for the status, when available. */
  health?: () => Promise<HealthReport | null>;
  /**
   * Directory holding the control page. Default: the files built into the Node bundle
   * (`embedded_web.ts`), else `web/` beside `src/`.
   */
  webDir?: string;
  /** The HTTP server's own state and restarts (`Listening.status()`), for the status. */
  http?: () => ListenStatus | null;
}

/** The largest request body taken (settings, clock): 64 KiB. */
const MAX_BODY_BYTES = 64 * 1024;

// Beside the code, through import.meta: works the same inside a `deno compile` binary
// (where web/ is embedded with --include web) and with spaces in the path. import.meta.url,
// not import.meta.dirname: Node 18 has no dirname (the bundle never reads web/ from disk).
const WEB_DIR = fileURLToPath(new URL("../../web", import.meta.url));
const WEB_FILES: Record<string, [file: string, type: string]> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/index.html": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/style.css": ["style.css", "text/css; charset=utf-8"],
};

/**
 * The HTTP API, live view and control page.
 *
 * @example
 * ```ts
 * import type { Dashcam } from "../dashcam.ts";
 * declare const dashcam: Dashcam;
 * declare const configFile: string;
 *
 * const app = createApp({ dashcam, startedAt: Date.now(), credentials: null, configFile });
 * const res = await app.request("/api/status");
 * ```
 */
export function createApp(options: AppOptions): Hono {
  const { dashcam } = options;
  const app = new Hono();
  app.use("*", knownHostOnly({ host: dashcam.config.host }));
  if (options.credentials) app.use("*", requireCredentials(options.credentials));
  app.use("*", sameOriginOnly());
  // Every body this API takes is a small JSON document: refuse big ones before reading them.
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json({ error: `Request body too large: at most ${MAX_BODY_BYTES / 1024} KiB` }, 413),
    }),
  );

  app.get("/stream.mjpg", () => dashcam.streams.response());

  // The camera's own H.264 as fragmented MP4, for a <video> through Media Source Extensions.
  app.get("/live.mp4", async (c) => {
    if (dashcam.source.codec !== "h264") {
      return c.json(
        { error: "No H.264 live video: the camera sends MJPEG; use /stream.mjpg" },
        409,
      );
    }
    try {
      const response = await dashcam.mp4.response();
      if (response) return response;
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      return c.json({ error: `Cannot stream live video: ${error.message}` }, 502);
    }
    c.header("retry-after", "1");
    return c.json({ error: "No live video yet: the camera has sent no keyframe" }, 503);
  });

  // The control page's own live view: one frame per request, paced by the page.
  const liveFrames = new LiveFrames(() => dashcam.live.hub, { now: dashcam.clock.now });
  app.get("/live/frame.jpg", (c) => {
    let query;
    try {
      query = LiveFrames.query(c.req.raw);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      return c.json({ error: `Cannot send a live frame: ${error.message}` }, 400);
    }
    return liveFrames.response(query);
  });
  app.delete("/live/frame.jpg", (c) => {
    liveFrames.leave(c.req.query("viewer") ?? "");
    return c.body(null, 204);
  });

  app.get("/snapshot.jpg", async (c) => {
    const frame = await dashcam.live.snapshot();
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

  // Redacted throughout: the --command line (an RTSP URL's password) also surfaces in the
  // camera's stderr, errors and the record message.
  app.get("/api/status", async (c) =>
    c.json(redactAll({
      record: await dashcam.recordState(),
      ...statusReport(
        dashcam.status(),
        [...dashcam.live.hub.consumers, ...dashcam.mp4.viewers],
        options.startedAt,
      ),
      health: (await options.health?.()) ?? null,
      http: httpReport(options.http?.() ?? null),
    })));

  app.post("/api/recording/start", async (c) => {
    await dashcam.startRecording();
    return c.json(recordingReport(dashcam.status()));
  });

  app.post("/api/recording/stop", async (c) => {
    await dashcam.stopRecording();
    return c.json(recordingReport(dashcam.status()));
  });

  // { now, tz }: the phone's time and its IANA zone (optional; a bad one is refused whole);
  // { tz } alone: the zone, when the recorder's time is right already.
  app.post("/api/clock", async (c) => {
    const body = await c.req.json().catch(() => null);
    const tz = body?.tz;
    try {
      if (tz !== undefined && tz !== null && typeof tz !== "string") {
        throw new RangeError(`Invalid time zone: expected a string, got ${JSON.stringify(tz)}`);
      }
      const now = body?.now === undefined && typeof tz === "string" ? undefined : Number(body?.now);
      return c.json(await dashcam.setClock(now, tz ?? undefined));
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      const hint =
        'send {"now": Date.now(), "tz": Intl.DateTimeFormat().resolvedOptions().timeZone}';
      return c.json({ error: `${error.message}: ${hint}` }, 400);
    }
  });

  app.route(
    "/api/clips",
    clipsRoutes({
      store: dashcam.store,
      currentSeq: () => dashcam.recorder.status().current?.seq ?? null,
      archived: (clip) => dashcam.archived(clip.id, clip.size),
    }),
  );

  app.route(
    "/api/settings",
    settingsRoutes({
      config: () => dashcam.config,
      apply: (changes) => dashcam.applySettings(changes),
      configFile: options.configFile,
    }),
  );

  const webDir = options.webDir ?? WEB_DIR;
  const embedded = options.webDir === undefined ? EMBEDDED_WEB : null;
  for (const [path, [file, type]] of Object.entries(WEB_FILES)) {
    app.get(path, async (c) => {
      const body = embedded?.[file] ?? new Uint8Array(await readFile(join(webDir, file)));
      return c.body(body, 200, { "content-type": type, "cache-control": "no-cache" });
    });
  }
  // The page's modules: every web/js/*.js, so a new one needs no entry here; the name's
  // pattern keeps the request inside web/js/.
  app.get("/js/:name{[a-z0-9_]+\\.js}", async (c) => {
    const file = `js/${c.req.param("name")}`;
    const body = embedded?.[file] ?? await readWebFile(join(webDir, file));
    if (body === null) return c.json({ error: `Not found: GET ${c.req.path}` }, 404);
    return c.body(body, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "no-cache",
    });
  });

  app.notFound((c) => c.json({ error: `Not found: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    // Thrown on purpose (401 from basicAuth): its response is the answer.
    if (error instanceof HTTPException) return error.getResponse();
    console.error(`Request ${c.req.method} ${c.req.path} failed:`, error);
    return c.json({ error: `Internal error: ${error.message}` }, 500);
  });
  return app;
}

/** A file of the page, or null when there is none by that name. */
async function readWebFile(path: string): Promise<Uint8Array<ArrayBuffer> | null> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    if ((error as { code?: unknown })?.code === "ENOENT") return null;
    throw error;
  }
}

/** The `/api/status` document (without health, which is read separately). */
export function statusReport(
  status: DashcamStatus,
  viewers: { kind: string; fps: number; delivered: number; since: number }[],
  startedAt: number,
): StatusReport {
  const { camera, source, preview, storage } = status;
  // Live viewers: MJPEG ("newest" hub consumers) and `/live.mp4`; not the recorder.
  const watching = viewers.filter((viewer) => viewer.kind === "newest" || viewer.kind === "mp4");
  const space = storage.space;
  return {
    camera: {
      source: source.kind,
      description: source.description,
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
    recorder: recordingReport(status),
    preview: preview
      ? {
        state: preview.state,
        keyframes_only: preview.keyframesOnly,
        decoder: preview.decoder,
        decoder_reason: preview.decoderReason,
        width: preview.width,
        height: preview.height,
        fps: preview.fps,
        frames: preview.frames,
        restarts: preview.restarts,
        last_error: preview.lastError,
        stderr: preview.stderr,
      }
      : null,
    storage: {
      ok: storage.ok,
      warning: storage.reason,
      // The numbers the warning speaks of, after this check's deletions: the page shows these.
      total_bytes: space?.totalBytes ?? null,
      free_bytes: space?.freeBytes ?? null,
      used_bytes: space?.usedBytes ?? null,
      floor_bytes: space?.floorBytes ?? null,
      max_bytes: space?.maxBytes ?? null,
      deleted: storage.deleted,
      last_check_at: storage.lastCheckAt,
      last_error: storage.lastError,
    },
    clock: status.clock,
    archive: archiveReport(status.archive),
    gps: gpsReport(status.gps),
    gpio: status.gpio,
    // The microphone: state, device, levelDb (dBFS, so a muted one is noticed), lastError.
    audio: status.audio,
    overlay: source.overlay,
    viewers: {
      count: watching.length,
      clients: watching.map((viewer) => ({
        kind: viewer.kind === "mp4" ? "mp4" : "mjpeg",
        fps: viewer.fps,
        frames: viewer.delivered,
        since: viewer.since,
      })),
    },
    uptime_s: Math.round((Date.now() - startedAt) / 1000),
  };
}

/** The GPS part of the status: the fix and, under `track`, the clip's GPX being written. */
function gpsReport(gps: DashcamStatus["gps"]): GpsReport {
  const { track, ...fix } = gps;
  return {
    ...fix,
    track: {
      file: track.file,
      points: track.points,
      total: track.total,
      dropped: track.dropped,
      last_error: track.lastError,
    },
  };
}

/** The archive's part of the status: null without an archive remote. */
function archiveReport(archive: ArchiveStatus | null): ArchiveReport | null {
  if (!archive) return null;
  const current = archive.current;
  return {
    // Secrets of a connection string masked (pass=***).
    remote: archive.remote,
    folder: archive.folder,
    clips: archive.clips,
    after: archive.after,
    bwlimit: archive.bwlimit,
    state: archive.state,
    reachable: archive.reachable,
    checked_at: archive.checkedAt,
    queue: archive.queue,
    queue_bytes: archive.queueBytes,
    current: current
      ? {
        clip: current.clip,
        phase: current.phase,
        bytes: current.bytes,
        total: current.total,
        rate: current.rate,
      }
      : null,
    last_error: archive.lastError,
    last_error_at: archive.lastErrorAt,
    retry_at: archive.retryAt,
    archived: archive.archived,
    uploaded: archive.uploaded,
    deleted: archive.deleted,
    last_archived: archive.lastArchived,
  };
}

/** The HTTP server's part of the status: null when the app is not served by `listen`. */
function httpReport(status: ListenStatus | null): HttpReport | null {
  if (!status) return null;
  return {
    state: status.state,
    restarts: status.restarts,
    last_error: status.lastError,
    since: status.since,
    retry_at: status.retryAt,
    connections: status.connections,
    max_connections: status.maxConnections,
    evicted: status.evicted,
    refused: status.refused,
    timed_out: status.timedOut,
    accept_errors: status.acceptErrors,
  };
}

function recordingReport(status: DashcamStatus): RecorderReport {
  const recorder: RecorderStatus = status.recorder;
  return {
    recording: status.recording.wanted,
    blocked: status.recording.blocked,
    state: recorder.state,
    frames: recorder.frames,
    dropped: recorder.dropped,
    segments: recorder.segments,
    current: recorder.current,
    last_clip: recorder.lastClip,
    saving: recorder.saving,
    repairing: recorder.repairing,
    fault: recorder.fault,
    restarts: recorder.restarts,
    last_exit: recorder.lastExit,
    last_error: recorder.lastError,
    restart_at: recorder.restartAt,
    stderr: recorder.stderr,
  };
}
