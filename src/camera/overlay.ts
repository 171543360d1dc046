/**
 * The date and time burned into the footage: a strftime format drawn by whatever encodes the
 * frames. rpicam-vid draws it in its `annotate_cv` post-processing stage (from the
 * `rpicam-apps-opencv-postprocess` package), ffmpeg in its `drawtext` filter; frames that are
 * only copied (a camera's own MJPEG or H.264, a command's output) cannot get one without
 * re-encoding. Pure: nothing here touches the system.
 *
 * @module
 */

/** The overlay drawn unless the `overlay` setting says otherwise: "2026-12-02 17:25:03". */
export const DEFAULT_OVERLAY = "%Y-%m-%d %H:%M:%S";

/** The longest format accepted: a line across the picture, not a paragraph. */
const MAX_FORMAT_LENGTH = 100;

/** Whether an overlay is burned in, by what, and why not when not: for `/api/status`. */
export interface OverlayStatus {
  /** True when the recorded frames carry the time. */
  active: boolean;
  /** The strftime format asked for; empty when the overlay is off. */
  format: string;
  /** What draws it, when active. */
  method: "annotate_cv" | "drawtext" | null;
  /** Why there is none, as a sentence (null when active). */
  reason: string | null;
}

/**
 * Why `format` cannot be an overlay, or undefined when it can (empty means off). Braces end
 * ffmpeg's `%{localtime:...}` and a line break has no place in one line of text.
 */
export function overlayFormatProblem(format: string): string | undefined {
  if (format.length > MAX_FORMAT_LENGTH) return `longer than ${MAX_FORMAT_LENGTH} characters`;
  if (/[{}\p{Cc}]/u.test(format)) return "has braces or control characters";
  return undefined;
}

/** How rpicam-vid's `annotate_cv` stage draws the overlay (its options, rpicam-apps 1.5). */
export interface AnnotateCvOptions {
  /** Text: FrameInfo's `%frame`-style directives, then strftime. */
  text: string;
  /** Luma of the text, 0-255. */
  fg: number;
  /** Luma of the box behind it. */
  bg: number;
  /** Font scale at 1200 pixels wide (the stage scales it with the width). */
  scale: number;
  /** Stroke thickness at 700 pixels wide. */
  thickness: number;
  /** How much of the box shows over the picture, 0-1. */
  alpha: number;
}

/**
 * The `--post-process-file` JSON for rpicam-vid: one `annotate_cv` stage drawing `format`
 * in white on a dark box at the top left (where the stage always draws).
 */
export function annotateCvConfig(format: string): { annotate_cv: AnnotateCvOptions } {
  return {
    annotate_cv: { text: format, fg: 255, bg: 0, scale: 1.0, thickness: 2, alpha: 0.5 },
  };
}

/** Options of {@linkcode drawtextFilter}. */
export interface DrawtextOptions {
  /** A TrueType font for drawtext. */
  fontFile: string;
  /** The picture's height, to size the text (about 1/18 of it). */
  height: number;
  /** Where: "top" (like annotate_cv, the default) or "bottom". */
  position?: "top" | "bottom";
}

/**
 * An ffmpeg `drawtext` filter drawing the local time in `format` (ffmpeg's own local time:
 * run it with `TZ` set, see `clockEnv`), white on a dark box, escaped for a filtergraph.
 */
export function drawtextFilter(format: string, options: DrawtextOptions): string {
  const fontSize = Math.max(12, Math.round(options.height / 18));
  // In `%{localtime:FORMAT}` a colon would end the format: escaped for the text expansion.
  const text = `%{localtime:${format.replace(/[\\:]/g, "\\$&")}}`;
  const drawtext = [
    `fontfile=${escapeOptionValue(options.fontFile)}`,
    `text=${escapeOptionValue(text)}`,
    `fontsize=${fontSize}`,
    "fontcolor=white",
    "box=1",
    "boxcolor=black@0.6",
    "boxborderw=6",
    "x=8",
    options.position === "bottom" ? "y=h-th-14" : "y=8",
  ].join(":");
  return `drawtext=${escapeFiltergraph(drawtext)}`;
}

// ffmpeg unescapes a filter argument twice: once as part of the filtergraph, once as an option
// value. See "Notes on filtergraph escaping" in ffmpeg-filters(1).
function escapeOptionValue(value: string): string {
  return value.replace(/[\\':]/g, "\\$&");
}

function escapeFiltergraph(description: string): string {
  return description.replace(/[\\'\[\],;]/g, "\\$&");
}
