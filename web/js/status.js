// @ts-check
/// <reference lib="dom" />
/**
 * Status: polling `api/status`, online/offline, the fact tiles and the warnings list.
 *
 * @module
 */

import { api, ApiError, messageOf } from "./api.js";
import { $, h, toast } from "./dom.js";
import { formatBytes, formatSpan, parseSize } from "./format.js";
import { state } from "./state.js";
import { checkLive, restartLive, stopLive, updateLive } from "./live.js";
import { recordState, renderRecording, trackProgress } from "./recording.js";
import { loadClips } from "./clips.js";
import { loadSettings } from "./settings.js";
import { clockAgrees } from "./clock.js";
import { renderGps } from "./gps.js";
import { renderGpio } from "./gpio.js";

/**
 * @typedef {import("./state.js").HealthReport} HealthReport
 * @typedef {import("./state.js").StatusDocument} StatusDocument
 * @typedef {import("./state.js").StorageReport} StorageReport
 * @typedef {import("../../src/server/api_documents.ts").ArchiveReport} ArchiveReport
 */

/** How often the status is polled while the page is visible. */
const POLL_MS = 2000;
/** The clip list is refreshed at least this often (the recording clip grows). */
const CLIPS_REFRESH_MS = 15000;

/** A status request that takes longer than this counts as the recorder being unreachable. */
const POLL_TIMEOUT_MS = 5000;

/** @type {ReturnType<typeof setTimeout> | undefined} */
export let pollTimer;
let polling = false;

/** Fetches the status now, then every {@link POLL_MS} while the page is visible. */
export async function poll() {
  clearTimeout(pollTimer);
  if (polling) return;
  polling = true;
  try {
    const sentAt = Date.now();
    const status = /** @type {StatusDocument} */ (
      await api("api/status", { timeoutMs: POLL_TIMEOUT_MS })
    );
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

/** @param {StatusDocument} status */
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
 * @param {StatusDocument} status
 */
function clipsKey(status) {
  const recorder = status.recorder ?? {};
  return [
    recorder.segments,
    recorder.last_clip?.file,
    recorder.current?.seq,
    status.storage?.deleted,
    status.archive?.archived, // the list's "Archived" marks
    status.archive?.deleted,
    status.clock?.tz, // times are shown in this zone
  ].join("|");
}

/**
 * Sets a fact's text and tone.
 * @param {string} name the `data-fact` and `fact-…` id
 * @param {string | Node} content
 * @param {"" | "good" | "warn" | "bad"} [tone]
 */
export function fact(name, content, tone = "") {
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
  if (!status) return;
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
    const heat = temperature ?? 0;
    fact(
      "temperature",
      typeof temperature === "number" ? `${temperature.toFixed(1)} °C` : "n/a",
      heat >= 80 ? "bad" : heat >= 70 ? "warn" : "",
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

  const archiveBox = /** @type {HTMLElement} */ (document.querySelector('[data-fact="archive"]'));
  archiveBox.hidden = !status.archive;
  if (status.archive) {
    const archive = archiveText(status.archive);
    fact("archive", archive.text, archive.tone);
    archiveBox.title = status.archive.last_error ?? "";
  }

  renderGpio(status);

  renderGps(status);

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
      `${
        clock.source === "gps"
          ? "set by GPS"
          : clock.trusted
          ? "set"
          : clockAgrees()
          ? "agrees with phone"
          : "not set"
      }${zone}`,
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
 * The archive in one line: what is being sent and how fast, or why it waits. Away from home
 * the remote not answering is the normal case, so it is no warning; failing while it answers
 * (remote full, refused) is.
 * @param {ArchiveReport} archive
 * @returns {{ text: string, tone: "" | "good" | "warn" | "bad" }}
 */
export function archiveText(archive) {
  const waiting = archive.queue > 0
    ? `${archive.queue} waiting (${formatBytes(archive.queue_bytes)})`
    : "nothing waiting";
  const done = `${archive.archived} archived`;
  const current = archive.current;
  if (current) {
    const percent = current.total ? Math.floor((100 * current.bytes) / current.total) : 0;
    const sending = current.phase === "verifying"
      ? `checking ${current.clip} on the remote`
      : `sending ${current.clip}: ${formatBytes(current.bytes)} of ${
        formatBytes(current.total)
      } (${percent}%) at ${formatBytes(current.rate)}/s`;
    return { text: `${sending} · ${waiting} · ${done}`, tone: "" };
  }
  if (archive.reachable === null) return { text: `looking for ${archive.remote}`, tone: "" };
  const retry = archive.retry_at
    ? ` · next try in ${
      formatSpan(Math.max(0, Math.round((archive.retry_at - Date.now()) / 1000)))
    }`
    : "";
  if (archive.reachable === false) {
    return {
      text: `remote not answering (away from home?) · ${waiting} · ${done}${retry}`,
      tone: "",
    };
  }
  if (archive.last_error && archive.retry_at) {
    return { text: `${archive.last_error} · ${waiting}${retry}`, tone: "warn" };
  }
  return { text: `${waiting} · ${done}`, tone: archive.queue === 0 ? "good" : "" };
}

/**
 * How much footage loop recording keeps, from the limits and the clips' byte rate.
 * @param {StorageReport} storage
 */
export function retentionText(storage) {
  const used = Number(storage.used_bytes ?? 0);
  const free = Number(storage.free_bytes ?? 0);
  const minFree = state.settings?.minFree ?? "";
  const maxStorage = storage.max_bytes ?? parseSize(state.settings?.maxStorage, 0);
  const floor = storage.floor_bytes ?? parseSize(minFree, Number(storage.total_bytes ?? 0)) ?? 0;
  const budget = Math.max(0, Math.min(maxStorage || Infinity, used + free - floor));
  const limits = [];
  if (maxStorage) limits.push(`clips up to ${formatBytes(maxStorage)}`);
  if (minFree) limits.push(`${minFree} kept free`);
  let seconds = 0;
  let bytes = 0;
  for (const clip of state.clips) {
    if (!clip.recording && clip.duration !== null && clip.duration > 0) {
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
 * @param {HealthReport["throttled"]} throttled
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
  const flags = /** @type {Record<string, unknown>} */ (throttled);
  const now = named((key) => flags[key] === true);
  if (now.length) return { text: `${now.join(", ")} now`, tone: "bad" };
  // An `occurred` object, or (as the server sends them) `…_occurred` flags.
  const occurred = flags.occurred;
  const past = occurred && typeof occurred === "object"
    ? named((key) => /** @type {Record<string, unknown>} */ (occurred)[key])
    : named((key) => flags[`${key}_occurred`]);
  if (past.length) return { text: `OK now; ${past.join(", ")} since boot`, tone: "warn" };
  return { text: "OK", tone: "good" };
}

let warningsText = "";

/**
 * Problems worth attention beyond the record state (the banner at the top says that one),
 * highlighted above the facts; re-rendered only on change.
 */
function renderWarnings() {
  const status = state.status;
  if (!status) return;
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
