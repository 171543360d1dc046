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
/** A live view that delivers nothing for this long while the camera runs is reconnected. */
const STALL_MS = 5000;
/** Live-view reconnect backoff: first delay and cap. */
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
   */
  constructor(message, status, field = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.field = field;
  }
}

/**
 * Calls the API; resolves with the parsed JSON, rejects with an {@link ApiError} carrying
 * the server's message.
 * @param {string} path relative, e.g. `api/status`
 * @param {{ method?: string, body?: unknown }} [options]
 * @returns {Promise<any>}
 */
async function api(path, options = {}) {
  const method = options.method ?? "GET";
  /** @type {RequestInit} */
  const init = { method, cache: "no-store", credentials: "same-origin" };
  if (method !== "GET") {
    init.headers = { "content-type": "application/json" };
    if (method !== "DELETE") init.body = JSON.stringify(options.body ?? {});
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(`Cannot reach the recorder: ${messageOf(error)}`, 0);
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
    throw new ApiError(message, response.status, data?.field ?? null);
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

const TIME_FORMAT = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const DATE_FORMAT = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  month: "short",
  year: "numeric",
});

/** @param {number} ms since the epoch */
function formatTime(ms) {
  return TIME_FORMAT.format(new Date(ms));
}

/** @param {number} ms since the epoch */
function formatDate(ms) {
  return DATE_FORMAT.format(new Date(ms));
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
};

// ---------------------------------------------------------------------------------------
// Live view

const liveImg = /** @type {HTMLImageElement} */ ($("live-img"));
const liveStill = /** @type {HTMLCanvasElement} */ ($("live-still"));
const player = /** @type {HTMLDialogElement} */ ($("player"));

const live = {
  /** Paused with the button. */
  paused: false,
  /** The img has a stream URL. */
  streaming: false,
  /** The stream delivered its first frame (the img's `load`). */
  gotFrame: false,
  startedAt: 0,
  retryMs: RETRY_FIRST_MS,
  /** Set while a reconnect is due. */
  retryTimer: /** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined),
  /** Since when the server has seen no frames go to any viewer while we stream. */
  stalledSince: 0,
};

/** The stream runs only while someone can see it: it costs the Pi to encode and send. */
function liveWanted() {
  return !document.hidden && !live.paused && !player.open && state.online !== false;
}

/** Starts or stops the stream to match {@link liveWanted}. */
function updateLive() {
  if (liveWanted()) {
    if (!live.streaming && live.retryTimer === undefined) startLive();
  } else {
    stopLive();
  }
  renderLiveNote();
}

function startLive() {
  clearTimeout(live.retryTimer);
  live.retryTimer = undefined;
  live.streaming = true;
  live.gotFrame = false;
  live.startedAt = Date.now();
  live.stalledSince = 0;
  // A fresh URL each time: some browsers reuse a finished multipart image from cache.
  liveImg.src = `stream.mjpg?t=${Date.now()}`;
  renderLiveNote();
}

function stopLive() {
  clearTimeout(live.retryTimer);
  live.retryTimer = undefined;
  if (live.streaming && live.gotFrame) keepStill();
  // Removing the attribute closes the connection in Chromium without an `error` event;
  // detaching the img would not (it keeps loading).
  liveImg.removeAttribute("src");
  live.streaming = false;
  live.gotFrame = false;
}

/**
 * Drops the stream and tries again after a backoff.
 * @param {string} why shown on the picture
 */
function reconnectLive(why) {
  stopLive();
  if (!liveWanted()) return renderLiveNote();
  const delay = live.retryMs;
  live.retryMs = Math.min(live.retryMs * 2, RETRY_MAX_MS);
  live.retryTimer = setTimeout(() => {
    live.retryTimer = undefined;
    if (liveWanted()) startLive();
  }, delay);
  $("live-note").textContent = `${why}. Reconnecting in ${Math.round(delay / 1000)} s…`;
  $("live-note").hidden = false;
}

/** Reconnects now (the server came back, or restarted the camera). */
function restartLive() {
  live.retryMs = RETRY_FIRST_MS;
  stopLive();
  updateLive();
}

/** Keeps the last picture, dimmed, while the stream is off. */
function keepStill() {
  try {
    liveStill.width = liveImg.naturalWidth;
    liveStill.height = liveImg.naturalHeight;
    liveStill.getContext("2d")?.drawImage(liveImg, 0, 0);
    liveStill.hidden = false;
  } catch {
    liveStill.hidden = true;
  }
}

function renderLiveNote() {
  const toggle = $("live-toggle");
  toggle.textContent = live.paused ? "Resume view" : "Pause view";
  toggle.setAttribute("aria-pressed", String(live.paused));
  const note = $("live-note");
  let text = "";
  if (state.online === false) text = "Recorder unreachable";
  else if (player.open) text = "Paused while a clip plays";
  else if (live.paused) text = "Live view paused";
  else if (live.retryTimer !== undefined) return; // reconnectLive() wrote the note
  else if (live.streaming && !live.gotFrame) text = "Connecting…";
  note.textContent = text;
  note.hidden = text === "";
}

liveImg.addEventListener("load", () => {
  // For a multipart stream `load` comes once, with the first frame.
  if (!live.streaming) return;
  live.gotFrame = true;
  live.retryMs = RETRY_FIRST_MS;
  liveStill.hidden = true;
  if (liveImg.naturalWidth && liveImg.naturalHeight) {
    $("viewer").style.aspectRatio = `${liveImg.naturalWidth} / ${liveImg.naturalHeight}`;
  }
  renderLiveNote();
});

liveImg.addEventListener("error", () => {
  if (live.streaming) reconnectLive("No picture");
});

$("live-toggle").addEventListener("click", () => {
  live.paused = !live.paused;
  if (!live.paused) live.retryMs = RETRY_FIRST_MS;
  updateLive();
});

$("snapshot").addEventListener("click", () => {
  // Set just before the browser follows the link: a new URL and file name each time.
  const link = /** @type {HTMLAnchorElement} */ ($("snapshot"));
  const now = new Date(Date.now() + state.skewMs);
  const two = (/** @type {number} */ n) => String(n).padStart(2, "0");
  const stamp = `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}-` +
    `${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  link.href = `snapshot.jpg?t=${Date.now()}`;
  link.download = `snapshot-${stamp}.jpg`;
});

/**
 * Reconnects the live view when the status shows it cannot be working: the server
 * restarted (its uptime went back), or frames reach no viewer while the camera delivers.
 * An ended multipart stream fires no event in Chromium, so the status is what tells.
 * @param {any} status
 * @param {any} previous
 */
function checkLive(status, previous) {
  if (!live.streaming || Date.now() - live.startedAt < STALL_MS) {
    live.stalledSince = 0;
    return;
  }
  if (previous && status.uptime_s < previous.uptime_s) return restartLive();
  const source = status.preview ?? status.camera;
  const delivering = source && source.fps > 0;
  const viewers = status.viewers ?? { count: 0, clients: [] };
  const starved = viewers.count === 0 ||
    (delivering && viewers.clients?.length > 0 &&
      viewers.clients.every((/** @type {any} */ client) => !client.fps));
  if (!starved || (!delivering && viewers.count > 0)) {
    live.stalledSince = 0;
    return;
  }
  live.stalledSince ||= Date.now();
  if (Date.now() - live.stalledSince >= STALL_MS || viewers.count === 0) {
    reconnectLive("The live view stopped");
  }
}

// ---------------------------------------------------------------------------------------
// Status

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
    const status = await api("api/status");
    const receivedAt = Date.now();
    if (status.clock && typeof status.clock.now === "number") {
      const skew = status.clock.now - (sentAt + receivedAt) / 2;
      // Ignore network jitter, so the elapsed time does not flicker.
      if (Math.abs(skew - state.skewMs) > 750) state.skewMs = skew;
    }
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
  $("offline").hidden = online;
  if (!online) {
    announce("Recorder unreachable");
    stopLive();
  } else if (wasOffline) {
    announce("Recorder reachable again");
    restartLive();
    void loadClips();
    if (!state.settings) void loadSettings();
  }
  renderLinkDot();
  updateLive();
}

function renderLinkDot() {
  const dot = $("link-dot");
  const recording = isRecording();
  dot.className = `dot ${
    state.online === false ? "offline" : recording ? "recording" : state.online ? "online" : ""
  }`;
  dot.title = state.online === false ? "Offline" : recording ? "Recording" : "Online";
}

/** @param {any} status */
function handleStatus(status) {
  const previous = state.status;
  state.status = status;
  if (previous) {
    if (previous.recorder?.recording !== status.recorder?.recording) {
      announce(status.recorder.recording ? "Recording started" : "Recording stopped");
    }
    if (previous.camera?.state !== status.camera?.state) {
      announce(`Camera ${status.camera.state}`);
    }
  }
  renderRecording();
  renderFacts();
  renderWarnings();
  renderLinkDot();
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
  ].join("|");
}

/** Whether clips are being written right now (asked for, not blocked, ffmpeg running). */
function isRecording() {
  const recorder = state.status?.recorder;
  return Boolean(recorder?.recording && !recorder.blocked && recorder.state === "running");
}

function renderRecording() {
  const recorder = state.status?.recorder;
  if (!recorder) return;
  const button = /** @type {HTMLButtonElement} */ ($("record"));
  if (!button.dataset.busy) {
    button.disabled = false;
    button.dataset.recording = String(recorder.recording);
    const running = recorder.state === "running";
    $("record-state").textContent = !recorder.recording
      ? "Not recording"
      : recorder.blocked
      ? "Recording paused"
      : running
      ? "Recording"
      : `Recording (${recorder.state})`;
    $("record-action").textContent = !recorder.recording
      ? "Tap to start"
      : recorder.blocked
      ? "Disk full: tap to stop"
      : "Tap to stop";
    button.setAttribute(
      "aria-label",
      recorder.recording ? "Stop recording (recording now)" : "Start recording (stopped now)",
    );
  }
  $("rec-badge").hidden = !isRecording();
  /** @type {HTMLButtonElement} */ ($("lock-now")).disabled = !recorder.recording;
  renderCurrent();
}

/** The current clip and how long it has been recording; ticks every second. */
function renderCurrent() {
  const recorder = state.status?.recorder;
  const element = $("current");
  if (!recorder) return;
  const current = recorder.current;
  if (recorder.recording && current) {
    const seq = `#${String(current.seq).padStart(6, "0")}`;
    const segment = Number(state.settings?.segment);
    const elapsed = current.start ? (Date.now() + state.skewMs - current.start) / 1000 : null;
    element.replaceChildren(
      "Clip ",
      h("strong", {}, [seq]),
      elapsed === null ? " · starting…" : ` · ${formatClock(elapsed)}`,
      // Clips are cut at the next frame after the length, so the count may run a bit over.
      elapsed !== null && segment > 0 && elapsed <= segment ? ` of ${formatClock(segment)}` : "",
    );
  } else if (recorder.last_clip) {
    element.replaceChildren("Last clip: ", h("strong", {}, [recorder.last_clip.file]));
  } else {
    element.textContent = "No clip recorded yet";
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

  const recorderParts = [
    !recorder.recording
      ? "stopped"
      : recorder.blocked
      ? "paused"
      : recorder.state === "running"
      ? "recording"
      : recorder.state,
  ];
  if (recorder.restarts > 0) recorderParts.push(`${recorder.restarts} restarts`);
  fact(
    "recorder",
    recorderParts.join(" · "),
    recorder.recording && !isRecording() ? "bad" : "",
  );

  const dropped = Number(recorder.dropped ?? 0);
  fact("dropped", String(dropped), dropped > 0 ? "warn" : "");

  if (storage && typeof storage.free_bytes === "number") {
    const used = Number(storage.used_bytes ?? 0);
    const free = storage.free_bytes;
    const total = Number(storage.total_bytes ?? 0);
    fact(
      "disk",
      `clips ${formatBytes(used)} · free ${formatBytes(free)}` +
        (total ? ` of ${formatBytes(total)}` : ""),
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
    fact(
      "clock",
      clock.trusted ? "set" : clockAgrees() ? "agrees with phone" : "not set",
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

/** Problems worth attention, highlighted above the facts (re-rendered only on change). */
function renderWarnings() {
  const status = state.status;
  /** @type {[string, "warn" | "bad"][]} */
  const items = [];
  const camera = status.camera ?? {};
  const recorder = status.recorder ?? {};
  if (camera.state && camera.state !== "running") {
    // No countdown here: the list is a live region, and it would be read out every poll.
    const what = camera.state === "backoff" ? "Camera restarting" : `Camera ${camera.state}`;
    items.push([`${what}${camera.last_error ? `: ${camera.last_error}` : ""}`, "bad"]);
  }
  if (recorder.blocked) {
    items.push([`Recording paused: ${recorder.blocked.reason ?? recorder.blocked}`, "bad"]);
  } else if (recorder.recording && recorder.state && recorder.state !== "running") {
    items.push([
      `Recorder ${recorder.state}${recorder.last_error ? `: ${recorder.last_error}` : ""}`,
      "bad",
    ]);
  }
  if (status.storage?.ok === false) {
    items.push([
      status.storage.warning ?? "Storage limits cannot be met: recording stopped",
      "bad",
    ]);
  } else if (status.storage?.warning) {
    items.push([status.storage.warning, "warn"]);
  }
  for (const warning of status.health?.warnings ?? []) items.push([String(warning), "warn"]);
  if (status.clock && !status.clock.trusted && !clockAgrees()) {
    items.push(["The recorder's clock is not set: clip times may be wrong", "warn"]);
  }
  // The same reason may come from two places (a blocked recording and the storage).
  const unique = items.filter(([message], index) =>
    items.findIndex(([other]) => other.endsWith(message) || message.endsWith(other)) === index
  );
  const text = JSON.stringify(unique);
  if (text === warningsText) return;
  warningsText = text;
  $("warnings").replaceChildren(
    ...unique.map(([message, tone]) => h("li", { class: tone }, [message])),
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
    if (state.status) state.status.recorder = { ...state.status.recorder, ...recorder };
    announce(recorder.recording ? "Recording started" : "Recording stopped");
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
    button.disabled = !state.status?.recorder?.recording;
  }
});

// ---------------------------------------------------------------------------------------
// Clips

/** The list request under way, if any; a request asked for meanwhile runs after it. */
let clipsLoading = /** @type {Promise<void> | null} */ (null);
let clipsAgain = false;

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

function renderClips() {
  const list = $("clip-list");
  const shown = state.clips.slice(0, state.shownClips);
  /** @type {Map<string, HTMLElement>} */
  const existing = new Map();
  for (const item of /** @type {HTMLElement[]} */ ([...list.children])) {
    existing.set(item.dataset.id ?? "", item);
  }
  shown.forEach((clip, index) => {
    let item = existing.get(clip.id);
    existing.delete(clip.id);
    if (!item) item = clipItem(clip);
    updateClipItem(item, clip);
    if (list.children[index] !== item) list.insertBefore(item, list.children[index] ?? null);
  });
  for (const item of existing.values()) item.remove();
  const count = state.clips.length;
  const locked = state.clips.filter((clip) => clip.locked).length;
  $("clips-count").textContent = count ? `(${count}${locked ? `, ${locked} locked` : ""})` : "";
  const empty = $("clips-empty");
  empty.hidden = count > 0;
  empty.textContent = "No clips yet.";
  $("clips-more").hidden = count <= shown.length;
  $("clips-more").textContent = `Show more (${count - shown.length} older)`;
  const storage = state.status?.storage;
  if (typeof storage?.free_bytes === "number") fact("retention", retentionText(storage));
}

/**
 * @param {any} clip
 * @returns {HTMLElement}
 */
function clipItem(clip) {
  const id = encodeURIComponent(clip.id);
  // The clip being written is renamed when it closes (a new id, so a new item): its
  // thumbnail is asked for then, not while the file may vanish under the request.
  const thumb = clip.recording ? h("span", { class: "thumb-live" }, ["REC"]) : h("img", {
    src: `api/clips/${id}/thumbnail.jpg`,
    alt: "",
    loading: "lazy",
    decoding: "async",
    width: "112",
    height: "63",
  });
  thumb.addEventListener("error", () => thumb.classList.add("failed"));
  return h("li", { class: "clip", "data-id": clip.id }, [
    h("button", { type: "button", class: "clip-thumb", "data-action": "play" }, [thumb]),
    h("div", { class: "clip-meta" }, [
      h("span", { class: "clip-head" }, [
        h("span", { class: "clip-time" }),
        h("span", { class: "badges" }),
      ]),
      h("span", { class: "clip-date" }),
      h("span", { class: "clip-info" }),
    ]),
    h("div", { class: "clip-actions" }, [
      h("button", { type: "button", class: "button", "data-action": "play" }, ["Play"]),
      h(
        "a",
        { class: "button", href: `api/clips/${id}`, download: "", "data-action": "download" },
        [
          "Download",
        ],
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
  /** @param {string} selector */
  const one = (selector) => /** @type {HTMLElement} */ (item.querySelector(selector));
  const text = (/** @type {string} */ selector, /** @type {string} */ value) => {
    const element = one(selector);
    if (element.textContent !== value) element.textContent = value;
  };
  text(".clip-time", formatTime(clip.start));
  text(".clip-date", formatDate(clip.start));
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
  const playable = !clip.recording;
  for (const button of item.querySelectorAll('[data-action="play"]')) {
    /** @type {HTMLButtonElement} */ (button).disabled = !playable;
  }
  one(".clip-thumb").setAttribute("aria-label", `Play the clip from ${when}`);
  const download = /** @type {HTMLAnchorElement} */ (one('[data-action="download"]'));
  download.setAttribute("aria-label", `Download the clip from ${when}`);
  download.toggleAttribute("aria-disabled", clip.recording);
  if (clip.recording) download.setAttribute("aria-disabled", "true");
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
  if (action === "download") {
    if (clip.recording) event.preventDefault();
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

$("clips-refresh").addEventListener("click", () => void loadClips());
$("clips-more").addEventListener("click", () => {
  state.shownClips += CLIPS_PAGE;
  renderClips();
});

/**
 * Plays a clip in the dialog: H.264 (MP4) in `<video>`, MJPEG as a multipart stream in
 * `<img>` (browsers do not play Motion JPEG in `<video>`).
 * @param {any} clip
 */
function openPlayer(clip) {
  const id = encodeURIComponent(clip.id);
  const h264 = clip.codec === "h264" || (!clip.codec && /\.mp4$/i.test(clip.file));
  const body = $("player-body");
  const when = formatWhen(clip.start);
  $("player-title").textContent = when;
  const download = /** @type {HTMLAnchorElement} */ ($("player-download"));
  download.href = `api/clips/${id}`;
  download.download = clip.file.split("/").pop() ?? "";
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
    : h("img", { id: "player-media", src, alt: `Clip from ${when}` });
  media.addEventListener("error", () => void showPlayerError(media, src), { once: true });
  body.replaceChildren(media);
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
  if (media instanceof HTMLVideoElement) {
    media.pause();
    media.removeAttribute("src");
    media.load(); // aborts the download
  } else if (media instanceof HTMLImageElement) {
    media.removeAttribute("src"); // closes the stream (detaching alone would not)
  }
  $("player-body").replaceChildren();
}

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
 * @param {string | null} field
 * @param {string} message
 */
function showSettingsError(field, message) {
  const element = field ? input(field) : null;
  const slot = field ? document.getElementById(`${field}-error`) : null;
  if (element && slot) {
    slot.textContent = message;
    element.setAttribute("aria-invalid", "true");
    element.focus();
    element.scrollIntoView({ block: "center" });
  } else {
    $("settings-error").textContent = message;
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
    showSettingsError(error instanceof ApiError ? error.field : null, messageOf(error));
  } finally {
    save.disabled = false;
  }
});

// ---------------------------------------------------------------------------------------
// Clock

/**
 * Sets the recorder's clock from the phone's when they differ by more than
 * {@link CLOCK_TOLERANCE_MS}: a Pi in a car has no network time and no RTC battery.
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
  if (Math.abs(offBy) <= CLOCK_TOLERANCE_MS) return;
  try {
    const clock = await api("api/clock", { method: "POST", body: { now: Date.now() } });
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
    live.retryMs = RETRY_FIRST_MS;
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
  if (!document.hidden) renderCurrent();
}, 1000);

updateLive();
void syncClock();
void poll();
void loadSettings();
