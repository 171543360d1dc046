/**
 * The one ffprobe runner: a clip's first video stream and its format, as ffprobe's JSON.
 *
 * @module
 */

import { runtime } from "../runtime/current.ts";

/** Options for {@linkcode probeVideo}. */
export interface ProbeVideoOptions {
  /** What to show, in `-show_entries` syntax: `"stream=codec_name:format=duration"`. */
  entries: string;
  /** Count the packets (`-count_packets`: reads the whole file), for `stream=nb_read_packets`. */
  countPackets?: boolean;
  /** The ffprobe binary. Default `ffprobe`. */
  ffprobe?: string;
}

/** ffprobe's answer: the first video stream's entries (if any) and the format's. */
export interface ProbedVideo {
  stream: Record<string, unknown>;
  format: Record<string, unknown>;
}

/**
 * Runs ffprobe on the first video stream of `path`. Resolves to null when ffprobe fails
 * (an unreadable or half-written file) or prints no JSON.
 *
 * @example
 * ```ts
 * import { probeVideo } from "./ffprobe.ts";
 *
 * const probed = await probeVideo("clip.mkv", { entries: "stream=codec_name:format=duration" });
 * console.log(probed?.stream.codec_name, probed?.format.duration);
 * ```
 *
 * @throws {SpawnError} When ffprobe cannot be started (not installed).
 */
export async function probeVideo(
  path: string,
  options: ProbeVideoOptions,
): Promise<ProbedVideo | null> {
  const output = await runtime().output(options.ffprobe ?? "ffprobe", {
    args: [
      "-v",
      "error",
      ...(options.countPackets ? ["-count_packets"] : []),
      "-select_streams",
      "v:0",
      "-show_entries",
      options.entries,
      "-of",
      "json",
      path,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  });
  if (!output.success) return null;
  let json;
  try {
    json = JSON.parse(new TextDecoder().decode(output.stdout));
  } catch {
    return null;
  }
  const object = (value: unknown) =>
    typeof value === "object" && value !== null ? value as Record<string, unknown> : {};
  return { stream: object(json?.streams?.[0]), format: object(json?.format) };
}
