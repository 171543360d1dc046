/**
 * Which decoder the H.264 live view uses, and how much of the stream it decodes: the Pi's
 * hardware decoder when there is one, else software, keyframes only on ARM. The choice is a pure
 * function of what {@linkcode probeDecoderSystem} finds, so it is tested without a Pi.
 *
 * @module
 */

import { readdir, readFile, stat } from "node:fs/promises";
import { arch } from "node:os";
import { runtime } from "../runtime/current.ts";

/** What the system offers for decoding H.264. */
export interface DecoderSystem {
  /** `os.arch()`: "arm64", "arm", "x64", ... */
  arch: string;
  /** ffmpeg has the V4L2 mem2mem H.264 decoder (`ffmpeg -decoders` lists `h264_v4l2m2m`). */
  v4l2m2m: boolean;
  /** The mem2mem decoder device (`/dev/video10` on a Pi), or null when there is none. */
  m2mDevice: string | null;
}

/** How the live view decodes, and why: for the decoder's argv and `/api/status`. */
export interface PreviewDecoder {
  /** The ffmpeg decoder: the Pi's hardware one, or ffmpeg's software one. */
  decoder: "h264_v4l2m2m" | "h264";
  /** True when only keyframes are decoded (a whole picture each, no reference frames). */
  keyframesOnly: boolean;
  /** Why, as a sentence for the status. */
  reason: string;
}

/** What the live view asks for. */
export interface PreviewRate {
  /** Most pictures per second to make. */
  fps: number;
  /** The camera's frame rate. */
  cameraFps: number;
  /** Frames from one keyframe to the next. */
  intra: number;
}

/**
 * Chooses the live view's decoder.
 *
 * - The hardware decoder (`h264_v4l2m2m`, the Pi Zero 2 to Pi 4's) when ffmpeg has it and its
 *   device exists: decoding costs the CPU little, so the rate asked for is decoded.
 * - Otherwise software. On ARM (a Pi without the hardware decoder, or without the device)
 *   decoding every frame of 1080p30 is most of a Pi Zero's core: keyframes only, whatever the
 *   rate asked for (a keyframe a second by default). Elsewhere (x86) the rate asked for.
 *
 * In either case keyframes alone are decoded when they meet the rate asked for.
 */
export function choosePreviewDecoder(system: DecoderSystem, rate: PreviewRate): PreviewDecoder {
  const keyframesPerSecond = rate.cameraFps / Math.max(1, rate.intra);
  const keyframesEnough = rate.fps <= keyframesPerSecond;
  const enough = `keyframes (${round(keyframesPerSecond)}/s) meet the ${rate.fps} fps asked`;
  if (system.v4l2m2m && system.m2mDevice !== null) {
    return {
      decoder: "h264_v4l2m2m",
      keyframesOnly: keyframesEnough,
      reason: `hardware decoder at ${system.m2mDevice}` + (keyframesEnough ? `; ${enough}` : ""),
    };
  }
  const missing = !system.v4l2m2m ? "ffmpeg has no h264_v4l2m2m" : "no V4L2 mem2mem decoder device";
  if (isArm(system.arch)) {
    return {
      decoder: "h264",
      keyframesOnly: true,
      reason: `software decoder on ${system.arch} (${missing}): keyframes only, ${
        round(keyframesPerSecond)
      }/s`,
    };
  }
  return {
    decoder: "h264",
    keyframesOnly: keyframesEnough,
    reason: `software decoder on ${system.arch}` + (keyframesEnough ? `; ${enough}` : ""),
  };
}

/** The decoder's input options: before `-i`. */
export function decoderInputArgs(decoder: PreviewDecoder): string[] {
  return [
    ...(decoder.decoder === "h264_v4l2m2m" ? ["-c:v", "h264_v4l2m2m"] : []),
    // Only keyframes are fed then; this drops any other that gets in, undecoded.
    ...(decoder.keyframesOnly ? ["-skip_frame", "nokey"] : []),
  ];
}

/** Whether `ffmpeg -hide_banner -decoders` output lists the V4L2 mem2mem H.264 decoder. */
export function hasV4l2m2mDecoder(decoders: string): boolean {
  return /^\s*V\S*\s+h264_v4l2m2m\s/m.test(decoders);
}

/**
 * Asks the running system what {@linkcode choosePreviewDecoder} needs: ffmpeg's decoders
 * (`ffmpeg -hide_banner -decoders`), the mem2mem decoder device, `os.arch()`. A failing
 * ffmpeg counts as no hardware decoder.
 */
export async function probeDecoderSystem(): Promise<DecoderSystem> {
  let v4l2m2m = false;
  try {
    const output = await runtime().output("ffmpeg", {
      args: ["-hide_banner", "-decoders"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(5_000),
    });
    v4l2m2m = hasV4l2m2mDecoder(new TextDecoder().decode(output.stdout));
  } catch {
    // No ffmpeg, or it hung: the preview's own start says so.
  }
  return { arch: arch(), v4l2m2m, m2mDevice: v4l2m2m ? await findM2mDecoder() : null };
}

/** The Pi's decoder is `bcm2835-codec-decode`, `/dev/video10` on every Raspberry Pi OS. */
async function findM2mDecoder(): Promise<string | null> {
  const sys = "/sys/class/video4linux";
  try {
    for (const name of await readdir(sys)) {
      const label = await readFile(`${sys}/${name}/name`, "utf8").catch(() => "");
      if (/codec-decode/.test(label)) return `/dev/${name}`;
    }
  } catch {
    // No V4L2 at all, or no sysfs: try the usual node.
  }
  try {
    await stat("/dev/video10");
    return "/dev/video10";
  } catch {
    return null;
  }
}

function isArm(name: string): boolean {
  return name === "arm" || name === "arm64" || name.startsWith("armv") || name === "aarch64";
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
