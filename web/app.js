// @ts-check
/// <reference lib="dom" />
/**
 * The dashcam control page: live view, recording control, status, clips and settings.
 *
 * Plain ES modules with no build step: this entry starts the page and ties it to the page's
 * visibility; the parts are in `js/` (`README.md` says which module owns what). Every URL is
 * relative (`api/status`, not `/api/status`) so the page also works behind a path prefix.
 * State-changing requests are same-origin `fetch` calls with a JSON body, which the server
 * requires (it refuses cross-origin ones).
 *
 * @module
 */
import { renderLiveNote, stopLive, updateLive } from "./js/live.js";
import { poll, pollTimer } from "./js/status.js";
import { renderCurrent } from "./js/recording.js";
import { player } from "./js/player.js";
import { loadSettings } from "./js/settings.js";
import { syncClock } from "./js/clock.js";

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
void syncClock();
void poll();
void loadSettings();
