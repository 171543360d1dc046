// @ts-check
/// <reference lib="dom" />
/**
 * The H.264 live view: `live.mp4` (the camera's own stream as fragmented MP4) played in a
 * `<video>` through Media Source Extensions, so the phone's hardware decoder does the work and
 * the Pi decodes nothing. Kept at the live edge: more than {@link MAX_LAG_S} buffered ahead of
 * the picture is skipped, and what was played is let go.
 *
 * @module
 */

/** Seconds the picture may fall behind the newest frame received before it jumps forward. */
const MAX_LAG_S = 0.5;
/** Seconds of played video kept in the buffer. */
const KEEP_S = 3;

/**
 * `MediaSource`, or `ManagedMediaSource` (Safari on iPhone, 17.1 and later, has only this one);
 * undefined where neither exists.
 * @returns {typeof MediaSource | undefined}
 */
export function mediaSourceClass() {
  const scope = /** @type {any} */ (globalThis);
  return scope.ManagedMediaSource ?? scope.MediaSource;
}

/**
 * @typedef {object} Mp4Events
 * @property {(bytes: number, lagS: number) => void} onFragment a fragment was appended
 */

/**
 * Plays `live.mp4` in `video` until the stream ends (resolves "ended"), the codec is not
 * playable here (resolves "unsupported": use the JPEG view), the camera sends MJPEG (resolves
 * "mjpeg"), `signal` aborts (resolves "stopped") or something fails (throws, with the
 * server's own sentence when it gave one).
 *
 * @param {HTMLVideoElement} video
 * @param {AbortSignal} signal
 * @param {Mp4Events} events
 * @returns {Promise<"ended" | "unsupported" | "mjpeg" | "stopped">}
 */
export async function playMp4(video, signal, events) {
  const Source = mediaSourceClass();
  if (!Source) return "unsupported";
  let response;
  try {
    response = await fetch("live.mp4", { cache: "no-store", signal });
  } catch (error) {
    if (signal.aborted) return "stopped";
    throw error;
  }
  if (response.status === 409) {
    await response.body?.cancel();
    return "mjpeg"; // the camera sends MJPEG now
  }
  if (!response.ok || !response.body) {
    const body = await response.json().catch(() => null);
    throw new Error(body?.error ?? `HTTP ${response.status}`);
  }
  const type = response.headers.get("content-type") ?? "";
  if (!Source.isTypeSupported(type)) {
    await response.body.cancel();
    return "unsupported";
  }
  const source = new Source();
  const url = "srcObject" in video && Source !== globalThis.MediaSource
    ? null
    : URL.createObjectURL(source);
  // ManagedMediaSource plays only with remote playback (AirPlay) off, and from srcObject.
  video.disableRemotePlayback = true;
  if (url) video.src = url;
  else video.srcObject = /** @type {any} */ (source);
  const reader = response.body.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  signal.addEventListener("abort", stop, { once: true });
  try {
    await new Promise((resolve) => source.addEventListener("sourceopen", resolve, { once: true }));
    const buffer = source.addSourceBuffer(type);
    /** @type {Uint8Array[]} */
    let pending = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return signal.aborted ? "stopped" : "ended";
      pending.push(value);
      if (buffer.updating) continue; // appended together once the current append is done
      const chunk = pending.length === 1 ? pending[0] : concat(pending);
      pending = [];
      await append(buffer, chunk);
      const lag = keepLive(video, buffer);
      if (video.paused) void video.play().catch(() => {});
      events.onFragment(chunk.length, lag);
    }
  } catch (error) {
    if (signal.aborted) return "stopped";
    throw error;
  } finally {
    signal.removeEventListener("abort", stop);
    stop();
    video.removeAttribute("src");
    video.srcObject = null;
    video.load();
    if (url) URL.revokeObjectURL(url);
  }
}

/**
 * @param {SourceBuffer} buffer
 * @param {Uint8Array} chunk
 */
function append(buffer, chunk) {
  return new Promise((resolve, reject) => {
    const done = () => {
      buffer.removeEventListener("updateend", done);
      buffer.removeEventListener("error", failed);
      resolve(undefined);
    };
    const failed = () => {
      buffer.removeEventListener("updateend", done);
      buffer.removeEventListener("error", failed);
      reject(new Error("The browser could not take the live video"));
    };
    buffer.addEventListener("updateend", done);
    buffer.addEventListener("error", failed);
    buffer.appendBuffer(/** @type {BufferSource} */ (chunk));
  });
}

/**
 * Jumps to the newest picture when the view lags, and lets go of what was played.
 * @param {HTMLVideoElement} video
 * @param {SourceBuffer} buffer
 * @returns {number} seconds buffered ahead of the picture
 */
function keepLive(video, buffer) {
  const ranges = buffer.buffered;
  if (ranges.length === 0) return 0;
  const start = ranges.start(ranges.length - 1);
  const end = ranges.end(ranges.length - 1);
  if (end - video.currentTime > MAX_LAG_S || video.currentTime < start) {
    video.currentTime = Math.max(start, end - 0.1);
  }
  if (!buffer.updating && video.currentTime - ranges.start(0) > 2 * KEEP_S) {
    buffer.remove(0, video.currentTime - KEEP_S);
  }
  return Math.max(0, end - video.currentTime);
}

/** @param {Uint8Array[]} parts */
function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
