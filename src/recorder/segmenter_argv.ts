import { join } from "node:path";
import type { Codec } from "../frames/frame.ts";
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
  /** The camera's frames per second. Default 30. */
  frameRate?: number;
  /**
   * Frames from one keyframe to the next, when the encoder is ours and keeps to it (H.264 with
   * `--intra`); 1 for MJPEG, where every frame is one. Unknown (a camera's or a command's own
   * H.264): left out, and clips are cut as if every frame could be a keyframe.
   */
  keyframeInterval?: number;
  /**
   * The stream has a second track of PCM sound (see `MatroskaStream`): it is encoded, AAC in
   * MP4 and Opus in Matroska, at `bitrate` bits per second. See {@linkcode audioCodecArgs}.
   */
  audio?: { bitrate: number };
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
 * - The segmenter cuts at the first keyframe at or after `n * segmentSeconds - delta` on the
 *   stream's timeline, which starts at the first frame. Frame times are when a frame arrived
 *   through the pipe, a few ms off the camera's cadence (up to 28 ms measured here under load):
 *   with no delta, a keyframe that arrives a hair early is skipped and the clip lasts a whole
 *   keyframe interval more (2.99 s, then 1.00 s, for 2 s clips with a keyframe every second).
 *   `-segment_time_delta` of half the keyframe interval cuts at the keyframe nearest each
 *   boundary instead (with every frame a keyframe: half a frame, so never a frame early).
 * - `-segment_list pipe:2`: ffmpeg prints `name,start,end` on stderr as each clip closes,
 *   which is how the recorder knows a clip is complete.
 */
export function segmenterArgv(options: SegmenterOptions): string[] {
  const codec = options.codec ?? "mjpeg";
  const frameRate = options.frameRate ?? 30;
  if (!(frameRate > 0)) {
    throw new RangeError(`Cannot build the segmenter: frame rate must be over 0, got ${frameRate}`);
  }
  const keyframeInterval = codec === "mjpeg" ? 1 : options.keyframeInterval ?? 1;
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
    ...audioCodecArgs(codec, options.audio),
    "-f",
    "segment",
    "-segment_time",
    String(options.segmentSeconds),
    "-segment_time_delta",
    cutDelta(keyframeInterval, frameRate),
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

/** Half a keyframe interval in seconds, as ffmpeg reads a duration. */
function cutDelta(keyframeInterval: number, frameRate: number): string {
  return (Math.max(1, keyframeInterval) / frameRate / 2).toFixed(6);
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

/**
 * Frames are copied; sound, when there is any, arrives as PCM and is encoded here: AAC for
 * MP4 (what a browser plays there), Opus for Matroska (made for speech at low bitrates).
 * Sound is encoded in the segmenter, not in the capture process, so that a
 * microphone that fails leaves the track going: the recorder writes silence meanwhile.
 */
export function audioCodecArgs(codec: Codec, audio?: { bitrate: number }): string[] {
  if (!audio) return ["-c", "copy"];
  const encoder = codec === "h264" ? ["aac"] : ["libopus", "-application", "audio"];
  return ["-c:v", "copy", "-c:a", ...encoder, "-b:a", String(audio.bitrate)];
}
