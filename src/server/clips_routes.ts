import { type Context, Hono } from "@hono/hono";
import { mjpegClipFrame, mjpegClipResponse, parseStartOffset } from "./clip_playback.ts";
import {
  ClipBusyError,
  type ClipInfo,
  ClipLockedError,
  ClipNotFoundError,
  type ClipStore,
  isClipId,
} from "../storage/clip_store.ts";

/** What the clip routes need. */
export interface ClipsRoutesOptions {
  store: ClipStore;
  /** Sequence number of the clip being recorded, or null when not recording. */
  currentSeq: () => number | null;
  /** Whether a clip is verified on the archive remote. Default: none is. */
  archived?: (clip: ClipInfo) => boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  mkv: "video/x-matroska",
  mp4: "video/mp4",
};

/**
 * The clips API, to mount at `/api/clips`:
 *
 * - `GET /` lists clips, newest first: `{ clips: ClipInfo[] }`, each with `archived`
 *   (verified on the archive remote)
 * - `GET /:id` downloads a clip (HTTP Range; `?inline=1` to play it in the browser); the clip
 *   being recorded as far as it is written when asked
 * - `DELETE /:id` deletes it (409 when locked or being recorded)
 * - `POST /:id/lock`, `POST /:id/unlock`
 * - `POST /lock-now` locks the current clip, the one before and the one after (409 when not
 *   recording)
 * - `GET /:id/thumbnail.jpg` its first frame
 * - `GET /:id/track.gpx` its GPS track (404 without one); the clip being recorded's so far
 * - `GET /:id/stream.mjpg?t=SECONDS` plays an MJPEG clip in an `<img>` from `t` (default 0;
 *   400 for anything but 0 up to the clip's duration; 409 for H.264: use `?inline=1`). The
 *   clip being recorded plays from `t` and follows the file as it grows.
 * - `GET /:id/frame.jpg?t=SECONDS` the JPEG at `t` of an MJPEG clip (a paused player's seek)
 *
 * A malformed id is 400 and an unknown one 404; errors are `{ error: "…" }`.
 *
 * @example
 * ```ts
 * import { Hono } from "@hono/hono";
 * import type { ClipStore } from "../storage/clip_store.ts";
 * import type { SegmentRecorder } from "../recorder/segment_recorder.ts";
 * declare const store: ClipStore;
 * declare const recorder: SegmentRecorder;
 *
 * const app = new Hono();
 * const currentSeq = () => recorder.status().current?.seq ?? null;
 * app.route("/api/clips", clipsRoutes({ store, currentSeq }));
 * ```
 */
export function clipsRoutes(options: ClipsRoutesOptions): Hono {
  const { store } = options;
  const app = new Hono();

  const archived = options.archived ?? (() => false);
  app.get("/", async (c) =>
    c.json({
      clips: (await store.list()).map((clip) => ({ ...clip, archived: archived(clip) })),
    }));

  app.post("/lock-now", async (c) => {
    const seq = options.currentSeq();
    if (seq === null) {
      return c.json({ error: "Cannot lock now: not recording, so there is no current clip" }, 409);
    }
    return c.json({ seq, clips: await store.lockEvent(seq) });
  });

  app.get("/:id", (c) => withClip(c, (id) => download(c, store, id)));

  app.delete("/:id", (c) =>
    withClip(c, async (id) => {
      await store.delete(id);
      return c.json({ id, deleted: true });
    }));

  app.post("/:id/lock", (c) => withClip(c, async (id) => c.json({ ...await store.lock(id), id })));

  app.post("/:id/unlock", (c) =>
    withClip(c, async (id) => {
      await store.unlock(id);
      return c.json({ id, locked: false });
    }));

  app.get(
    "/:id/stream.mjpg",
    (c) =>
      withMjpegClip(
        c,
        store,
        (clip, path, start) =>
          Promise.resolve(mjpegClipResponse(path, { start, follow: clip.recording })),
      ),
  );

  app.get("/:id/frame.jpg", (c) =>
    withMjpegClip(c, store, async (clip, path, start) => {
      const jpeg = await mjpegClipFrame(path, start).catch(() => null);
      if (!jpeg) return c.json({ error: `Cannot show ${clip.id} at ${start} s: no frame` }, 404);
      return c.body(jpeg as Uint8Array<ArrayBuffer>, 200, {
        "content-type": "image/jpeg",
        "cache-control": clip.recording ? "no-store" : "private, max-age=86400",
      });
    }));

  app.get("/:id/track.gpx", (c) =>
    withClip(c, async (id) => {
      const { name, text } = await store.readTrack(id);
      return c.body(text, 200, {
        "content-type": "application/gpx+xml; charset=utf-8",
        "content-disposition": `attachment; filename="${name}"`,
        "cache-control": id.includes("_") ? "private, max-age=60" : "no-store",
      });
    }));

  app.get("/:id/thumbnail.jpg", (c) =>
    withClip(c, async (id) => {
      const jpeg = await store.thumbnail(id);
      return c.body(jpeg as Uint8Array<ArrayBuffer>, 200, {
        "content-type": "image/jpeg",
        // A closed clip's id (with its start time) names one file forever; the open one's
        // first frame may not exist yet.
        "cache-control": id.includes("_") ? "private, max-age=86400" : "no-store",
      });
    }));

  return app;
}

/** Checks the id, runs `handler`, and answers the store's errors with their status. */
async function withClip(
  c: Context,
  handler: (id: string) => Promise<Response>,
): Promise<Response> {
  const id = c.req.param("id") ?? "";
  if (!isClipId(id)) {
    return c.json({ error: `Invalid clip id: ${JSON.stringify(id.slice(0, 64))}` }, 400);
  }
  try {
    return await handler(id);
  } catch (error) {
    if (error instanceof ClipNotFoundError) return c.json({ error: error.message }, 404);
    if (error instanceof ClipLockedError || error instanceof ClipBusyError) {
      return c.json({ error: error.message }, 409);
    }
    throw error;
  }
}

/**
 * Runs `handler` for an MJPEG clip with its path and the start offset `?t=` (checked against
 * the listed duration: 400 when out of range), after the checks of {@linkcode withClip}.
 */
function withMjpegClip(
  c: Context,
  store: ClipStore,
  handler: (clip: ClipInfo, path: string, start: number) => Promise<Response>,
): Promise<Response> {
  return withClip(c, async (id) => {
    const path = await store.resolve(id);
    const clip = (await store.list()).find((candidate) => candidate.id === id);
    if (!clip) throw new ClipNotFoundError(id);
    if (!path.endsWith(".mkv")) {
      return c.json({
        error: `Cannot stream ${id} as MJPEG: it is H.264, play it with ?inline=1`,
      }, 409);
    }
    let start;
    try {
      start = parseStartOffset(c.req.query("t"), clip.duration);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      return c.json({ error: error.message, field: "t" }, 400);
    }
    return await handler(clip, path, start);
  });
}

/** Streams a clip from disk, whole or one byte range. */
async function download(c: Context, store: ClipStore, id: string): Promise<Response> {
  const clip = await store.openClip(id);
  const { file, name, size } = clip;
  const extension = name.slice(name.lastIndexOf(".") + 1);
  const headers = new Headers({
    "accept-ranges": "bytes",
    "content-type": CONTENT_TYPES[extension] ?? "application/octet-stream",
    "content-disposition": `${c.req.query("inline") === "1" ? "inline" : "attachment"}; ` +
      `filename="${name}"`,
  });
  if (clip.recording) headers.set("cache-control", "no-store");

  const range = parseRange(c.req.header("range"), size);
  if (range === "unsatisfiable") {
    file.close();
    headers.set("content-range", `bytes */${size}`);
    headers.set("content-type", "application/json");
    headers.delete("content-disposition");
    return new Response(
      JSON.stringify({ error: `Range not satisfiable: ${name} has ${size} bytes` }),
      { status: 416, headers },
    );
  }
  const start = range?.start ?? 0;
  const length = range ? range.end - start + 1 : size;
  headers.set("content-length", String(length));
  if (range) headers.set("content-range", `bytes ${start}-${range.end}/${size}`);
  const status = range ? 206 : 200;
  if (c.req.method === "HEAD" || length === 0) {
    file.close();
    return new Response(null, { status, headers });
  }
  // file.readable() closes the file at its end or when the client goes away (cancel).
  return new Response(file.readable(start).pipeThrough(take(length)), { status, headers });
}

/**
 * The byte range a `Range` header asks for: null for none, a malformed one, or several
 * (served whole, which RFC 9110 allows), "unsatisfiable" for a range past the end.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | "unsatisfiable" | null {
  const match = header?.trim().match(/^bytes\s*=\s*(\d*)\s*-\s*(\d*)$/i);
  if (!match || (match[1] === "" && match[2] === "")) return null;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== "" && Number(match[2]) < start) return null; // invalid: ignore it
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

/** Passes the first `length` bytes through, then ends (cancelling the source). */
function take(length: number): TransformStream<Uint8Array, Uint8Array> {
  let left = length;
  return new TransformStream({
    transform(chunk, controller) {
      if (chunk.length < left) {
        left -= chunk.length;
        controller.enqueue(chunk);
        return;
      }
      controller.enqueue(chunk.subarray(0, left));
      left = 0;
      controller.terminate();
    },
  });
}
