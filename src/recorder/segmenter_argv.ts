import { join } from "node:path";
import type { Codec } from "../camera/argv.ts";
import { type ClipExtension, recordingPattern } from "../storage/clip_name.ts";

/** Options for {@linkcode segmenterArgv}. */
export interface SegmenterOptions {
  /** Directory the clips go to. */
  output: string;
  /** Clip length in seconds. */
  segmentSeconds: number;
  /** Sequence number of the first clip this ffmpeg writes. */
  startNumber: number;
  /** What arrives on stdin. Default "mjpeg". */
  codec?: Codec;
}

/** The container clips of a codec are written in. */
export function clipExtension(codec: Codec = "mjpeg"): ClipExtension {
  return codec === "h264" ? "mp4" : "mkv";
}

/**
 * The ffmpeg command that reads frames on stdin (from a `MatroskaStream`) and copies them, without re-encoding, into
 * clips of `segmentSeconds`.
 *
 * - MJPEG goes into Matroska, because it survives a power cut: measured with ffmpeg 5.1 after
 *   SIGKILL mid-clip, Matroska kept 204/210 frames where MP4 kept none.
 *   `cluster_time_limit=1000:flush_packets=1` on the inner muxer writes a cluster every second
 *   and flushes it, so a kill loses about 1 s (without the flush: the last 512 KiB).
 * - H.264 goes into fragmented MP4 (`frag_keyframe+empty_moov+default_base_moof`), which a
 *   browser `<video>` plays and which is complete up to the last fragment: a fragment is
 *   written at each keyframe, so a kill loses the GOP in progress (1 s by default).
 * - The segmenter cuts at the first keyframe after `segmentSeconds` (every JPEG is one), so
 *   each clip starts on a keyframe and no frame is lost or doubled at the boundary.
 * - Frames arrive as a live Matroska stream (`MatroskaStream`) carrying each frame's
 *   capture time. Raw MJPEG or H.264 on a pipe has no timestamps (rpicam-apps#623), and
 *   stamping them on arrival (`-use_wallclock_as_timestamps`) squeezes the frames that queue
 *   while ffmpeg starts or the CPU is busy: measured here under load, 6.1 s of footage for 6.8 s
 *   of real time. With capture times, a clip holds the real time it covers.
 * - `-segment_list pipe:2`: ffmpeg prints `name,start,end` on stderr as each clip closes,
 *   which is how the recorder knows a clip is complete.
 */
export function segmenterArgv(options: SegmenterOptions): string[] {
  const codec = options.codec ?? "mjpeg";
  const container = codec === "h264"
    ? ["mp4", "movflags=frag_keyframe+empty_moov+default_base_moof:flush_packets=1"]
    : ["matroska", "cluster_time_limit=1000:flush_packets=1"];
  return [
    "ffmpeg",
    "-hide_banner",
    "-loglevel",
    "warning",
    // Our stream's header says all (codec, size, avcC): probing would only hold the first
    // frames back for up to 5 s, and lose them in a crash.
    "-probesize",
    "32",
    "-analyzeduration",
    "0",
    "-f",
    "matroska",
    "-i",
    "pipe:0",
    "-c",
    "copy",
    "-f",
    "segment",
    "-segment_time",
    String(options.segmentSeconds),
    "-segment_format",
    container[0],
    "-segment_format_options",
    container[1],
    "-reset_timestamps",
    "1",
    "-segment_start_number",
    String(options.startNumber),
    "-segment_list",
    "pipe:2",
    "-segment_list_type",
    "csv",
    join(options.output, recordingPattern(clipExtension(codec))),
  ];
}

/** A clip ffmpeg reported closed: file name and start/end in seconds since its first frame. */
export interface ClosedSegment {
  file: string;
  start: number;
  end: number;
}

const LIST_LINE = /^([^,/]+\.(?:mkv|mp4)),(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)$/;

/** Parses one `-segment_list` CSV line from ffmpeg's stderr; undefined for log lines. */
export function parseSegmentListLine(line: string): ClosedSegment | undefined {
  const match = LIST_LINE.exec(line.trim());
  if (!match) return undefined;
  return { file: match[1], start: Number(match[2]), end: Number(match[3]) };
}
