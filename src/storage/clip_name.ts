/**
 * Clip file names. A clip being written is `000042.recording.mkv`; once closed it becomes
 * `000042_20261130-111627.mkv` (sequence number, then local start time). The sequence number
 * comes first so names sort in recording order even when the clock jumps (a Pi has no RTC).
 * MJPEG clips are Matroska (`.mkv`), H.264 clips fragmented MP4 (`.mp4`).
 */

/** Container of a clip, as its file extension. */
export type ClipExtension = "mkv" | "mp4";

const SEQ_DIGITS = 6;
const RECORDING = /^(\d{6,})\.recording\.(mkv|mp4)$/;
const CLOSED = /^(\d{6,})_(\d{8}-\d{6})\.(mkv|mp4)$/;

/** What a clip file name tells. */
export interface ClipName {
  seq: number;
  /** Start time in ms since the epoch (local time in the name); absent while recording. */
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

/** The name of a closed clip. */
export function clipFileName(seq: number, start: number, ext: ClipExtension = "mkv"): string {
  const d = new Date(start);
  const date = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  return `${pad(seq, SEQ_DIGITS)}_${date}-${time}.${ext}`;
}

/** Parses a clip file name; undefined for any other file. */
export function parseClipName(name: string): ClipName | undefined {
  const recording = RECORDING.exec(name);
  if (recording) {
    return { seq: Number(recording[1]), recording: true, ext: recording[2] as ClipExtension };
  }
  const closed = CLOSED.exec(name);
  if (!closed) return undefined;
  const [, seq, stamp, ext] = closed;
  const start = new Date(
    Number(stamp.slice(0, 4)),
    Number(stamp.slice(4, 6)) - 1,
    Number(stamp.slice(6, 8)),
    Number(stamp.slice(9, 11)),
    Number(stamp.slice(11, 13)),
    Number(stamp.slice(13, 15)),
  ).getTime();
  return { seq: Number(seq), start, recording: false, ext: ext as ClipExtension };
}

function pad(value: number, digits = 2): string {
  return String(value).padStart(digits, "0");
}
