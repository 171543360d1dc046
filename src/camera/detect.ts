/**
 * Chooses the program that will produce MJPEG: the Pi camera (rpicam-vid), a V4L2 webcam
 * through ffmpeg, ffmpeg's test pattern, or a user command. The system is reached only through
 * a {@linkcode SystemProbe}, so the rules can be tested with an in-memory one.
 *
 * @module
 */

import { mkdir, readdir, rename, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { runtime } from "../runtime/current.ts";
import type { ChildOutput } from "../runtime/runtime.ts";
import {
  type CaptureOptions,
  type Codec,
  commandArgv,
  type DrawnOverlay,
  h264Defaults,
  type H264Options,
  parseV4l2Formats,
  rpicamArgv,
  testPatternArgv,
  v4l2Argv,
} from "./argv.ts";
import { annotateCvConfig, type OverlayStatus } from "./overlay.ts";
import type { SourceKind } from "../config/mod.ts";

export type { SourceKind };

/** What the configuration asks for. */
export interface SourceRequest extends Omit<CaptureOptions, "codec" | "h264"> {
  /** The kind of source, or `"auto"`. */
  source: SourceKind;
  /** The codec, or `"auto"` (default): H.264 for the Pi camera (hardware), else MJPEG. */
  codec?: Codec | "auto";
  /** H.264 settings; zero or missing values take {@linkcode h264Defaults}. */
  h264?: Partial<H264Options>;
  /** Shell command printing MJPEG on stdout; required when `source` is `"command"`. */
  command?: string;
  /** V4L2 device, e.g. `/dev/video0`. */
  device: string;
  /**
   * The date and time to burn into the frames, a strftime format; empty for none. Left out,
   * nothing is burned in but the test pattern's own clock.
   */
  overlay?: string;
  /**
   * Where rpicam-vid's post-processing JSON (the overlay) is written. Default
   * `$XDG_CACHE_HOME/videorecorder/annotate_cv.json` (`~/.cache/...`).
   */
  postProcessFile?: string;
}

/** The source that was chosen, ready to spawn. */
export interface ResolvedSource {
  /** The kind of source chosen; never `"auto"`. */
  kind: "rpicam" | "v4l2" | "test" | "command";
  /** Full argv; `argv[0]` is the program. */
  argv: string[];
  /** What it prints on stdout. */
  codec: Codec;
  /** The H.264 settings asked of it (codec "h264"). */
  h264?: H264Options;
  /**
   * True when the frames are encoded for us (the Pi camera, the test pattern, a V4L2 camera's
   * raw frames), so the H.264 settings (a keyframe every `intra` frames) hold; false when a
   * camera's own stream or a command's output is copied as it comes.
   */
  encodes: boolean;
  /** Human text, e.g. `"v4l2 /dev/video0 (MJPEG copied)"`. */
  description: string;
  /** For `"auto"`: why this source was picked. */
  reason?: string;
  /** Whether the time is burned into the frames, by what, or why not. */
  overlay: OverlayStatus;
}

/** The questions source resolution asks of the system. */
export interface SystemProbe {
  /** The path of an executable found on PATH, or `undefined`. */
  findExecutable(name: string): Promise<string | undefined>;
  /** Whether a path exists (a device node counts). */
  exists(path: string): Promise<boolean>;
  /** The stderr of `ffmpeg -hide_banner -f v4l2 -list_formats all -i DEVICE`. */
  listV4l2Formats(device: string): Promise<string>;
  /** A TrueType font usable by ffmpeg's drawtext, if one is installed. */
  fontFile(): Promise<string | undefined>;
  /**
   * rpicam-apps' OpenCV post-processing plugin (`opencv-postproc.so`, which has the
   * `annotate_cv` stage) for the rpicam-vid at `program`, if it is installed.
   */
  rpicamOpencvPlugin(program: string): Promise<string | undefined>;
  /** Writes a file whole (replacing it at once), making its directory. */
  writeFile(path: string, text: string): Promise<void>;
}

const LIST_FORMATS_TIMEOUT_MS = 5_000;

const FONT_FILES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", // Debian, Raspberry Pi OS
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/TTF/DejaVuSansMono.ttf", // Arch
  "/usr/share/fonts/dejavu-sans-mono-fonts/DejaVuSansMono.ttf", // Fedora
  "/usr/share/fonts/dejavu/DejaVuSansMono.ttf", // Alpine
  "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
];

/** The real {@linkcode SystemProbe}, asking the running system. */
export const systemProbe: SystemProbe = {
  findExecutable,
  exists: pathExists,
  listV4l2Formats,
  async fontFile() {
    for (const path of FONT_FILES) {
      if (await pathExists(path)) return path;
    }
    return undefined;
  },
  rpicamOpencvPlugin,
  async writeFile(path, text) {
    await mkdir(dirname(path), { recursive: true });
    // Whole or not at all: a camera starting meanwhile reads the old file or the new one.
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, text);
    await rename(temporary, path);
  },
};

/** The name of the plugin with the `annotate_cv` stage, in `<libdir>/rpicam-apps-postproc/`. */
const OPENCV_PLUGIN = "opencv-postproc.so";

/**
 * Resolves a {@linkcode SourceRequest} to the argv to spawn.
 *
 * `"auto"` picks rpicam when rpicam-vid or libcamera-vid is on PATH, else the V4L2 device when
 * it exists, else the test pattern, and says why in `reason`.
 *
 * @example Usage
 * ```ts ignore
 * import { resolveSource } from "./detect.ts";
 * const source = await resolveSource({
 *   source: "auto",
 *   device: "/dev/video0",
 *   width: 1280,
 *   height: 720,
 *   fps: 30,
 *   quality: 80,
 * });
 * console.log(`Camera: ${source.description} (${source.reason})`);
 * ```
 *
 * @throws {TypeError} When `source` is unknown, or `"command"` comes without a command.
 * @throws {Error} When the requested rpicam tool or V4L2 device is not there.
 */
export async function resolveSource(
  request: SourceRequest,
  probe: SystemProbe = systemProbe,
): Promise<ResolvedSource> {
  switch (request.source) {
    case "rpicam": {
      const found = await findRpicam(probe);
      if (found === undefined) {
        throw new Error(
          "Cannot use source rpicam: neither rpicam-vid nor libcamera-vid is on PATH",
        );
      }
      return await rpicamSource(found, request, probe);
    }
    case "v4l2":
      if (!await probe.exists(request.device)) {
        throw new Error(`Cannot use source v4l2: ${request.device} does not exist`);
      }
      return await v4l2Source(request, probe);
    case "test":
      return await testSource(request, probe);
    case "command": {
      const command = request.command?.trim() ?? "";
      if (command === "") {
        throw new TypeError("Cannot use source command: no command given");
      }
      return {
        kind: "command",
        ...withCodec(captureOptions(request, "mjpeg")),
        encodes: false,
        argv: commandArgv(command),
        description: `command: ${command}`,
        overlay: request.overlay
          ? inactive(
            request.overlay,
            "a command's frames are copied: no overlay without re-encoding",
          )
          : overlayOff(""),
      };
    }
    case "auto":
      return await autoSource(request, probe);
    default:
      throw new TypeError(`Cannot resolve source: unknown kind "${request.source}"`);
  }
}

interface FoundRpicam {
  name: "rpicam-vid" | "libcamera-vid";
  path: string;
}

async function findRpicam(probe: SystemProbe): Promise<FoundRpicam | undefined> {
  // Raspberry Pi OS before Bookworm only has the libcamera-* names.
  for (const name of ["rpicam-vid", "libcamera-vid"] as const) {
    const path = await probe.findExecutable(name);
    if (path !== undefined) return { name, path };
  }
  return undefined;
}

async function rpicamSource(
  found: FoundRpicam,
  request: SourceRequest,
  probe: SystemProbe,
): Promise<ResolvedSource> {
  // The Pi's H.264 encoder is hardware; its MJPEG is software, which a Pi Zero cannot keep up.
  const options = captureOptions(request, "h264");
  const format = request.overlay ?? "";
  let overlay = overlayOff(format);
  let postProcessFile: string | undefined;
  if (format !== "") {
    if (await probe.rpicamOpencvPlugin(found.path) === undefined) {
      overlay = inactive(
        format,
        `${found.name} has no annotate_cv stage: install rpicam-apps-opencv-postprocess ` +
          "(sudo apt install rpicam-apps-opencv-postprocess; Raspberry Pi OS Lite lacks it)",
      );
    } else {
      const path = request.postProcessFile ?? defaultPostProcessFile();
      try {
        await probe.writeFile(path, JSON.stringify(annotateCvConfig(format), null, 2) + "\n");
        postProcessFile = path;
        overlay = { active: true, format, method: "annotate_cv", reason: null };
      } catch (error) {
        overlay = inactive(format, `Cannot write ${path}: ${(error as Error).message}`);
      }
    }
  }
  return {
    kind: "rpicam",
    ...withCodec(options),
    encodes: true,
    argv: rpicamArgv(found.path, { ...options, postProcessFile }),
    description: `rpicam (${found.name}, ${codecName(options.codec)})`,
    overlay,
  };
}

async function v4l2Source(request: SourceRequest, probe: SystemProbe): Promise<ResolvedSource> {
  const offered = parseV4l2Formats(await probe.listV4l2Formats(request.device));
  const options = captureOptions(request, "mjpeg");
  const copied = options.codec === "h264" ? offered.h264 : offered.mjpeg;
  const name = codecName(options.codec);
  const format = request.overlay ?? "";
  const drawn = copied || format === "" ? undefined : await drawnOverlay(format, probe);
  return {
    kind: "v4l2",
    ...withCodec(options),
    encodes: !copied,
    argv: v4l2Argv(request.device, {
      ...options,
      cameraGivesMjpeg: offered.mjpeg,
      cameraGivesH264: offered.h264,
      overlay: drawn?.overlay,
    }),
    description: `v4l2 ${request.device} (${copied ? `${name} copied` : `encoded to ${name}`})`,
    overlay: copied && format !== ""
      ? inactive(format, `the camera's own ${name} is copied: no overlay without re-encoding`)
      : drawn?.status ?? overlayOff(format),
  };
}

async function testSource(request: SourceRequest, probe: SystemProbe): Promise<ResolvedSource> {
  const options = captureOptions(request, "mjpeg");
  const suffix = options.codec === "h264" ? ", H.264" : "";
  const format = request.overlay;
  // Not asked about an overlay: the pattern's own clock; asked for none: no clock either.
  const fontFile = format === "" ? undefined : await probe.fontFile();
  const drawn = format ? await drawnOverlay(format, probe) : undefined;
  return {
    kind: "test",
    ...withCodec(options),
    encodes: true,
    argv: testPatternArgv({
      ...options,
      ...(fontFile === undefined ? {} : { fontFile }),
      ...(drawn?.overlay ? { overlay: drawn.overlay } : {}),
    }),
    description: `test pattern ${request.width}x${request.height}@${request.fps}${suffix}`,
    overlay: drawn?.status ?? overlayOff(format ?? ""),
  };
}

async function autoSource(request: SourceRequest, probe: SystemProbe): Promise<ResolvedSource> {
  const found = await findRpicam(probe);
  if (found !== undefined) {
    const reason = found.name === "rpicam-vid"
      ? `rpicam-vid found at ${found.path}`
      : `rpicam-vid not found, libcamera-vid found at ${found.path}`;
    return { ...await rpicamSource(found, request, probe), reason };
  }
  const noRpicam = "neither rpicam-vid nor libcamera-vid on PATH";
  if (await probe.exists(request.device)) {
    return { ...await v4l2Source(request, probe), reason: `${noRpicam}, ${request.device} found` };
  }
  return {
    ...await testSource(request, probe),
    reason: `${noRpicam}, ${request.device} not found`,
  };
}

/** The capture options with the codec decided: `auto` becomes `preferred`. */
function captureOptions(
  request: SourceRequest,
  preferred: Codec,
): CaptureOptions & { codec: Codec } {
  const { width, height, fps, quality } = request;
  const codec = !request.codec || request.codec === "auto" ? preferred : request.codec;
  const options = { width, height, fps, quality, codec };
  return codec === "h264" ? { ...options, h264: h264Defaults(options, request.h264) } : options;
}

function withCodec(
  options: CaptureOptions & { codec: Codec },
): Pick<ResolvedSource, "codec" | "h264"> {
  return options.h264 ? { codec: options.codec, h264: options.h264 } : { codec: options.codec };
}

function overlayOff(format: string): OverlayStatus {
  return { active: false, format, method: null, reason: "off" };
}

function inactive(format: string, reason: string): OverlayStatus {
  return { active: false, format, method: null, reason };
}

/** ffmpeg's drawtext overlay, or why there is none (no font). */
async function drawnOverlay(
  format: string,
  probe: SystemProbe,
): Promise<{ overlay?: DrawnOverlay; status: OverlayStatus }> {
  const fontFile = await probe.fontFile();
  if (fontFile === undefined) {
    return {
      status: inactive(format, "no font for ffmpeg's drawtext: install fonts-dejavu-core"),
    };
  }
  return {
    overlay: { format, fontFile },
    status: { active: true, format, method: "drawtext", reason: null },
  };
}

function defaultPostProcessFile(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cache, "videorecorder", "annotate_cv.json");
}

/**
 * rpicam-apps installs its plugins in `<libdir>/rpicam-apps-postproc/`: `/usr/lib/<triplet>/`
 * from apt, `/usr/local/lib/<triplet>/` built from source, beside the program's `../lib`.
 */
async function rpicamOpencvPlugin(program: string): Promise<string | undefined> {
  const prefix = dirname(dirname(program));
  const libs = [...new Set([join(prefix, "lib"), "/usr/lib", "/usr/local/lib"])];
  for (const lib of libs) {
    const dirs = [join(lib, "rpicam-apps-postproc")];
    try {
      for (const entry of await readdir(lib, { withFileTypes: true })) {
        if (entry.isDirectory()) dirs.push(join(lib, entry.name, "rpicam-apps-postproc"));
      }
    } catch {
      continue; // no such lib directory
    }
    for (const dir of dirs) {
      const path = join(dir, OPENCV_PLUGIN);
      if (await pathExists(path).catch(() => false)) return path;
    }
  }
  return undefined;
}

function codecName(codec: Codec): string {
  return codec === "h264" ? "H.264" : "MJPEG";
}

async function findExecutable(name: string): Promise<string | undefined> {
  if (name.includes("/")) return await isExecutableFile(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? "").split(":")) {
    // An empty PATH entry means the current directory.
    const path = dir === "" ? `./${name}` : `${dir.replace(/\/+$/, "")}/${name}`;
    if (await isExecutableFile(path)) return path;
  }
  return undefined;
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as { code?: unknown })?.code === "ENOENT") return false;
    throw error;
  }
}

async function listV4l2Formats(device: string): Promise<string> {
  let output: ChildOutput;
  try {
    output = await runtime().output("ffmpeg", {
      args: ["-hide_banner", "-nostdin", "-f", "v4l2", "-list_formats", "all", "-i", device],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(LIST_FORMATS_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Error(`Cannot list formats of ${device}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // ffmpeg always exits non-zero here ("Immediate exit requested"); only a kill means it hung.
  if (output.signal !== null) {
    throw new Error(
      `Cannot list formats of ${device}: ffmpeg did not finish within ${LIST_FORMATS_TIMEOUT_MS} ms`,
    );
  }
  return new TextDecoder().decode(output.stderr);
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    return info.isFile() && (info.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}
