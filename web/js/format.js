// @ts-check
/// <reference lib="dom" />
/**
 * Formatting for people: bytes, durations, times and dates in the recorder's zone, lists.
 *
 * @module
 */

import { state } from "./state.js";

// The server's formatter: sizes read the same on the page as in its messages.
export { formatBytes } from "./bytes.js";

/**
 * A duration as the clock shows it: `0:42`, `12:05`, `1:02:03`.
 * @param {number} seconds
 */
export function formatClock(seconds) {
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
export function formatSpan(seconds) {
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
export const PHONE_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

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
export function zoneFormat(kind) {
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
export function formatTime(ms) {
  return zoneFormat("time").format(new Date(ms));
}

/** @param {number} ms since the epoch */
export function formatDate(ms) {
  return zoneFormat("date").format(new Date(ms));
}

/**
 * `20261130-111627+0900`: the recorder's local time and UTC offset, as in clip names.
 * @param {number} ms since the epoch
 */
export function fileStamp(ms) {
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
export function formatWhen(ms) {
  return `${formatDate(ms)}, ${formatTime(ms)}`;
}

/**
 * A byte size as the settings take it ("20G", "1.5GiB", "10%" of `total`); null if unknown.
 * @param {string | null | undefined} text
 * @param {number} total
 */
export function parseSize(text, total) {
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
export function listing(items) {
  return items.length < 2
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}
