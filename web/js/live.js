// @ts-check
/// <reference lib="dom" />
/**
 * Live view: the frame-by-frame fetch loop (`live/frame.jpg`) drawn on a canvas, its note and
 * rate, the snapshot link.
 *
 * @module
 */

import { messageOf } from "./api.js";
import { $ } from "./dom.js";
import { fileStamp, formatBytes, formatTime } from "./format.js";
import { state } from "./state.js";
import { player } from "./player.js";
import { mediaSourceClass, playMp4 } from "./live_mp4.js";

/**
 * @typedef {import("./state.js").StatusDocument} StatusDocument
 */

/** Live-view retry backoff after a failed request: first delay and cap. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 15000;

const liveView = /** @type {HTMLCanvasElement} */ ($("live-view"));
const liveSelect = /** @type {HTMLSelectElement} */ ($("live-rate"));

/**
 * The page's live view asks for one frame at a time (`live/frame.jpg`) and asks for the next
 * only once it has drawn this one, so what it shows is at most one frame's transfer old on
 * any link. A multipart `<img>` (`stream.mjpg`) is not used here: on a slow link the server's
 * socket buffer fills and the picture shown falls seconds behind; and it holds the page's
 * `load` event until its first frame, forever when the camera cannot start.
 */
export const live = {
  /** Paused with the button. */
  paused: false,
  /** The fetch loop runs. */
  running: false,
  /** Aborts the request under way when the view stops. */
  abort: /** @type {AbortController | null} */ (null),
  /** This page's id on the server: its frames come from one subscription. */
  viewer: Math.random().toString(36).slice(2, 12),
  /** The last frame drawn: its number and capture time (recorder's clock), when drawn. */
  seq: /** @type {number | null} */ (null),
  frameTime: 0,
  shownAt: 0,
  /** What went wrong with the last request, shown on the picture. */
  problem: "",
  /** Frames and bytes of the last few seconds, for the rate shown under the picture. */
  recent: /** @type {[at: number, bytes: number][]} */ ([]),
  /** This browser cannot play the camera's H.264 through MSE: JPEG frames only. */
  mp4Unsupported: false,
};

/** The H.264 view (`live.mp4` through MSE), made when first needed, in the canvas's place. */
let liveVideo = /** @type {HTMLVideoElement | null} */ (null);

function videoElement() {
  if (liveVideo) return liveVideo;
  const video = document.createElement("video");
  video.id = "live-video";
  video.className = "live-view";
  video.muted = true;
  video.playsInline = true;
  video.autoplay = true;
  video.setAttribute("aria-label", liveView.getAttribute("aria-label") ?? "Live view");
  video.hidden = true;
  video.addEventListener("loadedmetadata", () => {
    $("viewer").style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
  });
  liveView.after(video);
  liveVideo = video;
  return video;
}

/** @param {boolean} on the `<video>` shows instead of the canvas */
function showVideo(on) {
  liveView.hidden = on;
  if (liveVideo) liveVideo.hidden = !on;
}

/**
 * In H.264 mode a browser with Media Source Extensions plays the camera's own stream: full
 * size and rate, and nothing decoded on the Pi. Elsewhere (MJPEG mode, no MSE, a codec the
 * browser lacks) the JPEG frames.
 */
function mp4Wanted() {
  return !live.mp4Unsupported && mediaSourceClass() !== undefined &&
    state.status?.camera?.codec === "h264";
}

/** How old a picture may get before it is dimmed and said to be old. */
const LIVE_STALE_MS = 2500;
const LIVE_RATE_KEY = "videorecorder.liveRate";

/** @returns {number} frames per second asked for; 0: no limit */
function liveRate() {
  return Number(liveSelect.value) || 0;
}

try {
  const saved = localStorage.getItem(LIVE_RATE_KEY);
  if (saved !== null && [...liveSelect.options].some((option) => option.value === saved)) {
    liveSelect.value = saved;
  }
} catch {
  // Storage refused (private mode): the default rate.
}

liveSelect.addEventListener("change", () => {
  try {
    localStorage.setItem(LIVE_RATE_KEY, liveSelect.value);
  } catch {
    // Not kept across visits; it still applies now.
  }
});

/** The view runs only while someone can see it: it costs the Pi to encode and send. */
function liveWanted() {
  return !document.hidden && !live.paused && !player.open && state.online !== false;
}

/** Starts or stops the view to match {@link liveWanted}. */
export function updateLive() {
  if (liveWanted()) {
    if (!live.running) void runLive();
  } else if (live.running) {
    stopLive();
  }
  renderLiveNote();
}

export function stopLive() {
  if (!live.running) return;
  live.running = false;
  live.abort?.abort();
  live.abort = null;
  // Tell the server at once, so the viewer count and the H.264 decoder follow.
  fetch(`live/frame.jpg?viewer=${live.viewer}`, { method: "DELETE", keepalive: true })
    .catch(() => {});
}

/** Restarts the view now (the server came back, or restarted the camera). */
export function restartLive() {
  stopLive();
  updateLive();
}

/** @param {number} ms @param {AbortSignal} signal */
function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve(undefined);
    }, { once: true });
  });
}

/** Fetches, decodes and draws frames one after the other while the view is wanted. */
async function runLive() {
  live.running = true;
  const abort = new AbortController();
  live.abort = abort;
  const { signal } = abort;
  let retryMs = RETRY_FIRST_MS;
  // Until the first status says which codec the camera sends, wait a little for it.
  for (let i = 0; i < 20 && !state.status && mediaSourceClass() && !signal.aborted; i++) {
    await pause(100, signal);
  }
  while (!signal.aborted) {
    if (mp4Wanted()) {
      try {
        const result = await playMp4(videoElement(), signal, {
          onFragment(bytes, lagS) {
            showVideo(true);
            live.shownAt = Date.now();
            live.frameTime = live.shownAt + state.skewMs - lagS * 1000;
            live.recent.push([live.shownAt, bytes]);
            live.problem = "";
            retryMs = RETRY_FIRST_MS;
            renderLiveNote();
          },
        });
        if (result === "unsupported") live.mp4Unsupported = true;
        // "ended": the server closed it (the camera restarted); "mjpeg": the mode changed.
        if (result === "ended") await pause(250, signal);
      } catch (error) {
        if (signal.aborted) break;
        live.problem = `No picture: ${messageOf(error)}`;
        renderLiveNote();
        await pause(retryMs, signal);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      }
      continue;
    }
    showVideo(false);
    const params = new URLSearchParams({ viewer: live.viewer, fps: String(liveRate()) });
    if (live.seq !== null) params.set("after", String(live.seq));
    try {
      const response = await fetch(`live/frame.jpg?${params}`, { cache: "no-store", signal });
      if (response.status === 503) {
        // The server waited a few seconds for a frame: the camera delivers none.
        await response.body?.cancel();
        live.problem = "No new picture from the camera";
        renderLiveNote();
        continue;
      }
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        throw new Error(body?.error ?? `HTTP ${response.status}`);
      }
      const blob = await response.blob();
      await drawFrame(blob);
      live.seq = Number(response.headers.get("x-frame-seq"));
      live.frameTime = Number(response.headers.get("x-frame-time"));
      live.shownAt = Date.now();
      liveView.dataset.frameSeq = String(live.seq);
      liveView.dataset.frameTime = String(live.frameTime);
      live.recent.push([live.shownAt, blob.size]);
      live.problem = "";
      retryMs = RETRY_FIRST_MS;
      renderLiveNote();
    } catch (error) {
      if (signal.aborted) break;
      live.problem = `No picture: ${messageOf(error)}`;
      renderLiveNote();
      await pause(retryMs, signal);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    }
  }
}

/**
 * Decodes a JPEG off the main thread where the browser can, then draws it.
 * @param {Blob} blob
 */
async function drawFrame(blob) {
  /** @type {ImageBitmap | HTMLImageElement} */
  let picture;
  if (typeof createImageBitmap === "function") {
    picture = await createImageBitmap(blob);
  } else {
    const url = URL.createObjectURL(blob);
    try {
      picture = new Image();
      picture.src = url;
      await picture.decode();
    } finally {
      URL.revokeObjectURL(url);
    }
  }
  const width = picture.width;
  const height = picture.height;
  if (liveView.width !== width || liveView.height !== height) {
    liveView.width = width;
    liveView.height = height;
    $("viewer").style.aspectRatio = `${width} / ${height}`;
  }
  liveView.getContext("2d")?.drawImage(picture, 0, 0);
  if ("close" in picture) picture.close();
}

export function renderLiveNote() {
  const toggle = $("live-toggle");
  toggle.textContent = live.paused ? "Resume view" : "Pause view";
  toggle.setAttribute("aria-pressed", String(live.paused));
  const now = Date.now();
  const stale = live.shownAt > 0 && now - live.shownAt > LIVE_STALE_MS;
  let text = "";
  if (state.online === false) text = "Recorder unreachable";
  else if (player.open) text = "Paused while a clip plays";
  else if (live.paused) text = "Live view paused";
  else if (live.problem && (stale || !live.shownAt)) {
    text = live.shownAt ? `${live.problem} since ${formatTime(live.shownAt)}` : live.problem;
  } else if (!live.shownAt) text = "Connecting…";
  else if (stale) text = `Picture from ${formatTime(live.shownAt)}`;
  const note = $("live-note");
  if (note.textContent !== text) note.textContent = text;
  note.hidden = text === "";
  liveView.classList.toggle("old", text !== "" && live.shownAt > 0);
  liveVideo?.classList.toggle("old", text !== "" && live.shownAt > 0);
  // Rate and data of the last 5 s, so the cost of the view on a phone plan is plain.
  live.recent = live.recent.filter(([at]) => now - at <= 5000);
  let info = "";
  const span = live.recent.length > 1
    ? (live.recent[live.recent.length - 1][0] -
      live.recent[0][0]) / 1000
    : 0;
  if (live.running && span >= 1 && !stale) {
    // Frames after the first, over the time from the first to the last.
    const bytes = live.recent.slice(1).reduce((sum, [, size]) => sum + size, 0);
    const age = Math.max(0, now + state.skewMs - live.frameTime) / 1000;
    info = `${((live.recent.length - 1) / span).toFixed(1)} fps · ${
      formatBytes((bytes / span) * 60)
    }/min · ${age.toFixed(1)} s behind`;
  }
  const infoElement = $("live-info");
  if (infoElement.textContent !== info) infoElement.textContent = info;
}

$("live-toggle").addEventListener("click", () => {
  live.paused = !live.paused;
  updateLive();
});

$("snapshot").addEventListener("click", () => {
  // Set just before the browser follows the link: a new URL and file name each time.
  const link = /** @type {HTMLAnchorElement} */ ($("snapshot"));
  // The recorder's time and zone, with its offset, like the clip names.
  link.href = `snapshot.jpg?t=${Date.now()}`;
  link.download = `snapshot-${fileStamp(Date.now() + state.skewMs)}.jpg`;
});

/**
 * Restarts the live view when the server restarted (its uptime went back): the old
 * subscription is gone with it.
 * @param {StatusDocument} status
 * @param {StatusDocument | null} previous
 */
export function checkLive(status, previous) {
  if (previous && status.uptime_s < previous.uptime_s) restartLive();
}
