// @ts-check
/// <reference lib="dom" />
/**
 * The dashcam control page: live view, recording control, status, clips and settings.
 *
 * A plain ES module with no build step. Every URL is relative (`api/status`, not
 * `/api/status`) so the page also works behind a path prefix. State-changing requests are
 * same-origin `fetch` calls with a JSON body, which the server requires (it refuses
 * cross-origin ones).
 *
 * @module
 */

/** How often the status is polled while the page is visible. */
const POLL_MS = 2000;
/** The recorder's clock is set from the phone's when it is off by more than this. */
const CLOCK_TOLERANCE_MS = 2000;
/** Live-view retry backoff after a failed request: first delay and cap. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 15000;
/** Clips shown at first and added by "Show more". */
const CLIPS_PAGE = 24;
/** The clip list is refreshed at least this often (the recording clip grows). */
const CLIPS_REFRESH_MS = 15000;

/** The editable settings: the server's list (GET api/settings), so the page never drifts. */
function settingKeys() {
  return Object.keys(state.settings ?? {});
}

/** What the server's `applied` names mean to a person. */
const APPLIED_NAMES = /** @type {Record<string, string>} */ ({
  camera: "the camera",
  recorder: "the recorder",
  preview: "the live view",
  storage: "loop recording",
  retention: "loop recording",
  clock: "the clock's time zone",
});

// ---------------------------------------------------------------------------------------
// Small helpers

/**
 * The element with this id; the page is static, so a missing one is a bug.
 * @param {string} id
 * @returns {HTMLElement}
 */
function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`Missing element: #${id}`);
  return element;
}

/**
 * Creates an element with attributes and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | boolean>} [attributes]
 * @param {(Node | string)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
function h(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false) continue;
    element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children);
  return element;
}

/** An API error: the server's `{ error, field }`, or a network failure (status 0). */
class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status
   * @param {string | null} [field]
   * @param {{ field?: string | null, error: string }[]} [errors] every invalid field
   */
  constructor(message, status, field = null, errors = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.field = field;
    this.errors = errors;
  }
}

/**
 * Calls the API; resolves with the parsed JSON, rejects with an {@link ApiError} carrying
 * the server's message.
 * @param {string} path relative, e.g. `api/status`
 * @param {{ method?: string, body?: unknown, timeoutMs?: number }} [options]
 * @returns {Promise<any>}
 */
async function api(path, options = {}) {
  const method = options.method ?? "GET";
  /** @type {RequestInit} */
  const init = { method, cache: "no-store", credentials: "same-origin" };
  if (options.timeoutMs) init.signal = AbortSignal.timeout(options.timeoutMs);
  if (method !== "GET") {
    init.headers = { "content-type": "application/json" };
    if (method !== "DELETE") init.body = JSON.stringify(options.body ?? {});
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    const reason = error instanceof DOMException && error.name === "TimeoutError"
      ? `no answer in ${Math.round((options.timeoutMs ?? 0) / 1000)} s`
      : messageOf(error);
    throw new ApiError(`Cannot reach the recorder: ${reason}`, 0);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page, say): the status line says enough.
  }
  if (!response.ok) {
    const message = typeof data?.error === "string"
      ? data.error
      : `Request failed: ${method} ${path} answered ${response.status} ${response.statusText}`;
    const errors = Array.isArray(data?.errors)
      ? data.errors.filter((/** @type {any} */ each) => typeof each?.error === "string")
      : [];
    throw new ApiError(message, response.status, data?.field ?? null, errors);
  }
  return data;
}

/** @param {unknown} error */
function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Bytes in powers of 1024, like the server prints them ("21.3 GiB").
 * @param {number} bytes
 */
function formatBytes(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, "");
  return `${bytes < 0 ? "-" : ""}${digits} ${units[unit]}`;
}

/**
 * A duration as the clock shows it: `0:42`, `12:05`, `1:02:03`.
 * @param {number} seconds
 */
function formatClock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const hours = Math.floor(total / 3600);
  const ss = String(s).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * A long duration in words: `3 d 4 h`, `2 h 5 min`, `40 s`.
 * @param {number} seconds
 */
function formatSpan(seconds) {
  const total = Math.max(0, Math.round(seconds));
  const days = Math.floor(total / 86400);
  const hours = Math.floor(total / 3600) % 24;
  const minutes = Math.floor(total / 60) % 60;
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min`;
  return `${total} s`;
}

/** This phone's IANA time zone, sent with its time (see {@link syncClock}). */
const PHONE_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/**
 * The one local zone the page shows times in: the recorder's (its clip names and burned-in
 * clock use it too), which is this phone's unless the recorder's `timezone` setting, another
 * phone or the system says otherwise.
 */
function recorderZone() {
  const tz = state.status?.clock?.tz;
  return typeof tz === "string" && tz !== "" ? tz : PHONE_ZONE;
}

/** @type {Map<string, Intl.DateTimeFormat>} */
const formats = new Map();

/**
 * A formatter in the recorder's zone; times name the zone when it is not this phone's.
 * @param {"time" | "date" | "day" | "stamp"} kind
 */
function zoneFormat(kind) {
  const timeZone = recorderZone();
  const labelled = timeZone !== PHONE_ZONE;
  const key = `${kind} ${timeZone}`;
  let format = formats.get(key);
  if (!format) {
    /** @type {Record<string, Intl.DateTimeFormatOptions>} */
    const options = {
      time: {
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        ...(labelled ? { timeZoneName: "short" } : {}),
      },
      date: { weekday: "short", day: "numeric", month: "short", year: "numeric" },
      day: { year: "numeric", month: "2-digit", day: "2-digit" },
      stamp: {
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hourCycle: "h23",
        timeZoneName: "longOffset",
      },
    };
    format = new Intl.DateTimeFormat(kind === "time" || kind === "date" ? undefined : "en-US", {
      ...options[kind],
      timeZone,
    });
    formats.set(key, format);
  }
  return format;
}

/**
 * A time of day in the recorder's zone, with the zone's name when it is not this phone's
 * ("11:16:27 GMT+9"): every time shown says whose it is.
 * @param {number} ms since the epoch
 */
function formatTime(ms) {
  return zoneFormat("time").format(new Date(ms));
}

/** @param {number} ms since the epoch */
function formatDate(ms) {
  return zoneFormat("date").format(new Date(ms));
}

/**
 * `20261130-111627+0900`: the recorder's local time and UTC offset, as in clip names.
 * @param {number} ms since the epoch
 */
function fileStamp(ms) {
  /** @type {Record<string, string>} */
  const part = {};
  for (const { type, value } of zoneFormat("stamp").formatToParts(new Date(ms))) {
    part[type] = value;
  }
  const offset = /([+-])(\d\d):(\d\d)/.exec(part.timeZoneName ?? "");
  const zone = offset ? `${offset[1]}${offset[2]}${offset[3]}` : "+0000"; // "GMT" alone: UTC
  return `${part.year}${part.month}${part.day}-${part.hour}${part.minute}${part.second}${zone}`;
}

/**
 * Date and time, for messages about a clip.
 * @param {number} ms since the epoch
 */
function formatWhen(ms) {
  return `${formatDate(ms)}, ${formatTime(ms)}`;
}

/**
 * A byte size as the settings take it ("20G", "1.5GiB", "10%" of `total`); null if unknown.
 * @param {string | null | undefined} text
 * @param {number} total
 */
function parseSize(text, total) {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([KMGT]?)(I?B)?\s*$/i.exec(text ?? "");
  if (match) {
    return Number(match[1]) * 1024 ** ["", "K", "M", "G", "T"].indexOf(match[2].toUpperCase());
  }
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text ?? "");
  return percent ? total * Number(percent[1]) / 100 : null;
}

/**
 * "a", "a and b", "a, b and c".
 * @param {string[]} items
 */
function listing(items) {
  return items.length < 2
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let toastTimer;

/**
 * Shows a short message at the bottom of the screen (and to screen readers).
 * @param {string} message
 * @param {{ error?: boolean }} [options]
 */
function toast(message, options = {}) {
  const element = $("toast");
  element.textContent = message;
  element.classList.toggle("error", options.error ?? false);
  element.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => element.hidden = true, options.error ? 8000 : 4000);
}

/** @param {string} message said once by screen readers */
function announce(message) {
  $("announcer").textContent = message;
}

// ---------------------------------------------------------------------------------------
// Page state

const state = {
  /** @type {any} the last `/api/status` */
  status: null,
  /** @type {boolean | null} whether the last status request got an answer */
  online: /** @type {boolean | null} */ (null),
  /** The recorder's clock minus the phone's, in ms. */
  skewMs: 0,
  /** @type {any} the settings as the server has them */
  settings: null,
  /** @type {any[]} newest first */
  clips: [],
  shownClips: CLIPS_PAGE,
  /** Changes when clips were added, closed or removed; see {@link clipsKey}. */
  clipsKey: "",
  clipsLoadedAt: 0,
  /** When the last status answer came, ms since the epoch (phone's clock); 0: never. */
  lastContact: 0,
};

// ---------------------------------------------------------------------------------------
// Live view

const liveView = /** @type {HTMLCanvasElement} */ ($("live-view"));
const liveSelect = /** @type {HTMLSelectElement} */ ($("live-rate"));
const player = /** @type {HTMLDialogElement} */ ($("player"));

/**
 * The page's live view asks for one frame at a time (`live/frame.jpg`) and asks for the next
 * only once it has drawn this one, so what it shows is at most one frame's transfer old on
 * any link. A multipart `<img>` (`stream.mjpg`) is not used here: on a slow link the server's
 * socket buffer fills and the picture shown falls seconds behind; and it holds the page's
 * `load` event until its first frame, forever when the camera cannot start.
 */
const live = {
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
};

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
function updateLive() {
  if (liveWanted()) {
    if (!live.running) void runLive();
  } else if (live.running) {
    stopLive();
  }
  renderLiveNote();
}

function stopLive() {
  if (!live.running) return;
  live.running = false;
  live.abort?.abort();
  live.abort = null;
  // Tell the server at once, so the viewer count and the H.264 decoder follow.
  fetch(`live/frame.jpg?viewer=${live.viewer}`, { method: "DELETE", keepalive: true })
    .catch(() => {});
}

/** Restarts the view now (the server came back, or restarted the camera). */
function restartLive() {
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
  while (!signal.aborted) {
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

function renderLiveNote() {
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
 * @param {any} status
 * @param {any} previous
 */
function checkLive(status, previous) {
  if (previous && status.uptime_s < previous.uptime_s) restartLive();
}

// ---------------------------------------------------------------------------------------
// Status

/** A status request that takes longer than this counts as the recorder being unreachable. */
const POLL_TIMEOUT_MS = 5000;

/** @type {ReturnType<typeof setTimeout> | undefined} */
let pollTimer;
let polling = false;

/** Fetches the status now, then every {@link POLL_MS} while the page is visible. */
async function poll() {
  clearTimeout(pollTimer);
  if (polling) return;
  polling = true;
  try {
    const sentAt = Date.now();
    const status = await api("api/status", { timeoutMs: POLL_TIMEOUT_MS });
    const receivedAt = Date.now();
    if (status.clock && typeof status.clock.now === "number") {
      const skew = status.clock.now - (sentAt + receivedAt) / 2;
      // Ignore network jitter, so the elapsed time does not flicker.
      if (Math.abs(skew - state.skewMs) > 750) state.skewMs = skew;
    }
    state.lastContact = receivedAt;
    setOnline(true);
    handleStatus(status);
  } catch (error) {
    if (error instanceof ApiError && error.status === 0) setOnline(false);
    else toast(`Cannot read the status: ${messageOf(error)}`, { error: true });
  } finally {
    polling = false;
    if (!document.hidden) pollTimer = setTimeout(poll, POLL_MS);
  }
}

/** @param {boolean} online */
function setOnline(online) {
  if (state.online === online) return;
  const wasOffline = state.online === false;
  state.online = online;
  if (!online) {
    stopLive();
  } else if (wasOffline) {
    restartLive();
    void loadClips();
    if (!state.settings) void loadSettings();
  }
  renderRecording();
  updateLive();
}

/** @param {any} status */
function handleStatus(status) {
  const previous = state.status;
  state.status = status;
  trackProgress(status, previous);
  renderRecording();
  renderFacts();
  renderWarnings();
  checkLive(status, previous);
  const key = clipsKey(status);
  if (key !== state.clipsKey || Date.now() - state.clipsLoadedAt > CLIPS_REFRESH_MS) {
    state.clipsKey = key;
    void loadClips();
  }
}

/**
 * What changes when the list of clips does.
 * @param {any} status
 */
function clipsKey(status) {
  const recorder = status.recorder ?? {};
  return [
    recorder.segments,
    recorder.last_clip?.file,
    recorder.current?.seq,
    status.storage?.deleted,
    status.clock?.tz, // times are shown in this zone
  ].join("|");
}

// ---------------------------------------------------------------------------------------
// Record state: the one thing the page must never get wrong.

/**
 * @typedef {"loading" | "unreachable" | "recording" | "starting" | "paused" | "blocked" |
 *   "camera" | "stalled"} RecordStateName
 * @typedef {{ state: RecordStateName, message: string, since: number | null }} RecordState
 */

/** Since when the recorder's frame count has not moved although the camera delivers. */
const progress = { frames: -1, stuckSince: 0, derived: /** @type {string} */ (""), since: 0 };

/**
 * Notes whether the recorder takes frames, for {@link deriveRecordState}.
 * @param {any} status
 * @param {any} previous
 */
function trackProgress(status, previous) {
  const frames = Number(status.recorder?.frames ?? 0);
  const uptimeWentBack = previous && status.uptime_s < previous.uptime_s;
  if (frames !== progress.frames || uptimeWentBack || !(status.camera?.fps > 0)) {
    progress.stuckSince = 0;
  } else {
    progress.stuckSince ||= Date.now();
  }
  progress.frames = frames;
}

/**
 * The recorder's own word (`status.record`), or, from a recorder without it, the same
 * states derived from the parts' status: "recording" only while the camera delivers, the
 * recorder runs a clip and takes frames.
 * @returns {RecordState}
 */
function recordState() {
  if (state.online === false) {
    const when = state.lastContact ? formatTime(state.lastContact) : "never";
    return {
      state: "unreachable",
      message: `Recorder unreachable — last contact ${when}. Retrying…`,
      since: state.lastContact || null,
    };
  }
  const status = state.status;
  if (!status) return { state: "loading", message: "", since: null };
  const record = status.record;
  if (record && typeof record.state === "string") {
    return {
      state: record.state,
      message: typeof record.message === "string" ? record.message : "",
      since: typeof record.since === "number" ? record.since : null,
    };
  }
  const derived = deriveRecordState(status);
  if (derived.state !== progress.derived) {
    progress.derived = derived.state;
    progress.since = Date.now() + state.skewMs;
  }
  return { ...derived, since: progress.since };
}

/**
 * @param {any} status
 * @returns {{ state: RecordStateName, message: string }}
 */
function deriveRecordState(status) {
  const recorder = status.recorder ?? {};
  const camera = status.camera ?? {};
  if (!recorder.recording) {
    return { state: "paused", message: "Recording is paused: tap Start recording to resume" };
  }
  if (recorder.blocked || status.storage?.ok === false) {
    return { state: "blocked", message: storageMessage(status) };
  }
  const now = status.clock?.now ?? Date.now() + state.skewMs;
  const frameAge = camera.last_frame_at ? now - camera.last_frame_at : Infinity;
  if (camera.state !== "running" || frameAge > 3000) {
    const own = lastLine(camera.stderr);
    const failing = camera.state === "backoff" || camera.restarts > 0 || camera.last_error;
    if (!failing) {
      return { state: "starting", message: "Starting: waiting for the camera's first picture" };
    }
    const details = [own, camera.last_error].filter(Boolean);
    return {
      state: "camera",
      message: `Camera failing: ${
        details.length ? details.join(" — ") : "no pictures"
      }. It is restarted by itself`,
    };
  }
  if (recorder.state !== "running" || !recorder.current?.start) {
    if (recorder.state === "backoff" || recorder.last_error) {
      return {
        state: "stalled",
        message: `Recorder restarting${recorder.last_error ? `: ${recorder.last_error}` : ""}`,
      };
    }
    return { state: "starting", message: "Starting the first clip" };
  }
  if (progress.stuckSince && Date.now() - progress.stuckSince > 4000) {
    return {
      state: "stalled",
      message: "Recorder stalled: pictures arrive but the clip does not grow",
    };
  }
  return { state: "recording", message: "" };
}

/**
 * One short sentence with the way out, without numbers (the disk tile has them, from the
 * same status field every time).
 * @param {any} status
 */
function storageMessage(status) {
  const storage = status.storage ?? {};
  const reason = String(storage.warning ?? status.recorder?.blocked?.reason ?? "");
  if (storage.last_error || /cannot|missing|read-only|ENOENT|EROFS/i.test(reason)) {
    return "Card missing or not writable: check the card";
  }
  if (/locked/i.test(reason) && !/free/i.test(reason)) {
    return "Locked clips fill the space for clips: unlock or delete some";
  }
  return "Disk full: delete or unlock clips";
}

/** @param {unknown} lines */
function lastLine(lines) {
  return Array.isArray(lines) && lines.length ? String(lines[lines.length - 1]) : "";
}

/** What each state is called in the sticky pill and on the record button. */
const RECORD_LABELS = /** @type {Record<RecordStateName, [pill: string, big: string]>} */ ({
  loading: ["Loading…", "Loading…"],
  unreachable: ["Offline", "Unknown"],
  recording: ["REC", "Recording"],
  starting: ["Starting…", "Starting…"],
  paused: ["Paused", "Not recording"],
  blocked: ["Not recording", "Not recording"],
  camera: ["Not recording", "Not recording"],
  stalled: ["Not recording", "Not recording"],
});

let lastAnnounced = "";

function renderRecording() {
  const record = recordState();
  const [pillLabel, bigLabel] = RECORD_LABELS[record.state] ?? ["Not recording", "Not recording"];
  const recording = record.state === "recording";
  const recorder = state.status?.recorder;

  const pill = $("rec-pill");
  pill.dataset.state = record.state;
  const elapsed = recording ? clipElapsed() : null;
  $("rec-pill-text").textContent = elapsed === null
    ? pillLabel
    : `${pillLabel} ${formatClock(elapsed)}`;

  const banner = $("rec-banner");
  banner.dataset.state = record.state;
  const since = record.since && !recording && record.state !== "unreachable"
    ? ` (since ${formatTime(record.since - state.skewMs)})`
    : "";
  const bannerText = record.message ? `${record.message}${since}` : "";
  if (banner.textContent !== bannerText) banner.textContent = bannerText;
  banner.hidden = recording || bannerText === "" || record.state === "loading";

  const button = /** @type {HTMLButtonElement} */ ($("record"));
  if (!button.dataset.busy) {
    const wanted = Boolean(recorder?.recording);
    button.dataset.state = record.state;
    button.dataset.wanted = String(wanted);
    button.disabled = record.state === "loading" || record.state === "unreachable";
    $("record-state").textContent = bigLabel;
    $("record-action").textContent = record.state === "unreachable"
      ? `Last contact ${state.lastContact ? formatTime(state.lastContact) : "never"}`
      : record.state === "loading"
      ? ""
      : wanted
      ? recording ? "Tap to stop" : "Tap to pause recording"
      : "Tap to start recording";
  }

  $("rec-badge").hidden = !recording;
  const lockNow = /** @type {HTMLButtonElement} */ ($("lock-now"));
  lockNow.disabled = !recording || Boolean(lockNow.dataset.busy);
  const hint = recording
    ? "Protects this clip and the ones just before and after from loop recording."
    : "Lock now works while recording: nothing is being recorded now.";
  if ($("lock-hint").textContent !== hint) $("lock-hint").textContent = hint;

  const said = `${record.state}|${record.message}`;
  if (said !== lastAnnounced && record.state !== "loading") {
    if (lastAnnounced !== "") announce(`${bigLabel}. ${record.message}`);
    lastAnnounced = said;
  }
  renderCurrent();
}

/**
 * Seconds into the current clip, never past the clip length (clips are cut at the first
 * frame after it; the next status names the new clip); null when there is none.
 */
function clipElapsed() {
  const current = state.status?.recorder?.current;
  if (!current?.start) return null;
  const elapsed = Math.max(0, (Date.now() + state.skewMs - current.start) / 1000);
  const segment = Number(state.settings?.segment);
  return segment > 0 ? Math.min(elapsed, segment) : elapsed;
}

/** The current clip and how long it has been recording; ticks every second. */
function renderCurrent() {
  const recorder = state.status?.recorder;
  const element = $("current");
  if (!recorder) return;
  const current = recorder.current;
  const record = recordState();
  if (record.state === "recording" && current) {
    const seq = `#${String(current.seq).padStart(6, "0")}`;
    const segment = Number(state.settings?.segment);
    const elapsed = clipElapsed();
    element.replaceChildren(
      "Clip ",
      h("strong", {}, [seq]),
      elapsed === null ? "" : ` · ${formatClock(elapsed)}`,
      elapsed !== null && segment > 0 ? ` of ${formatClock(segment)}` : "",
    );
  } else if (recorder.last_clip) {
    element.replaceChildren("Last clip: ", h("strong", {}, [recorder.last_clip.file]));
  } else {
    element.textContent = "No clip recorded yet";
  }
  if (record.state === "recording") {
    const elapsed = clipElapsed();
    $("rec-pill-text").textContent = elapsed === null ? "REC" : `REC ${formatClock(elapsed)}`;
  }
}

/**
 * Sets a fact's text and tone.
 * @param {string} name the `data-fact` and `fact-…` id
 * @param {string | Node} content
 * @param {"" | "good" | "warn" | "bad"} [tone]
 */
function fact(name, content, tone = "") {
  const dd = $(`fact-${name}`);
  if (typeof content === "string") {
    if (dd.textContent !== content) dd.textContent = content;
  } else {
    dd.replaceChildren(content);
  }
  const box = /** @type {HTMLElement} */ (document.querySelector(`[data-fact="${name}"]`));
  box.classList.toggle("good", tone === "good");
  box.classList.toggle("warn", tone === "warn");
  box.classList.toggle("bad", tone === "bad");
}

function renderFacts() {
  const status = state.status;
  const camera = status.camera ?? {};
  const recorder = status.recorder ?? {};
  const health = status.health;
  const storage = status.storage;

  // Short values: two tiles share a row on a phone. "running" goes without saying.
  const cameraParts = [
    camera.state === "running" ? `${Number(camera.fps ?? 0)} fps` : camera.state ?? "unknown",
  ];
  if (camera.restarts > 0) cameraParts.push(`${camera.restarts} restarts`);
  fact("camera", cameraParts.join(" · "), camera.state === "running" ? "" : "bad");

  const record = recordState();
  const recorderParts = [
    record.state === "recording"
      ? "recording"
      : record.state === "paused"
      ? "paused"
      : `not recording (${record.state})`,
  ];
  if (recorder.restarts > 0) recorderParts.push(`${recorder.restarts} restarts`);
  fact(
    "recorder",
    recorderParts.join(" · "),
    record.state === "recording" || record.state === "paused" ? "" : "bad",
  );

  const dropped = Number(recorder.dropped ?? 0);
  fact("dropped", String(dropped), dropped > 0 ? "warn" : "");

  if (storage && typeof storage.free_bytes === "number") {
    const used = Number(storage.used_bytes ?? 0);
    const free = storage.free_bytes;
    const total = Number(storage.total_bytes ?? 0);
    fact(
      "disk",
      // The one place with the storage numbers, from the one status field (the plan).
      `clips ${formatBytes(used)} · free ${formatBytes(free)}` +
        (total ? ` of ${formatBytes(total)}` : "") +
        (storage.floor_bytes ? ` · ${formatBytes(storage.floor_bytes)} kept free` : ""),
      storage.ok === false ? "bad" : storage.warning ? "warn" : "",
    );
    const scale = total || used + free;
    $("disk-clips").style.width = scale ? `${(100 * used) / scale}%` : "0";
    $("disk-other").style.width = total ? `${(100 * (total - free - used)) / total}%` : "0";
    fact("retention", retentionText(storage));
  } else {
    fact("disk", "n/a");
    fact("retention", "n/a");
  }

  if (health) {
    const temperature = health.temperature_c;
    fact(
      "temperature",
      typeof temperature === "number" ? `${temperature.toFixed(1)} °C` : "n/a",
      temperature >= 80 ? "bad" : temperature >= 70 ? "warn" : "",
    );
    const power = powerText(health.throttled);
    fact("power", power.text, power.tone);
    const memory = health.memory;
    const load = Array.isArray(health.load) ? health.load[0] : null;
    const parts = [];
    if (memory?.total_bytes) parts.push(`${formatBytes(memory.available_bytes)} free`);
    if (typeof load === "number") parts.push(`load ${load.toFixed(2)}`);
    fact("system", parts.join(" · ") || "n/a");
  } else {
    fact("temperature", "n/a");
    fact("power", "n/a");
    fact("system", "n/a");
  }

  fact("uptime", formatSpan(Number(status.uptime_s ?? 0)));
  fact("viewers", String(status.viewers?.count ?? 0));

  const clock = status.clock;
  if (clock) {
    const whose = { setting: "set in settings", phone: "a phone's", system: "the system's" };
    const zone = typeof clock.tz === "string"
      ? ` · ${clock.tz} (${whose[/** @type {keyof typeof whose} */ (clock.tz_source)] ?? "?"})`
      : "";
    fact(
      "clock",
      `${clock.trusted ? "set" : clockAgrees() ? "agrees with phone" : "not set"}${zone}`,
      clock.trusted || clockAgrees() ? "" : "warn",
    );
  } else {
    fact("clock", "n/a");
  }

  const errors = [
    ["Camera", camera.last_error],
    ["Recorder", recorder.last_error],
    ["Live view", status.preview?.last_error],
  ].filter(([, message]) => message);
  fact(
    "error",
    errors.length ? errors.map(([who, message]) => `${who}: ${message}`).join("\n") : "None",
    errors.length ? "warn" : "",
  );
}

/**
 * How much footage loop recording keeps, from the limits and the clips' byte rate.
 * @param {any} storage
 */
function retentionText(storage) {
  const used = Number(storage.used_bytes ?? 0);
  const free = Number(storage.free_bytes ?? 0);
  const minFree = storage.min_free ?? state.settings?.minFree ?? "";
  const maxStorage = storage.max_bytes ?? parseSize(state.settings?.maxStorage, 0);
  const floor = storage.floor_bytes ?? parseSize(minFree, Number(storage.total_bytes ?? 0)) ?? 0;
  const budget = Math.max(0, Math.min(maxStorage || Infinity, used + free - floor));
  const limits = [];
  if (maxStorage) limits.push(`clips up to ${formatBytes(maxStorage)}`);
  if (minFree) limits.push(`${minFree} kept free`);
  let seconds = 0;
  let bytes = 0;
  for (const clip of state.clips) {
    if (!clip.recording && clip.duration > 0) {
      seconds += clip.duration;
      bytes += clip.size;
    }
  }
  const amount = seconds > 0 && bytes > 0
    ? `≈ ${formatSpan(budget / (bytes / seconds))} of footage`
    : formatBytes(budget);
  const locked = state.clips.filter((clip) => clip.locked).length;
  return `${amount}${limits.length ? ` (${limits.join(", ")})` : ""}` +
    (locked ? ` · ${locked} locked` : "");
}

/**
 * The Pi's throttling flags in words.
 * @param {any} throttled
 * @returns {{ text: string, tone: "" | "good" | "warn" | "bad" }}
 */
function powerText(throttled) {
  if (!throttled) return { text: "n/a", tone: "" };
  const names = /** @type {Record<string, string>} */ ({
    under_voltage: "under-voltage",
    throttled: "throttled",
    frequency_capped: "frequency capped",
    capped: "frequency capped",
    soft_temp_limit: "soft temperature limit",
  });
  /** @param {(key: string) => unknown} flag */
  const named = (flag) => [...new Set(Object.keys(names).filter(flag).map((key) => names[key]))];
  const now = named((key) => throttled[key] === true);
  if (now.length) return { text: `${now.join(", ")} now`, tone: "bad" };
  const past = throttled.occurred && typeof throttled.occurred === "object"
    ? named((key) => throttled.occurred[key])
    : named((key) => throttled[`${key}_occurred`]);
  if (past.length) return { text: `OK now; ${past.join(", ")} since boot`, tone: "warn" };
  return { text: "OK", tone: "good" };
}

/** Whether the recorder's clock is within the tolerance of the phone's. */
function clockAgrees() {
  return Math.abs(state.skewMs) <= CLOCK_TOLERANCE_MS;
}

let warningsText = "";

/**
 * Problems worth attention beyond the record state (the banner at the top says that one),
 * highlighted above the facts; re-rendered only on change.
 */
function renderWarnings() {
  const status = state.status;
  /** @type {[string, "warn" | "bad"][]} */
  const items = [];
  const record = recordState();
  if (record.state !== "blocked" && status.storage?.warning) {
    items.push([String(status.storage.warning), "warn"]);
  }
  if (status.preview?.last_error && status.preview.state !== "running") {
    items.push([`Live view: ${status.preview.last_error}`, "warn"]);
  }
  for (const warning of status.health?.warnings ?? []) items.push([String(warning), "warn"]);
  if (status.clock && !status.clock.trusted && !clockAgrees()) {
    items.push(["The recorder's clock is not set: clip times may be wrong", "warn"]);
  }
  const text = JSON.stringify(items);
  if (text === warningsText) return;
  warningsText = text;
  $("warnings").replaceChildren(
    ...items.map(([message, tone]) => h("li", { class: tone }, [message])),
  );
}

// ---------------------------------------------------------------------------------------
// Recording controls

$("record").addEventListener("click", async () => {
  const button = /** @type {HTMLButtonElement} */ ($("record"));
  const start = !state.status?.recorder?.recording;
  button.dataset.busy = "1";
  button.disabled = true;
  $("record-state").textContent = start ? "Starting…" : "Stopping…";
  $("record-action").textContent = start ? "" : "Closing the clip";
  try {
    const recorder = await api(start ? "api/recording/start" : "api/recording/stop", {
      method: "POST",
    });
    if (state.status) {
      state.status.recorder = { ...state.status.recorder, ...recorder };
      // The recorder's record state is re-read below, not guessed from the answer.
      if (!start && state.status.record) {
        state.status.record = { state: "paused", message: "", since: Date.now() };
      }
    }
  } catch (error) {
    toast(messageOf(error), { error: true });
  } finally {
    delete button.dataset.busy;
    renderRecording();
    void poll();
  }
});

$("lock-now").addEventListener("click", async () => {
  const button = /** @type {HTMLButtonElement} */ ($("lock-now"));
  button.dataset.busy = "1";
  button.disabled = true;
  try {
    const result = await api("api/clips/lock-now", { method: "POST" });
    const clips = Array.isArray(result?.clips) ? result.clips : [];
    const kept = clips.filter((/** @type {any} */ clip) => clip.state !== "missing").length;
    toast(
      kept === 1
        ? "Locked the clip being recorded: loop recording keeps it"
        : `Locked ${kept || "the"} clips around now: loop recording keeps them`,
    );
    void loadClips();
  } catch (error) {
    toast(messageOf(error), { error: true });
  } finally {
    delete button.dataset.busy;
    renderRecording();
  }
});

// ---------------------------------------------------------------------------------------
// Clips

/** The list request under way, if any; a request asked for meanwhile runs after it. */
let clipsLoading = /** @type {Promise<void> | null} */ (null);
let clipsAgain = false;

/** Clips ticked for a bulk action, by id; kept across refreshes while the clip exists. */
const selected = new Set();
let lockedOnly = false;

/** Reloads the clip list (one request at a time: listing probes files on the Pi). */
function loadClips() {
  if (clipsLoading) {
    clipsAgain = true;
    return clipsLoading;
  }
  clipsLoading = (async () => {
    do {
      clipsAgain = false;
      state.clipsLoadedAt = Date.now();
      try {
        const { clips } = await api("api/clips");
        state.clips = Array.isArray(clips) ? clips : [];
        renderClips();
      } catch (error) {
        if (error instanceof ApiError && error.status === 0) break; // the banner says it
        $("clips-empty").hidden = false;
        $("clips-empty").textContent = `Cannot list clips: ${messageOf(error)}`;
      }
    } while (clipsAgain);
  })().finally(() => clipsLoading = null);
  return clipsLoading;
}

/** The clips the list shows: all, or the locked ones only. */
function visibleClips() {
  return lockedOnly ? state.clips.filter((clip) => clip.locked) : state.clips;
}

/**
 * The day of `ms` in the recorder's zone, so clips group by the dates their names carry.
 * @param {number} ms
 */
function dayKey(ms) {
  return zoneFormat("day").format(new Date(ms));
}

/** The list grouped by day (the date once per group), newest first; items are reused. */
function renderClips() {
  const list = $("clip-list");
  const ids = new Set(state.clips.map((clip) => clip.id));
  for (const id of selected) if (!ids.has(id)) selected.delete(id);
  const clips = visibleClips();
  const shown = clips.slice(0, state.shownClips);
  /** @type {Map<string, HTMLElement>} */
  const items = new Map();
  for (const item of /** @type {NodeListOf<HTMLElement>} */ (list.querySelectorAll("li.clip"))) {
    items.set(item.dataset.id ?? "", item);
  }
  /** @type {Map<string, HTMLElement>} */
  const days = new Map();
  for (const day of /** @type {NodeListOf<HTMLElement>} */ (list.querySelectorAll(".day"))) {
    days.set(day.dataset.day ?? "", day);
  }
  /** @type {HTMLElement[]} */
  const order = [];
  /** @type {Map<string, HTMLElement[]>} */
  const byDay = new Map();
  for (const clip of shown) {
    const key = dayKey(clip.start);
    if (!byDay.has(key)) byDay.set(key, []);
    let item = items.get(clip.id);
    items.delete(clip.id);
    if (!item) item = clipItem(clip);
    updateClipItem(item, clip);
    byDay.get(key)?.push(item);
  }
  for (const [key, dayItems] of byDay) {
    let day = days.get(key);
    days.delete(key);
    const first = shown.find((clip) => dayKey(clip.start) === key);
    if (!day) {
      const headingId = `day-${key}`;
      day = h("section", { class: "day", "data-day": key, "aria-labelledby": headingId }, [
        h("h3", { id: headingId, class: "day-head" }),
        h("ol", { class: "clip-list" }),
      ]);
    }
    const heading = /** @type {HTMLElement} */ (day.querySelector("h3"));
    const title = `${formatDate(first.start)} · ${dayItems.length} ${
      dayItems.length === 1 ? "clip" : "clips"
    }`;
    if (heading.textContent !== title) heading.textContent = title;
    const ol = /** @type {HTMLElement} */ (day.querySelector("ol"));
    dayItems.forEach((item, index) => {
      if (ol.children[index] !== item) ol.insertBefore(item, ol.children[index] ?? null);
    });
    while (ol.children.length > dayItems.length) ol.lastElementChild?.remove();
    order.push(day);
  }
  for (const item of items.values()) item.remove();
  for (const day of days.values()) day.remove();
  order.forEach((day, index) => {
    if (list.children[index] !== day) list.insertBefore(day, list.children[index] ?? null);
  });
  const count = state.clips.length;
  const locked = state.clips.filter((clip) => clip.locked).length;
  $("clips-count").textContent = count ? `(${count}${locked ? `, ${locked} locked` : ""})` : "";
  const empty = $("clips-empty");
  empty.hidden = clips.length > 0;
  empty.textContent = lockedOnly ? "No locked clips." : "No clips yet.";
  $("clips-more").hidden = clips.length <= shown.length;
  $("clips-more").textContent = `Show more (${clips.length - shown.length} older)`;
  const filter = $("clips-locked");
  filter.setAttribute("aria-pressed", String(lockedOnly));
  const selectAll = $("clips-select-all");
  const selectable = shown.filter((clip) => !clip.recording);
  const all = selectable.length > 0 && selectable.every((clip) => selected.has(clip.id));
  selectAll.textContent = all ? "Select none" : lockedOnly ? "Select all locked" : "Select all";
  /** @type {HTMLButtonElement} */ (selectAll).disabled = selectable.length === 0;
  renderBulk();
  const storage = state.status?.storage;
  if (typeof storage?.free_bytes === "number") fact("retention", retentionText(storage));
}

/**
 * @param {any} clip
 * @returns {HTMLElement}
 */
function clipItem(clip) {
  const id = encodeURIComponent(clip.id);
  const when = formatWhen(clip.start);
  // The clip being written is renamed when it closes (a new id, so a new item): its
  // thumbnail is asked for then, not while the file may vanish under the request. Until
  // then it plays as the live view.
  const thumb = clip.recording
    ? h("button", { type: "button", class: "clip-thumb live-thumb", "data-action": "live" }, [
      h("span", { class: "thumb-live" }, ["REC"]),
      h("span", { class: "sr-only" }, [" Watch live: this clip is being recorded"]),
    ])
    : h("button", { type: "button", class: "clip-thumb", "data-action": "play" }, [
      h("img", {
        src: `api/clips/${id}/thumbnail.jpg`,
        alt: `Play the clip from ${when}`,
        loading: "lazy",
        decoding: "async",
        width: "112",
        height: "63",
      }),
    ]);
  thumb.querySelector("img")?.addEventListener("error", (event) => {
    /** @type {HTMLElement} */ (event.target).classList.add("failed");
  });
  const selectId = `select-${clip.id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  return h("li", { class: "clip", "data-id": clip.id }, [
    thumb,
    h("div", { class: "clip-meta" }, [
      h("span", { class: "clip-head" }, [
        h("span", { class: "clip-time" }),
        h("span", { class: "badges" }),
      ]),
      h("span", { class: "clip-info" }),
    ]),
    h("label", { class: "clip-select", for: selectId }, [
      h("input", { id: selectId, type: "checkbox", "data-action": "select" }),
      h("span", { class: "sr-only" }, [`Select the clip from ${when}`]),
    ]),
    h("div", { class: "clip-actions" }, [
      h("button", { type: "button", class: "button clip-play", "data-action": "play" }, [
        "Play",
      ]),
      h(
        "a",
        { class: "button", href: `api/clips/${id}`, download: "", "data-action": "download" },
        ["Download"],
      ),
      h("button", { type: "button", class: "button lock", "data-action": "lock" }),
      h("button", { type: "button", class: "button danger", "data-action": "delete" }, ["Delete"]),
    ]),
  ]);
}

/**
 * @param {HTMLElement} item
 * @param {any} clip
 */
function updateClipItem(item, clip) {
  const when = formatWhen(clip.start);
  item.classList.toggle("locked", clip.locked);
  item.classList.toggle("recording", clip.recording);
  item.classList.toggle("selected", selected.has(clip.id));
  /** @param {string} selector */
  const one = (selector) => /** @type {HTMLElement} */ (item.querySelector(selector));
  const text = (/** @type {string} */ selector, /** @type {string} */ value) => {
    const element = one(selector);
    if (element.textContent !== value) element.textContent = value;
  };
  text(".clip-time", formatTime(clip.start));
  const format = [
    clip.codec ? String(clip.codec).toUpperCase() : null,
    clip.width && clip.height ? `${clip.width}×${clip.height}` : null,
  ].filter(Boolean).join("\u00a0"); // kept on one line
  const info = [
    typeof clip.duration === "number" ? formatClock(Math.round(clip.duration)) : null,
    formatBytes(clip.size),
    format || null,
  ].filter(Boolean).join(" · ");
  text(".clip-info", info);
  const badges = [];
  if (clip.recording) badges.push(["Recording", "recording"]);
  if (clip.locked) badges.push(["Locked", "locked"]);
  const badgeKey = badges.map(([label]) => label).join();
  const badgeBox = one(".badges");
  if (badgeBox.dataset.key !== badgeKey) {
    badgeBox.dataset.key = badgeKey;
    badgeBox.replaceChildren(
      ...badges.map(([label, kind]) => h("span", { class: `badge ${kind}` }, [label])),
    );
  }
  const checkbox = /** @type {HTMLInputElement} */ (one('[data-action="select"]'));
  checkbox.checked = selected.has(clip.id);
  checkbox.disabled = clip.recording;
  const play = /** @type {HTMLButtonElement} */ (one(".clip-play"));
  play.setAttribute(
    "aria-label",
    clip.recording ? "Play the clip being recorded, from its start" : `Play the clip from ${when}`,
  );
  const download = /** @type {HTMLAnchorElement} */ (one('[data-action="download"]'));
  download.setAttribute(
    "aria-label",
    clip.recording
      ? "Download the clip being recorded, as far as it is written"
      : `Download the clip from ${when}`,
  );
  download.download = clip.file.split("/").pop() ?? "";
  const lock = one('[data-action="lock"]');
  text('[data-action="lock"]', clip.locked ? "Unlock" : "Lock");
  lock.setAttribute("aria-label", `${clip.locked ? "Unlock" : "Lock"} the clip from ${when}`);
  const remove = /** @type {HTMLButtonElement} */ (one('[data-action="delete"]'));
  remove.disabled = clip.locked || clip.recording;
  remove.title = clip.locked ? "Unlock it first" : clip.recording ? "Being recorded" : "";
  remove.setAttribute("aria-label", `Delete the clip from ${when}`);
}

$("clip-list").addEventListener("click", async (event) => {
  const target = /** @type {HTMLElement} */ (event.target);
  const control = /** @type {HTMLElement | null} */ (target.closest("[data-action]"));
  const item = /** @type {HTMLElement | null} */ (target.closest("li[data-id]"));
  if (!control || !item) return;
  const clip = state.clips.find((candidate) => candidate.id === item.dataset.id);
  if (!clip) return;
  const action = control.dataset.action;
  if (action === "select") {
    const checkbox = /** @type {HTMLInputElement} */ (control);
    if (checkbox.checked) selected.add(clip.id);
    else selected.delete(clip.id);
    item.classList.toggle("selected", checkbox.checked);
    renderClips();
    return;
  }
  if (action === "download") return; // the link (the recording clip: as written so far)
  if (action === "live") {
    $("live").scrollIntoView({ block: "start" });
    live.paused = false;
    updateLive();
    return;
  }
  if (action === "play") return openPlayer(clip);
  const id = encodeURIComponent(clip.id);
  const when = formatWhen(clip.start);
  try {
    if (action === "lock") {
      await api(`api/clips/${id}/${clip.locked ? "unlock" : "lock"}`, { method: "POST" });
      toast(`${clip.locked ? "Unlocked" : "Locked"} the clip from ${formatTime(clip.start)}`);
    } else if (action === "delete") {
      if (!confirm(`Delete the clip from ${when}? This cannot be undone.`)) return;
      await api(`api/clips/${id}`, { method: "DELETE" });
      toast(`Deleted the clip from ${formatTime(clip.start)}`);
    }
  } catch (error) {
    toast(messageOf(error), { error: true });
  }
  await loadClips();
});

/** The selected clips, newest first. */
function selectedClips() {
  return state.clips.filter((clip) => selected.has(clip.id));
}

function renderBulk() {
  const clips = selectedClips();
  $("bulk").hidden = clips.length === 0;
  const locked = clips.filter((clip) => clip.locked).length;
  $("bulk-count").textContent = `${clips.length} selected${locked ? `, ${locked} locked` : ""}`;
  for (
    const button of /** @type {NodeListOf<HTMLButtonElement>} */ (
      $("bulk").querySelectorAll("[data-bulk]")
    )
  ) {
    const kind = button.dataset.bulk;
    button.disabled = (kind === "lock" && locked === clips.length) ||
      (kind === "unlock" && locked === 0);
  }
}

$("clips-locked").addEventListener("click", () => {
  lockedOnly = !lockedOnly;
  state.shownClips = CLIPS_PAGE;
  renderClips();
});

$("clips-select-all").addEventListener("click", () => {
  const shown = visibleClips().slice(0, state.shownClips).filter((clip) => !clip.recording);
  const all = shown.every((clip) => selected.has(clip.id));
  for (const clip of shown) {
    if (all) selected.delete(clip.id);
    else selected.add(clip.id);
  }
  renderClips();
});

$("bulk").addEventListener("click", async (event) => {
  const button = /** @type {HTMLElement} */ (event.target).closest("[data-bulk]");
  if (!(button instanceof HTMLButtonElement)) return;
  const kind = button.dataset.bulk;
  const clips = selectedClips();
  if (kind === "clear") {
    selected.clear();
    return renderClips();
  }
  if (clips.length === 0) return;
  const count = (/** @type {number} */ n) => `${n} ${n === 1 ? "clip" : "clips"}`;
  if (kind === "download") {
    // One download per clip: a zip would have to be built on the Pi.
    for (const clip of clips) {
      const link = h("a", {
        href: `api/clips/${encodeURIComponent(clip.id)}`,
        download: clip.file.split("/").pop() ?? "",
      });
      document.body.append(link);
      link.click();
      link.remove();
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    toast(`Downloading ${count(clips.length)}`);
    return;
  }
  const locked = clips.filter((clip) => clip.locked);
  if (kind === "delete") {
    const unlockFirst = locked.length ? ` (${locked.length} of them locked: unlocked first)` : "";
    if (!confirm(`Delete ${count(clips.length)}${unlockFirst}? This cannot be undone.`)) return;
  }
  const buttons = /** @type {NodeListOf<HTMLButtonElement>} */ (
    $("bulk").querySelectorAll("[data-bulk]")
  );
  for (const each of buttons) each.disabled = true;
  /** @type {string[]} */
  const failures = [];
  let done = 0;
  for (const clip of clips) {
    const id = encodeURIComponent(clip.id);
    try {
      if (kind === "lock" && !clip.locked) {
        await api(`api/clips/${id}/lock`, { method: "POST" });
      } else if (kind === "unlock" && clip.locked) {
        await api(`api/clips/${id}/unlock`, { method: "POST" });
      } else if (kind === "delete") {
        if (clip.locked) await api(`api/clips/${id}/unlock`, { method: "POST" });
        await api(`api/clips/${id}`, { method: "DELETE" });
        selected.delete(clip.id);
      } else {
        continue;
      }
      done++;
    } catch (error) {
      failures.push(`${formatTime(clip.start)}: ${messageOf(error)}`);
    }
  }
  const verb = { lock: "Locked", unlock: "Unlocked", delete: "Deleted" }[kind ?? ""] ?? kind;
  if (failures.length) {
    toast(`${verb} ${count(done)}; ${failures.length} failed: ${failures[0]}`, { error: true });
  } else {
    toast(`${verb} ${count(done)}`);
  }
  await loadClips();
  void poll(); // storage and the record state may change (a blocked recording resumes)
});

$("clips-refresh").addEventListener("click", () => void loadClips());
$("clips-more").addEventListener("click", () => {
  state.shownClips += CLIPS_PAGE;
  renderClips();
});

/** How often the player's position and seek bar are redrawn while it is open. */
const PLAYER_TICK_MS = 250;
/** A seek is sent once the bar has rested this long (arrow keys fire one per press). */
const SEEK_SETTLE_MS = 250;

/**
 * The MJPEG player's state. A multipart `<img>` has no pause, seek or clock, so the page
 * keeps them: playing is a stream from `offset` (`stream.mjpg?t=`), paced by ffmpeg at the
 * recorded times, and the position is `offset` plus the time since its first picture (the
 * `<img>` fires `load` once, for the first part). mpjpeg parts carry no timestamps, and an
 * `<img>` shows the page no part headers, so this is the best clock there is.
 */
const clipPlayer = {
  /** @type {any} the clip playing, as listed */
  clip: null,
  mjpeg: false,
  playing: false,
  /** Played to the end (the next play starts again at 0). */
  ended: false,
  /** Seconds: where the current stream started, or where it is paused. */
  offset: 0,
  /** `performance.now()` of the current stream's first picture; null until it arrives. */
  /** @type {number | null} */
  startedAt: null,
  /** The current stream's absolute URL, to tell its `load` from a still picture's. */
  streamUrl: "",
  /** `performance.now()` when the player opened, for the growing clip's duration. */
  openedAt: 0,
  /** The user is moving the seek bar: the tick leaves it alone. */
  seeking: false,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  seekTimer: undefined,
  /** @type {ReturnType<typeof setInterval> | undefined} */
  tick: undefined,
};

/** The `<img>` of the MJPEG player, or null when none plays. */
function playerImage() {
  const media = document.getElementById("player-media");
  return media instanceof HTMLImageElement ? media : null;
}

/**
 * Seconds of the clip in the player, or null when unknown (ffprobe could not tell); the clip
 * being recorded grows while it plays.
 */
function knownDuration() {
  const clip = clipPlayer.clip;
  const listed = typeof clip?.duration === "number" && clip.duration > 0 ? clip.duration : null;
  if (!clip?.recording) return listed;
  return (listed ?? 0) + (performance.now() - clipPlayer.openedAt) / 1000;
}

/** Seconds of the clip as far as is known: an unknown length grows with the position. */
function playerDuration() {
  return knownDuration() ?? playerPosition();
}

/** Where the player is, in seconds from the clip's start. */
function playerPosition() {
  const { playing, startedAt, offset } = clipPlayer;
  const at = playing && startedAt !== null
    ? offset + (performance.now() - startedAt) / 1000
    : offset;
  const duration = knownDuration();
  return duration === null ? at : Math.min(at, duration);
}

/**
 * The furthest a seek may go: the end of a closed clip; for the clip being written, a second
 * before what the server has listed (its end is not on disk yet).
 */
function playerSeekLimit() {
  const duration = playerDuration();
  return clipPlayer.clip?.recording ? Math.max(0, duration - 1) : duration;
}

/**
 * Plays the MJPEG clip from `seconds`: a new stream, which ends the previous one.
 * @param {number} seconds
 */
function playClipFrom(seconds) {
  const media = playerImage();
  if (!media) return;
  const start = Math.max(0, Math.min(seconds, playerSeekLimit()));
  const id = encodeURIComponent(clipPlayer.clip.id);
  const src = `api/clips/${id}/stream.mjpg${start > 0 ? `?t=${start.toFixed(1)}` : ""}`;
  Object.assign(clipPlayer, {
    playing: true,
    ended: false,
    offset: Number(start.toFixed(1)),
    startedAt: null,
    streamUrl: new URL(src, location.href).href,
  });
  media.src = src; // the last picture stays until the stream's first one replaces it
  renderPlayer();
}

/** Pauses: the stream ends (ffmpeg on the Pi stops) and its last picture stays. */
function pauseClip() {
  const media = playerImage();
  if (!media || !clipPlayer.playing) return;
  clipPlayer.offset = playerPosition();
  clipPlayer.playing = false;
  clipPlayer.streamUrl = "";
  if (media.naturalWidth > 0) {
    // The picture shown now, kept as a still: changing `src` is what closes the stream.
    const canvas = document.createElement("canvas");
    canvas.width = media.naturalWidth;
    canvas.height = media.naturalHeight;
    canvas.getContext("2d")?.drawImage(media, 0, 0);
    media.src = canvas.toDataURL("image/jpeg", 0.92);
  } else {
    media.removeAttribute("src");
  }
  renderPlayer();
}

function toggleClip() {
  if (clipPlayer.playing) pauseClip();
  else playClipFrom(clipPlayer.ended ? 0 : clipPlayer.offset);
}

/**
 * Moves to `seconds`: playing, the stream restarts there; paused, the picture there is
 * shown (`frame.jpg?t=`, one JPEG) and playing starts from it.
 * @param {number} seconds
 */
function seekClip(seconds) {
  const media = playerImage();
  if (!media) return;
  const at = Math.max(0, Math.min(seconds, playerSeekLimit()));
  if (clipPlayer.playing) return playClipFrom(at);
  clipPlayer.offset = Number(at.toFixed(1));
  clipPlayer.ended = false;
  const id = encodeURIComponent(clipPlayer.clip.id);
  media.src = `api/clips/${id}/frame.jpg?t=${clipPlayer.offset.toFixed(1)}`;
  renderPlayer();
}

/** Redraws the play button, the seek bar and the position; notices the end of the clip. */
function renderPlayer() {
  if (!clipPlayer.mjpeg || !clipPlayer.clip) return;
  // The clip being recorded closes under a new id: follow it (its stream goes on).
  if (clipPlayer.clip.recording) {
    const closed = state.clips.find((clip) => clip.seq === clipPlayer.clip.seq && !clip.recording);
    if (closed && typeof closed.duration === "number") clipPlayer.clip = closed;
  }
  const duration = playerDuration();
  let position = playerPosition();
  if (
    clipPlayer.playing && !clipPlayer.clip.recording && clipPlayer.startedAt !== null &&
    knownDuration() !== null && position >= duration
  ) {
    // Played out: ffmpeg ends the stream by itself and the last picture stays.
    Object.assign(clipPlayer, { playing: false, ended: true, offset: duration, streamUrl: "" });
    position = duration;
  }
  const toggle = $("player-toggle");
  const label = clipPlayer.playing ? "Pause" : clipPlayer.ended ? "Play again" : "Play";
  if (toggle.textContent !== label) toggle.textContent = label;
  const seek = /** @type {HTMLInputElement} */ ($("player-seek"));
  seek.max = String(Math.max(1, Math.floor(duration)));
  const shown = clipPlayer.seeking ? Number(seek.value) : position;
  if (!clipPlayer.seeking) seek.value = String(Math.floor(position));
  const text = `${formatClock(shown)} / ${formatClock(duration)}`;
  seek.setAttribute("aria-valuetext", `${formatClock(shown)} of ${formatClock(duration)}`);
  const output = $("player-position");
  if (output.textContent !== text) output.textContent = text;
  // For tests and styles: loading (the stream's first picture is pending), playing, paused,
  // ended.
  player.dataset.state = clipPlayer.playing
    ? clipPlayer.startedAt === null ? "loading" : "playing"
    : clipPlayer.ended
    ? "ended"
    : "paused";
  player.dataset.position = position.toFixed(1);
}

/**
 * Plays a clip in the dialog: H.264 (MP4) in `<video>` with the browser's own controls,
 * MJPEG as a multipart stream in `<img>` (browsers do not play Motion JPEG in `<video>`)
 * with the page's play/pause and seek bar. The clip being recorded plays too: MJPEG from
 * its start, following the file as it grows; MP4 as far as it is written.
 * @param {any} clip
 */
function openPlayer(clip) {
  const id = encodeURIComponent(clip.id);
  const h264 = clip.codec === "h264" || (!clip.codec && /\.mp4$/i.test(clip.file));
  const body = $("player-body");
  const when = formatWhen(clip.start);
  $("player-title").textContent = clip.recording ? `${when} · recording` : when;
  const download = /** @type {HTMLAnchorElement} */ ($("player-download"));
  download.href = `api/clips/${id}`;
  download.download = clip.file.split("/").pop() ?? "";
  download.textContent = clip.recording ? "Download so far" : "Download";
  $("player-live").hidden = !clip.recording;
  const src = h264 ? `api/clips/${id}?inline=1` : `api/clips/${id}/stream.mjpg`;
  const media = h264
    ? h("video", {
      id: "player-media",
      src,
      controls: true,
      autoplay: true,
      muted: true,
      playsinline: true,
      preload: "auto",
      "aria-label": `Clip from ${when}`,
    })
    : h("img", { id: "player-media", alt: `Clip from ${when}` });
  media.addEventListener("error", () => {
    // A still (pause, seek) cannot fail; a stream's first answer can (400, 404, 409).
    if (h264 || clipPlayer.streamUrl) {
      void showPlayerError(media, h264 ? src : clipPlayer.streamUrl);
    }
  });
  media.addEventListener("load", () => {
    const image = /** @type {HTMLImageElement} */ (media);
    if (clipPlayer.playing && clipPlayer.startedAt === null && image.src === clipPlayer.streamUrl) {
      clipPlayer.startedAt = performance.now();
      renderPlayer();
    }
  });
  body.replaceChildren(media);
  Object.assign(clipPlayer, {
    clip,
    mjpeg: !h264,
    playing: false,
    ended: false,
    offset: 0,
    startedAt: null,
    streamUrl: "",
    openedAt: performance.now(),
    seeking: false,
  });
  $("player-controls").hidden = h264;
  clearInterval(clipPlayer.tick);
  if (!h264) {
    playClipFrom(0);
    clipPlayer.tick = setInterval(renderPlayer, PLAYER_TICK_MS);
  }
  player.showModal();
  updateLive();
}

/**
 * Says why a clip does not play, in the server's words when it gave any.
 * @param {HTMLElement} media
 * @param {string} src
 */
async function showPlayerError(media, src) {
  if (!media.isConnected) return; // closed meanwhile
  let reason = "the recorder did not send it";
  try {
    const response = await fetch(src, { cache: "no-store" });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      reason = body?.error ?? `HTTP ${response.status}`;
    } else {
      await response.body?.cancel();
      reason = "this browser cannot play it";
    }
  } catch (error) {
    reason = messageOf(error);
  }
  if (!media.isConnected) return;
  closePlayerMedia();
  $("player-body").replaceChildren(
    h("p", { class: "player-error", role: "alert" }, [`Cannot play this clip: ${reason}`]),
  );
}

function closePlayerMedia() {
  const media = document.getElementById("player-media");
  clearInterval(clipPlayer.tick);
  clearTimeout(clipPlayer.seekTimer);
  Object.assign(clipPlayer, { clip: null, mjpeg: false, playing: false, streamUrl: "" });
  $("player-controls").hidden = true;
  if (media instanceof HTMLVideoElement) {
    media.pause();
    media.removeAttribute("src");
    media.load(); // aborts the download
  } else if (media instanceof HTMLImageElement) {
    media.removeAttribute("src"); // closes the stream (detaching alone would not)
  }
  $("player-body").replaceChildren();
}

$("player-toggle").addEventListener("click", toggleClip);
const playerSeek = /** @type {HTMLInputElement} */ ($("player-seek"));
// Dragging shows where it would go; the stream restarts once the bar rests, so a drag or a
// held arrow key costs one ffmpeg on the Pi, not one per step.
playerSeek.addEventListener("input", () => {
  clipPlayer.seeking = true;
  renderPlayer();
  clearTimeout(clipPlayer.seekTimer);
  clipPlayer.seekTimer = setTimeout(() => {
    clipPlayer.seeking = false;
    seekClip(Number(playerSeek.value));
  }, SEEK_SETTLE_MS);
});
player.addEventListener("keydown", (event) => {
  // k or Space toggles, as in video players; Space stays a button's own on a button.
  const target = /** @type {HTMLElement} */ (event.target);
  if (!clipPlayer.mjpeg || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "k" || (event.key === " " && !target.closest("button, a"))) {
    event.preventDefault();
    toggleClip();
  }
});
$("player-live").addEventListener("click", () => {
  player.close();
  $("live").scrollIntoView({ block: "start" });
  live.paused = false;
  updateLive();
});
$("player-close").addEventListener("click", () => player.close());
player.addEventListener("close", () => {
  closePlayerMedia();
  updateLive();
});
// A tap on the backdrop closes the dialog.
player.addEventListener("click", (event) => {
  if (event.target === player) player.close();
});

// ---------------------------------------------------------------------------------------
// Settings

const form = /** @type {HTMLFormElement} */ ($("settings-form"));
const preset = /** @type {HTMLSelectElement} */ ($("preset"));

/** @param {string} key */
function input(key) {
  return /** @type {HTMLInputElement | HTMLSelectElement | null} */ (
    form.elements.namedItem(key)
  );
}

async function loadSettings() {
  try {
    const data = await api("api/settings");
    state.settings = data.settings;
    fillForm();
    const pending = data.restartNeeded ?? [];
    $("settings-result").textContent = pending.length
      ? `Waiting to apply: ${pending.join(", ")}`
      : "";
    /** @type {HTMLButtonElement} */ ($("settings-save")).disabled = false;
  } catch (error) {
    if (error instanceof ApiError && error.status === 0) return; // retried when back online
    $("settings-error").textContent = `Cannot load the settings: ${messageOf(error)}`;
    /** @type {HTMLButtonElement} */ ($("settings-save")).disabled = true;
  }
}

function fillForm() {
  for (const key of settingKeys()) {
    const element = input(key);
    if (element) element.value = String(state.settings?.[key] ?? "");
  }
  syncPreset();
  clearErrors();
}

function syncPreset() {
  const size = `${input("width")?.value}x${input("height")?.value}`;
  preset.value = [...preset.options].some((option) => option.value === size) ? size : "custom";
}

preset.addEventListener("change", () => {
  if (preset.value === "custom") return input("width")?.focus();
  const [width, height] = preset.value.split("x");
  /** @type {HTMLInputElement} */ (input("width")).value = width;
  /** @type {HTMLInputElement} */ (input("height")).value = height;
});

/**
 * A field's value as the server takes it: numbers as numbers; anything else (a typo, "6M")
 * as typed, so the server's validation answers with its own message.
 * @param {string} key
 */
function formValue(key) {
  const element = input(key);
  const raw = element?.value.trim() ?? "";
  if (typeof state.settings?.[key] === "string") return raw; // codec, storage sizes
  return raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
}

/** @returns {Record<string, unknown>} the fields that differ from the server's settings */
function changedSettings() {
  /** @type {Record<string, unknown>} */
  const changes = {};
  for (const key of settingKeys()) {
    if (!input(key)) continue;
    const value = formValue(key);
    if (String(value) !== String(state.settings?.[key] ?? "")) changes[key] = value;
  }
  return changes;
}

function clearErrors() {
  for (const key of settingKeys()) {
    input(key)?.removeAttribute("aria-invalid");
    const error = document.getElementById(`${key}-error`);
    if (error) error.textContent = "";
  }
  $("settings-error").textContent = "";
}

/**
 * Shows each error next to its field (or above the buttons when it names none), and moves
 * the focus to the first field in error.
 * @param {{ field?: string | null, error: string }[]} errors
 */
function showSettingsErrors(errors) {
  /** @type {HTMLElement | null} */
  let first = null;
  /** @type {string[]} */
  const general = [];
  for (const { field, error } of errors) {
    const element = field ? input(field) : null;
    const slot = field ? document.getElementById(`${field}-error`) : null;
    if (element && slot) {
      slot.textContent = slot.textContent ? `${slot.textContent} ${error}` : error;
      element.setAttribute("aria-invalid", "true");
      first ??= element;
    } else {
      general.push(error);
    }
  }
  $("settings-error").textContent = general.join(" ");
  const focus = first ?? $("settings-error");
  if (first) {
    first.focus();
    first.scrollIntoView({ block: "center" });
  } else {
    focus.scrollIntoView({ block: "center" });
  }
}

form.addEventListener("input", (event) => {
  const target = /** @type {HTMLElement} */ (event.target);
  if (target.id === "width" || target.id === "height") syncPreset();
  if (target.getAttribute("aria-invalid")) {
    target.removeAttribute("aria-invalid");
    const error = document.getElementById(`${target.id}-error`);
    if (error) error.textContent = "";
  }
  $("settings-result").textContent = "";
});

form.addEventListener("reset", (event) => {
  // The form's defaults are empty; "undo" means back to what the server has.
  event.preventDefault();
  fillForm();
  $("settings-result").textContent = "";
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const result = $("settings-result");
  const changes = changedSettings();
  if (Object.keys(changes).length === 0) {
    result.textContent = "Nothing to save: no setting changed.";
    return;
  }
  const save = /** @type {HTMLButtonElement} */ ($("settings-save"));
  save.disabled = true;
  result.textContent = "Saving…";
  try {
    const answer = await api("api/settings", { method: "PUT", body: changes });
    state.settings = answer.settings ?? { ...state.settings, ...changes };
    fillForm();
    /** @type {string[]} */
    const applied = Array.isArray(answer.applied) ? answer.applied : [];
    const names = [...new Set(applied.map((name) => APPLIED_NAMES[name] ?? name))];
    result.textContent = names.length
      ? `Saved. Restarted ${listing(names)}.`
      : "Saved. Nothing had to restart.";
    if (Array.isArray(answer.restartNeeded) && answer.restartNeeded.length) {
      result.textContent += ` Waiting to apply: ${answer.restartNeeded.join(", ")}.`;
    }
    if (applied.includes("camera") || applied.includes("preview")) {
      // The picture may change size; the stream may have been ended by the restart.
      setTimeout(restartLive, 1000);
    }
    renderCurrent();
    void poll();
  } catch (error) {
    result.textContent = "";
    const errors = error instanceof ApiError && error.errors.length
      ? error.errors
      : [{ field: error instanceof ApiError ? error.field : null, error: messageOf(error) }];
    showSettingsErrors(errors);
  } finally {
    save.disabled = false;
  }
});

// ---------------------------------------------------------------------------------------
// Clock

/**
 * Sets the recorder's clock from the phone's when they differ by more than
 * {@link CLOCK_TOLERANCE_MS}: a Pi in a car has no network time and no RTC battery. The
 * phone's time zone goes with it, or alone when only the zone is new to the recorder: clip
 * names, the burned-in clock and this page then share the phone's local time (unless the
 * recorder's time zone setting names another).
 */
async function syncClock() {
  const sentAt = Date.now();
  let status;
  try {
    status = await api("api/status");
  } catch {
    return; // polling shows the problem
  }
  const receivedAt = Date.now();
  if (!status?.clock || typeof status.clock.now !== "number") return;
  const offBy = status.clock.now - (sentAt + receivedAt) / 2;
  if (Math.abs(offBy) <= CLOCK_TOLERANCE_MS) {
    if (status.clock.phone_tz === PHONE_ZONE || status.clock.tz_source === "setting") return;
    try {
      await api("api/clock", { method: "POST", body: { tz: PHONE_ZONE } });
      void poll();
    } catch (error) {
      toast(`Cannot give the recorder this phone's time zone: ${messageOf(error)}`, {
        error: true,
      });
    }
    return;
  }
  try {
    const clock = await api("api/clock", {
      method: "POST",
      body: { now: Date.now(), tz: PHONE_ZONE },
    });
    state.skewMs = typeof clock?.now === "number" ? 0 : state.skewMs;
    toast(
      `Set the recorder's clock from this phone (it was ${formatSpan(Math.abs(offBy) / 1000)} ${
        offBy > 0 ? "ahead" : "behind"
      })`,
    );
    void poll();
  } catch (error) {
    toast(`Cannot set the recorder's clock: ${messageOf(error)}`, { error: true });
  }
}

// ---------------------------------------------------------------------------------------
// Page lifecycle: nothing streams or polls while nobody looks.

function onVisibility() {
  if (document.hidden) {
    clearTimeout(pollTimer);
    stopLive();
    renderLiveNote();
    // A clip streamed as MJPEG keeps ffmpeg busy on the Pi: close it. A video just pauses.
    const media = document.getElementById("player-media");
    if (media instanceof HTMLVideoElement) media.pause();
    else if (player.open) player.close();
  } else {
    void poll();
    updateLive();
  }
}

document.addEventListener("visibilitychange", onVisibility);
// Frozen or restored from the back/forward cache: the same as hidden and shown.
document.addEventListener("freeze", () => stopLive());
document.addEventListener("resume", onVisibility);
addEventListener("pagehide", () => stopLive());
addEventListener("pageshow", onVisibility);

setInterval(() => {
  if (document.hidden) return;
  renderCurrent();
  renderLiveNote();
}, 1000);

updateLive();
// The time zone field offers the zones this browser knows.
$("timezones").replaceChildren(
  ...(Intl.supportedValuesOf?.("timeZone") ?? []).map((zone) => new Option(zone)),
);
void syncClock();
void poll();
void loadSettings();
