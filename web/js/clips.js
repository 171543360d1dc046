// @ts-check
/// <reference lib="dom" />
/**
 * Clips: the list grouped by day, selection and bulk actions, lock, delete, download.
 *
 * @module
 */

import { api, ApiError, messageOf } from "./api.js";
import { $, h, toast } from "./dom.js";
import {
  formatBytes,
  formatClock,
  formatDate,
  formatTime,
  formatWhen,
  zoneFormat,
} from "./format.js";
import { CLIPS_PAGE, state } from "./state.js";
import { live, updateLive } from "./live.js";
import { fact, poll, retentionText } from "./status.js";
import { openPlayer } from "./player.js";
import { mapLinks } from "./gps.js";

/**
 * @typedef {import("./state.js").Clip} Clip
 * @typedef {import("./state.js").ClipsDocument} ClipsDocument
 */

/** The list request under way, if any; a request asked for meanwhile runs after it. */
let clipsLoading = /** @type {Promise<void> | null} */ (null);
let clipsAgain = false;

/** Clips ticked for a bulk action, by id; kept across refreshes while the clip exists. */
const selected = new Set();
let lockedOnly = false;

/** Reloads the clip list (one request at a time: listing probes files on the Pi). */
export function loadClips() {
  if (clipsLoading) {
    clipsAgain = true;
    return clipsLoading;
  }
  clipsLoading = (async () => {
    do {
      clipsAgain = false;
      state.clipsLoadedAt = Date.now();
      try {
        const { clips } = /** @type {ClipsDocument} */ (await api("api/clips"));
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
    const title = `${formatDate(/** @type {Clip} */ (first).start)} · ${dayItems.length} ${
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
 * @param {Clip} clip
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
      h("span", { class: "clip-place", hidden: true }),
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
      // Its GPS track: no data-action, the click handler leaves the link alone.
      h("a", { class: "button clip-track", href: `api/clips/${id}/track.gpx`, download: "" }, [
        "GPX",
      ]),
      h("button", { type: "button", class: "button lock", "data-action": "lock" }),
      h("button", { type: "button", class: "button danger", "data-action": "delete" }, ["Delete"]),
    ]),
  ]);
}

/**
 * @param {HTMLElement} item
 * @param {Clip} clip
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
  if (clip.archived) badges.push(["Archived", "archived"]);
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
  renderPlace(one(".clip-place"), /** @type {HTMLAnchorElement} */ (one(".clip-track")), clip);
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

/**
 * Where the clip started (a link to the maps app) and its track's link, for a clip with a track.
 * @param {HTMLElement} place
 * @param {HTMLAnchorElement} track
 * @param {Clip} clip
 */
function renderPlace(place, track, clip) {
  track.hidden = !clip.track;
  track.download = clip.track?.split("/").pop() ?? "";
  track.setAttribute(
    "aria-label",
    `Download the GPS track of the clip from ${formatWhen(clip.start)}`,
  );
  const start = clip.startPosition;
  const key = start ? `${start.lat},${start.lon}` : "";
  if (place.dataset.key === key) return;
  place.dataset.key = key;
  place.hidden = !start;
  place.replaceChildren(...(start ? ["Started at ", mapLinks(start.lat, start.lon)] : []));
}
