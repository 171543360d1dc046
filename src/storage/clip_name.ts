/**
 * Clip file names. A clip being written is `000042.recording.mkv`; once closed it becomes
 * `000042_20261130-111627+0100.mkv`: sequence number, then the start time in the recorder's
 * local zone with that zone's UTC offset, so the name says whose time it is and reads back
 * exactly after a change of zone or daylight saving time. The sequence number comes first so
 * names sort in recording order even when the clock jumps (a Pi has no RTC). Names written
 * before the offset was added (`000042_20261130-111627.mkv`, in the system's zone) still parse.
 * MJPEG clips are Matroska (`.mkv`), H.264 clips fragmented MP4 (`.mp4`).
 */

import { systemTimeZone } from "../clock.ts";

/** Container of a clip, as its file extension. */
export type ClipExtension = "mkv" | "mp4";

const SEQ_DIGITS = 6;
const RECORDING = /^(\d{6,})\.recording\.(mkv|mp4)$/;
const CLOSED = /^(\d{6,})_(\d{8}-\d{6})([+-]\d{4})?\.(mkv|mp4)$/;

/** What a clip file name tells. */
export interface ClipName {
  seq: number;
  /** Start time in ms since the epoch; absent while recording. */
  start?: number;
  recording: boolean;
  ext: ClipExtension;
}

/** The name ffmpeg writes clip `seq` under while it is open. */
export function recordingFileName(seq: number, ext: ClipExtension = "mkv"): string {
  return `${pad(seq, SEQ_DIGITS)}.recording.${ext}`;
}

/** The same, as an ffmpeg segment pattern (`%06d`). */
export function recordingPattern(ext: ClipExtension = "mkv"): string {
  return `%0${SEQ_DIGITS}d.recording.${ext}`;
}

/**
 * The name of a closed clip that started at `start` (ms since the epoch), its time written in
 * `timeZone` (an IANA zone; default the system's) followed by that zone's offset then.
 *
 * @example
 * ```ts
 * import { clipFileName } from "./clip_name.ts";
 * clipFileName(42, Date.UTC(2026, 10, 30, 10, 16, 27), "mkv", "Europe/Berlin");
 * // "000042_20261130-111627+0100.mkv"
 * ```
 */
export function clipFileName(
  seq: number,
  start: number,
  ext: ClipExtension = "mkv",
  timeZone: string = systemTimeZone(),
): string {
  const wall = wallTime(start, timeZone);
  const d = new Date(wall);
  const date = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  const offset = Math.round((wall - Math.floor(start / 1000) * 1000) / 60_000);
  const zone = `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60))}${
    pad(Math.abs(offset) % 60)
  }`;
  return `${pad(seq, SEQ_DIGITS)}_${date}-${time}${zone}.${ext}`;
}

/** Parses a clip file name; undefined for any other file. */
export function parseClipName(name: string): ClipName | undefined {
  const recording = RECORDING.exec(name);
  if (recording) {
    return { seq: Number(recording[1]), recording: true, ext: recording[2] as ClipExtension };
  }
  const closed = CLOSED.exec(name);
  if (!closed) return undefined;
  const [, seq, stamp, zone, ext] = closed;
  const fields = [
    Number(stamp.slice(0, 4)),
    Number(stamp.slice(4, 6)) - 1,
    Number(stamp.slice(6, 8)),
    Number(stamp.slice(9, 11)),
    Number(stamp.slice(11, 13)),
    Number(stamp.slice(13, 15)),
  ] as const;
  let start: number;
  if (zone === undefined) {
    // Written before names carried their offset: in the system's zone, as read here.
    start = new Date(...fields).getTime();
  } else {
    const minutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5));
    start = Date.UTC(...fields) - (zone[0] === "-" ? -minutes : minutes) * 60_000;
  }
  return { seq: Number(seq), start, recording: false, ext: ext as ClipExtension };
}

const FORMATS = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time in `timeZone` at `time`, as ms since the epoch read as UTC (whole s). */
function wallTime(time: number, timeZone: string): number {
  let format = FORMATS.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    FORMATS.set(timeZone, format);
  }
  const part: Record<string, number> = {};
  for (const { type, value } of format.formatToParts(time)) part[type] = Number(value);
  return Date.UTC(part.year, part.month - 1, part.day, part.hour, part.minute, part.second);
}

function pad(value: number, digits = 2): string {
  return String(value).padStart(digits, "0");
}
