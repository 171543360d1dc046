// @ts-check
/// <reference lib="dom" />
/**
 * The clip player dialog: MP4 in `<video>`, MJPEG as a multipart `<img>` with the page's own
 * play/pause, seek bar and clock.
 *
 * @module
 */

import { messageOf } from "./api.js";
import { $, h } from "./dom.js";
import { formatClock, formatWhen } from "./format.js";
import { state } from "./state.js";
import { live, updateLive } from "./live.js";

/**
 * @typedef {import("./state.js").Clip} Clip
 */

export const player = /** @type {HTMLDialogElement} */ ($("player"));

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
  /** @type {Clip | null} the clip playing, as listed */
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
  const clip = clipPlayer.clip;
  if (!media || !clip) return;
  const start = Math.max(0, Math.min(seconds, playerSeekLimit()));
  const id = encodeURIComponent(clip.id);
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
  const clip = clipPlayer.clip;
  if (!media || !clip) return;
  const at = Math.max(0, Math.min(seconds, playerSeekLimit()));
  if (clipPlayer.playing) return playClipFrom(at);
  clipPlayer.offset = Number(at.toFixed(1));
  clipPlayer.ended = false;
  const id = encodeURIComponent(clip.id);
  media.src = `api/clips/${id}/frame.jpg?t=${clipPlayer.offset.toFixed(1)}`;
  renderPlayer();
}

/** Redraws the play button, the seek bar and the position; notices the end of the clip. */
function renderPlayer() {
  if (!clipPlayer.mjpeg || !clipPlayer.clip) return;
  // The clip being recorded closes under a new id: follow it (its stream goes on).
  if (clipPlayer.clip.recording) {
    const { seq } = clipPlayer.clip;
    const closed = state.clips.find((clip) => clip.seq === seq && !clip.recording);
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
 * @param {Clip} clip
 */
export function openPlayer(clip) {
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
