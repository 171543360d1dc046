// @ts-check
/// <reference lib="dom" />
/**
 * Record state (the one thing the page must never get wrong): the pill, banner and record
 * button, the current clip, and the record and lock-now controls.
 *
 * @module
 */

import { api, messageOf } from "./api.js";
import { $, announce, h, toast } from "./dom.js";
import { formatClock, formatTime } from "./format.js";
import { state } from "./state.js";
import { poll } from "./status.js";
import { loadClips } from "./clips.js";
import { loadSettings } from "./settings.js";

/**
 * @typedef {import("./state.js").LockNowDocument} LockNowDocument
 * @typedef {import("./state.js").RecorderReport} RecorderReport
 * @typedef {import("./state.js").StatusDocument} StatusDocument
 */

/**
 * @typedef {"loading" | "unreachable" | "recording" | "starting" | "paused" | "blocked" |
 *   "camera" | "stalled"} RecordStateName
 * @typedef {{ state: RecordStateName, message: string, since: number | null }} RecordState
 */

/** Since when the recorder's frame count has not moved although the camera delivers. */
const progress = { frames: -1, stuckSince: 0, derived: /** @type {string} */ (""), since: 0 };

/**
 * Notes whether the recorder takes frames, for {@link deriveRecordState}.
 * @param {StatusDocument} status
 * @param {StatusDocument | null} previous
 */
export function trackProgress(status, previous) {
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
export function recordState() {
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
 * @param {StatusDocument} status
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
 * @param {StatusDocument} status
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

export function renderRecording() {
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
  renderSound();
}

/** Below this the microphone is as good as silent: muted, or covered. */
const SILENT_DB = -60;

/**
 * The privacy switch (the `audio` setting) and what the microphone does: its level, so a
 * muted one is noticed, or why it fails (the video records on either way).
 */
export function renderSound() {
  const button = /** @type {HTMLButtonElement} */ ($("sound"));
  const wanted = state.settings?.audio === "on";
  const audio = state.status?.audio;
  button.setAttribute("aria-pressed", String(wanted));
  button.disabled = !state.settings || Boolean(button.dataset.busy);
  button.textContent = wanted ? "Sound on" : "Sound off";
  /** @type {string} */
  let text;
  if (!wanted) {
    text = "Sound is not recorded. Tap to record the microphone into the clips.";
  } else if (!audio || audio.state === "off") {
    text = "Sound is recorded with the clips while recording.";
  } else if (audio.state === "starting") {
    text = `Starting the microphone (${audio.device})…`;
  } else if (audio.state === "failing") {
    text = `Microphone failing: ${audio.lastError ?? "no sound"}. ` +
      "Video records on, with a silent sound track.";
  } else {
    const level = audio.levelDb ?? -100;
    text = `Microphone level ${Math.round(level)} dB` +
      (level < SILENT_DB ? ": silent. Is the microphone muted?" : "");
  }
  const element = $("sound-state");
  if (element.textContent !== text) element.textContent = text;
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
export function renderCurrent() {
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

$("record").addEventListener("click", async () => {
  const button = /** @type {HTMLButtonElement} */ ($("record"));
  const start = !state.status?.recorder?.recording;
  button.dataset.busy = "1";
  button.disabled = true;
  $("record-state").textContent = start ? "Starting…" : "Stopping…";
  $("record-action").textContent = start ? "" : "Closing the clip";
  try {
    const recorder = /** @type {RecorderReport} */ (
      await api(start ? "api/recording/start" : "api/recording/stop", { method: "POST" })
    );
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
    const result = /** @type {LockNowDocument | null} */ (
      await api("api/clips/lock-now", { method: "POST" })
    );
    const clips = Array.isArray(result?.clips) ? result.clips : [];
    const kept = clips.filter((clip) => clip.state !== "missing").length;
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

$("sound").addEventListener("click", async () => {
  const button = /** @type {HTMLButtonElement} */ ($("sound"));
  const audio = state.settings?.audio === "on" ? "off" : "on";
  button.dataset.busy = "1";
  button.disabled = true;
  try {
    // Restarts the recorder: the clip is closed and the next one has (or has not) sound.
    await api("api/settings", { method: "PUT", body: { audio } });
    if (state.settings) state.settings = { ...state.settings, audio };
    toast(audio === "on" ? "Sound is recorded from the next clip" : "Sound is off");
    void loadSettings();
  } catch (error) {
    toast(messageOf(error), { error: true });
  } finally {
    delete button.dataset.busy;
    renderSound();
    void poll();
  }
});
