/**
 * Pure argv builders for the programs that produce MJPEG on stdout: rpicam-vid, ffmpeg reading a
 * V4L2 webcam or a test pattern, and a user command. Nothing here spawns or touches the system.
 *
 * @module
 */

import type { Codec } from "../frames/frame.ts";
import { drawtextFilter } from "./overlay.ts";

/** How frames are encoded; defined with `Frame`, re-exported for the argv builders' callers. */
export type { Codec };

/** H.264 encoder settings, as rpicam-vid names them. */
export interface H264Options {
  /** Bits per second. */
  bitrate: number;
  /** Keyframe (IDR) interval in frames. */
  intra: number;
  profile: "baseline" | "main" | "high";
  level: "4" | "4.1" | "4.2";
}

/** What the capture should look like, whichever program produces it. */
export interface CaptureOptions {
  /** Frame width in pixels. */
  width: number;
  /** Frame height in pixels. */
  height: number;
  /** Frames per second. */
  fps: number;
  /** JPEG quality, 1 (worst) to 100 (best). */
  quality: number;
  /** Default "mjpeg". */
  codec?: Codec;
  /** For codec "h264"; see {@linkcode h264Defaults}. */
  h264?: H264Options;
}

/**
 * H.264 settings with the defaults filled in: a keyframe every second (so clips start within
 * a second of where asked, and a power cut loses at most the fragment in progress), and about
 * 0.1 bit per pixel (1080p30: 6.2 Mbit/s).
 */
export function h264Defaults(
  options: Pick<CaptureOptions, "width" | "height" | "fps">,
  given: Partial<H264Options> = {},
): H264Options {
  return {
    bitrate: given.bitrate || Math.round(options.width * options.height * options.fps * 0.1),
    intra: given.intra || Math.max(1, Math.round(options.fps)),
    profile: given.profile ?? "high",
    level: given.level ?? "4.2",
  };
}

/** A date and time burned into frames that ffmpeg encodes (see `drawtextFilter`). */
export interface DrawnOverlay {
  /** strftime format, e.g. "%Y-%m-%d %H:%M:%S". */
  format: string;
  /** The TrueType font to draw it with. */
  fontFile: string;
}

/** Options of {@linkcode rpicamArgv}. */
export interface RpicamArgvOptions extends CaptureOptions {
  /** A post-processing JSON file (`--post-process-file`), e.g. the `annotate_cv` overlay. */
  postProcessFile?: string;
}

/** Options of {@linkcode v4l2Argv}. */
export interface V4l2ArgvOptions extends CaptureOptions {
  /** Drawn on the frames when they are encoded; a copied stream cannot get one. */
  overlay?: DrawnOverlay;
  /** True when the camera offers MJPEG itself, so frames are copied instead of encoded. */
  cameraGivesMjpeg: boolean;
  /** True when the camera offers H.264 itself (used with codec "h264"). */
  cameraGivesH264?: boolean;
}

/** Options of {@linkcode testPatternArgv}. */
export interface TestPatternArgvOptions extends CaptureOptions {
  /** A TrueType font for a drawtext wall clock; without one the pattern has no clock. */
  fontFile?: string;
  /** The overlay to draw instead of the wall clock. */
  overlay?: DrawnOverlay;
}

const FFMPEG_PREFIX = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error"] as const;

/**
 * Builds the argv of rpicam-vid (or libcamera-vid) printing MJPEG on stdout until killed.
 *
 * @example Usage
 * ```ts
 * import { rpicamArgv } from "./argv.ts";
 * const argv = rpicamArgv("rpicam-vid", { width: 1280, height: 720, fps: 30, quality: 80 });
 * // ["rpicam-vid", "-t", "0", "-n", "--codec", "mjpeg", "--width", "1280", ...]
 * ```
 */
export function rpicamArgv(program: string, options: RpicamArgvOptions): string[] {
  // The order the rpicam-apps docs use: encoder first, then size and rate, then quality.
  const [encoder, quality] = options.codec === "h264"
    ? [rpicamH264Args(options.h264 ?? h264Defaults(options)), []]
    : [["--codec", "mjpeg"], ["-q", String(options.quality)]];
  return [
    program,
    "-t",
    "0",
    "-n",
    ...encoder,
    "--width",
    String(options.width),
    "--height",
    String(options.height),
    "--framerate",
    String(options.fps),
    ...quality,
    ...(options.postProcessFile ? ["--post-process-file", options.postProcessFile] : []),
    "--flush",
    "-o",
    "-",
  ];
}

/** `--inline` repeats SPS/PPS before every IDR, so any clip or preview can start there. */
function rpicamH264Args(h264: H264Options): string[] {
  return [
    "--codec",
    "h264",
    "--inline",
    "--intra",
    String(h264.intra),
    "--profile",
    h264.profile,
    "--level",
    h264.level,
    "-b",
    String(h264.bitrate),
  ];
}

/**
 * Builds the argv of ffmpeg reading a V4L2 webcam and printing MJPEG or H.264 on stdout: the
 * camera's own stream is copied when it gives the codec asked for, encoded otherwise.
 */
export function v4l2Argv(device: string, options: V4l2ArgvOptions): string[] {
  const h264 = options.codec === "h264";
  const copy = h264 ? options.cameraGivesH264 === true : options.cameraGivesMjpeg;
  const inputFormat = copy ? ["-input_format", h264 ? "h264" : "mjpeg"] : [];
  return [
    ...FFMPEG_PREFIX,
    "-f",
    "v4l2",
    ...inputFormat,
    "-video_size",
    `${options.width}x${options.height}`,
    "-framerate",
    String(options.fps),
    "-i",
    device,
    ...(copy ? ["-c:v", "copy", "-f", h264 ? "h264" : "mjpeg", "-"] : [
      ...(options.overlay ? ["-vf", overlayFilter(options.overlay, options.height)] : []),
      ...encoderArgs(options),
    ]),
  ];
}

/**
 * Builds the argv of ffmpeg printing a moving test pattern as MJPEG (or H.264) on stdout, paced
 * in real time. `testsrc` shows a running time counter; with `fontFile` a wall clock is drawn as
 * well, so a viewer can tell a live stream from a stalled one. The clock is ffmpeg's local
 * time with its zone's abbreviation ("2026-11-30 11:16:27 CET"): run ffmpeg with `TZ` set to
 * the recorder's zone ({@linkcode clockEnv}) so it agrees with the clip names and the page.
 */
export function testPatternArgv(options: TestPatternArgvOptions): string[] {
  const source = `testsrc=size=${options.width}x${options.height}:rate=${options.fps}`;
  const filter = options.overlay
    ? ["-vf", overlayFilter(options.overlay, options.height)]
    : options.fontFile === undefined
    ? []
    : ["-vf", clockFilter(options)];
  return [...FFMPEG_PREFIX, "-re", "-f", "lavfi", "-i", source, ...filter, ...encoderArgs(options)];
}

/** ffmpeg output arguments that encode to the requested codec on stdout. */
function encoderArgs(options: CaptureOptions): string[] {
  if (options.codec !== "h264") return [...mjpegEncoderArgs(options.quality), "-f", "mjpeg", "-"];
  const h264 = options.h264 ?? h264Defaults(options);
  return [
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    // 4:2:0, or libx264 keeps the source's 4:4:4 and browsers cannot play the clips.
    "-pix_fmt",
    "yuv420p",
    "-g",
    String(h264.intra),
    "-b:v",
    String(h264.bitrate),
    "-maxrate",
    String(h264.bitrate),
    "-bufsize",
    String(h264.bitrate * 2),
    "-level",
    h264.level,
    // Like rpicam-vid --inline: SPS/PPS before every IDR. And like its --intra, a keyframe
    // every `intra` frames and no others: no scene-cut keyframe a clip could be cut at early.
    "-x264-params",
    "repeat-headers=1:scenecut=0",
    "-f",
    "h264",
    "-",
  ];
}

/** Builds the argv that runs `command` through `sh -c`, so that user pipelines work. */
export function commandArgv(command: string): string[] {
  return ["sh", "-c", command];
}

/**
 * Maps JPEG quality 1..100 to ffmpeg's `-q:v` 2..31 (lower is better): 100 gives 2, 1 gives 31,
 * and a higher quality never gives a higher scale.
 *
 * @throws {RangeError} When `quality` is not a number from 1 to 100.
 */
export function jpegQualityToQscale(quality: number): number {
  if (!(quality >= 1 && quality <= 100)) {
    throw new RangeError(`Cannot map JPEG quality: expected 1 to 100, got ${quality}`);
  }
  return 2 + Math.round((100 - quality) * 29 / 99);
}

/** What a V4L2 camera offers, as listed by ffmpeg. */
export interface V4l2Formats {
  /** True when one of the formats is compressed MJPEG. */
  mjpeg: boolean;
  /** True when one of the formats is compressed H.264. */
  h264: boolean;
  /** The format names in listing order, e.g. `["mjpeg", "yuyv422"]`. */
  formats: string[];
}

// One line of ffmpeg's v4l2 `list_formats`, after the `[video4linux2,v4l2 @ 0x...]` prefix:
// "Compressed:       mjpeg :          Motion-JPEG : 1920x1080 1280x720"
const FORMAT_LINE = /(Raw|Compressed)\s*:\s*(\S+)\s*:.*:/;

/**
 * Parses the stderr of `ffmpeg -hide_banner -f v4l2 -list_formats all -i DEVICE` and tells
 * whether the camera offers MJPEG.
 */
export function parseV4l2Formats(stderr: string): V4l2Formats {
  const formats: string[] = [];
  let mjpeg = false;
  let h264 = false;
  for (const line of stderr.split(/\r?\n/)) {
    const match = FORMAT_LINE.exec(line);
    if (match === null) continue;
    const [, kind, name] = match;
    // ffmpeg prints "Unsupported" for a pixel format or codec it has no name for.
    if (name === "Unsupported") continue;
    if (!formats.includes(name)) formats.push(name);
    if (kind === "Compressed" && name === "mjpeg") mjpeg = true;
    if (kind === "Compressed" && name === "h264") h264 = true;
  }
  return { mjpeg, h264, formats };
}

function mjpegEncoderArgs(quality: number): string[] {
  // The mjpeg encoder wants full-range 4:2:0, which ffmpeg 5 still calls yuvj420p.
  return ["-c:v", "mjpeg", "-q:v", String(jpegQualityToQscale(quality)), "-pix_fmt", "yuvj420p"];
}

/**
 * The environment that makes a capture program's local time (a burned-in clock) the one of
 * `timeZone`, an IANA zone: `TZ` as the C library reads it.
 */
export function clockEnv(timeZone: string): Record<string, string> {
  return { TZ: timeZone };
}

function overlayFilter(overlay: DrawnOverlay, height: number): string {
  return drawtextFilter(overlay.format, { fontFile: overlay.fontFile, height });
}

/** The test pattern's wall clock: date, time and zone at the bottom. */
function clockFilter(options: TestPatternArgvOptions): string {
  return drawtextFilter("%Y-%m-%d %H:%M:%S %Z", {
    fontFile: options.fontFile!,
    height: options.height,
    position: "bottom",
  });
}
