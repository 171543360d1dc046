// @ts-check
/// <reference lib="dom" />
/**
 * The GPS in the facts (fix, speed, position with a link that opens the phone's maps app), and
 * the links of a clip's start position and track in the clip list. No map tiles: the car is
 * offline, the phone's maps app may have its own.
 *
 * @module
 */

import { h } from "./dom.js";
import { fact } from "./status.js";

/**
 * @typedef {import("../../src/server/api_documents.ts").StatusDocument} StatusDocument
 * @typedef {import("../../src/car/gps_report.ts").GpsReport} GpsReport
 */

/**
 * The GPS tile, from the last status. Hidden when GPS is off, or on "auto" with no gpsd
 * (a car without GPS); shown for a gpsd that was asked for and is not there.
 * @param {StatusDocument} status
 */
export function renderGps(status) {
  const box = /** @type {HTMLElement} */ (document.querySelector('[data-fact="gps"]'));
  const gps = status.gps;
  box.hidden = !gps || gps.state === "off" || (gps.state === "absent" && gps.lat === null);
  if (box.hidden) return;
  const { text, tone } = gpsText(gps);
  const position = gps.lat !== null && gps.lon !== null
    ? mapLinks(gps.lat, gps.lon, gps.fix === "none" ? "last seen " : "")
    : null;
  const key = `${text}|${gps.lat}|${gps.lon}|${gps.fix}`;
  const dd = /** @type {HTMLElement} */ (document.getElementById("fact-gps"));
  if (dd.dataset.key !== key) {
    dd.dataset.key = key;
    fact("gps", h("span", {}, [text, ...(position ? [" · ", position] : [])]), tone);
  }
  box.title = gps.last_error ?? gps.track.last_error ?? "";
}

/**
 * The fix and speed in words: "3D fix, 7 satellites · 43 km/h, heading 90°", or what is
 * missing ("Waiting for a fix (5 satellites seen)").
 * @param {GpsReport} gps
 * @returns {{ text: string, tone: "" | "good" | "warn" | "bad" }}
 */
export function gpsText(gps) {
  if (gps.fix === "none") {
    const tone = gps.state === "disconnected" || gps.devices === 0 ? "warn" : "";
    return { text: gps.message, tone };
  }
  const parts = [gps.message];
  if (gps.speed !== null) {
    const heading = gps.heading !== null && gps.speed >= 1
      ? `, heading ${Math.round(gps.heading)}°`
      : "";
    parts.push(`${Math.round(gps.speed * 3.6)} km/h${heading}`);
  }
  const tone = gps.track.last_error ? "warn" : "good";
  return { text: parts.join(" · "), tone };
}

/**
 * A position as a link that opens the phone's maps app (`geo:` on Android; Apple Maps on an
 * iPhone, which has no `geo:`), with Google Maps beside it for any other browser.
 * @param {number} lat
 * @param {number} lon
 * @param {string} [prefix] words before the coordinates ("last seen ")
 * @returns {HTMLElement}
 */
export function mapLinks(lat, lon, prefix = "") {
  const where = `${lat.toFixed(5)},${lon.toFixed(5)}`;
  const apple = /iPhone|iPad|iPod|Macintosh/.test(navigator.userAgent);
  const app = apple ? `https://maps.apple.com/?q=${where}` : `geo:${where}?q=${where}`;
  return h("span", { class: "gps-position" }, [
    h("a", { href: app, class: "map-link", "data-map": "app" }, [`${prefix}${where}`]),
    " ",
    h("a", {
      href: `https://maps.google.com/?q=${where}`,
      class: "map-link",
      "data-map": "google",
      target: "_blank",
      rel: "noopener",
    }, ["(Google Maps)"]),
  ]);
}
