/**
 * `deno task bench`: how much CPU and memory the recorder costs on top of ffmpeg.
 *
 * 1. Makes a 1280x720 30 fps MJPEG clip with ffmpeg's `testsrc2`.
 * 2. Lower bound: the camera command (ffmpeg copying the clip to stdout at `--speed` times
 *    real time, in the format the segmenter reads) piped straight into the segmenter ffmpeg
 *    (`segmenterArgv`), under `bash -c`, whose `cutime + cstime` afterwards is the CPU of the
 *    whole pipeline.
 * 3. Ours: `mod.ts` with the same camera command as its source, with live viewers reading
 *    `/stream.mjpg` here in the bench process. bash starts Deno in the background and prints
 *    its PID; Deno's own CPU and peak RSS are read from `/proc` before SIGTERM, and bash's
 *    `cutime + cstime` after it exits is the whole tree's CPU. The camera is paced because
 *    the app, by design, never slows the camera for the recorder: unpaced, the recorder
 *    drops frames once it falls 90 frames behind.
 * 4. Stalled viewers: the app on a real-time source with 10 sockets that never read; Deno's
 *    RSS must stay flat.
 *
 * Both recordings are counted with `ffprobe -count_frames`, so a run that loses frames shows.
 *
 * Real time (issue 13): steps 2 and 3 again on a shorter clip (`--realtime-frames`, 300) with
 * the camera at 1x on both sides, as on the Pi all day: CPU per frame of the whole tree
 * against the paced lower bound, printed beside the `--speed` figures.
 *
 * `--runtime node` (issue 11, item 6) runs step 3 and 4 twice in the same bench run: on Deno
 * (mod.ts), then on Node with the bundle (`dist/videorecorder.mjs`, built by scripts/bundle.ts
 * into the run's temp dir) started as `node [--node-flags] videorecorder.mjs`, measured the
 * same way, printed as a third column. Targets: Node's CPU per frame within 1.2x of Deno's,
 * Node's peak RSS <= 60 MB (a Pi Zero has 512 MB for everything).
 *
 * `--codec h264` (issue 3, item 6) measures the Pi camera's H.264 mode instead: a 1920x1080
 * 30 fps Annex-B clip as the hardware encoder gives it (a keyframe every second, SPS/PPS
 * repeated), the lower bound being raw H.264 piped straight into the segmenter (which then
 * reads `-f h264` instead of the app's Matroska), and the app run twice in the same bench run:
 * (a) with no viewer, (b) with one viewer on `/stream.mjpg`, which starts the preview decoder.
 * (b) − (a) is the preview's cost per viewer. The stalled-viewer check is skipped unless asked.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULTS } from "../src/config/mod.ts";
import { FrameHub } from "../src/frames/frame_hub.ts";
import type { Frame } from "../src/frames/frame.ts";
import { H264AccessUnitStream } from "../src/frames/h264_access_unit_stream.ts";
import { Mp4LiveStreams } from "../src/live/mp4_live_streams.ts";
import { segmenterArgv } from "../src/recorder/segmenter_argv.ts";
import { bundle } from "./bundle.ts";
import {
  clockTicksPerSecond,
  parseProcStat,
  type ProcMemory,
  type ProcStat,
  readChildren,
  readContextSwitches,
  readProcMemory,
  readProcName,
  readProcStat,
  ShellJob,
  shellQuote,
  tail,
} from "./_proc.ts";

/**
 * What the Node run gets by default: the same young-generation cap as Deno's
 * `--v8-flags=--max-semi-space-size=1` in `deno task start`, so both run alike.
 */
const DEFAULT_NODE_FLAGS = "--max-semi-space-size=1";

const HELP = `Usage: deno task bench [options]

Records a generated 720p30 MJPEG clip through the app, with live viewers, and through
ffmpeg alone (the lower bound), both faster than real time; prints CPU per frame, peak RSS
and the ratio. Then checks that RSS stays flat with 10 viewers that never read.
With --codec h264: a 1080p30 H.264 clip (as the Pi's hardware encoder gives it), recorded
through the app with no viewer and again with one, against raw H.264 piped into ffmpeg's
segmenter; prints both ratios and the live view's extra cost per viewer.

Options:
  --frames N          frames in the clip (default: 1800, one minute at 30 fps; h264: 900)
  --viewers N         live viewers during the recording run (default: 3); h264: viewers
                      in the second run, at least 1 (default: 1)
  --speed X           camera reads the clip at X times real time on both sides (ffmpeg
                      -readrate); 0 = as fast as it can (default: 5). The app never slows
                      the camera down for the recorder (a live camera cannot wait), so
                      past what the recorder sustains it drops frames, and the run says so
  --realtime-frames N frames of a second, shorter pair of runs with the camera at 1x real
                      time (as on the Pi all day) on both sides: CPU per frame of the whole
                      tree against the paced lower bound, printed beside the --speed figures;
                      0 skips it (default: 300, 10 s)
  --stall-seconds N   how long to watch RSS with 10 stalled viewers; 0 skips it (default: 20;
                      h264: 0, skipped)
  --stall-warmup N    seconds the stalled viewers are connected before that (default: 20):
                      V8's heap grows for about 20 s before its first full collection
                      even with no viewer, which would hide or fake a leak
  --codec CODEC       mjpeg (default) or h264
  --runtime RUNTIME   deno (default), or node (also: both): the app runs on Deno and then,
                      in the same bench run, as the Node bundle on the host's node; printed
                      side by side (mjpeg only)
  --node-flags=FLAGS  flags for node, space-separated, after "=" as they start with a dash
                      (default: "${DEFAULT_NODE_FLAGS}")
  --json              also print the results as one JSON object at the end
  -h, --help          show this help and exit

Targets (issue 13): CPU ratio <= 1.5 with 3 viewers, peak RSS <= 70 MB, RSS growth <= 5 MB stalled;
h264: CPU ratio <= 1.3 with no viewer, the preview's extra cost per viewer stated.
--runtime node: Node's CPU per frame <= 1.2x Deno's, Node's peak RSS <= 60 MB.
The exit code is 0 whether or not the targets are met; 1 when the bench itself failed.
`;

const TARGET_RATIO = 1.5;
const TARGET_RATIO_H264 = 1.3;
const TARGET_RSS_MB = 70;
const TARGET_GROWTH_MB = 5;
/** Issue 11: Node's whole-tree CPU per frame at most this times Deno's. */
const TARGET_NODE_CPU = 1.2;
/** Issue 11: Node's peak RSS at 720p30 MJPEG with 3 viewers (a Pi Zero has 512 MB in all). */
const TARGET_NODE_RSS_MB = 60;
const STALLED_VIEWERS = 10;
const FPS = 30;
/** Keyframe interval of the H.264 clip, in frames: the Pi camera's default, one second. */
const H264_INTRA = 30;
/** What each codec's run records: the Pi camera's picture in that mode. */
const CLIP_SPECS = {
  mjpeg: { width: 1280, height: 720, frames: 1800, viewers: 3, stallSeconds: 20 },
  h264: { width: 1920, height: 1080, frames: 900, viewers: 1, stallSeconds: 0 },
} as const;
/**
 * An access unit delimiter, printed by the H.264 camera command after the clip: Annex-B has
 * no lengths, so the app's parser emits a picture only when the next one starts. A live camera
 * always sends a next one; the clip's last picture needs this one (the delimiter alone is
 * never a frame).
 */
const AUD_PRINTF = String.raw`printf '\000\000\000\001\011\360'`;
const SEGMENT_SECONDS = 10;
const POLL_MS = 50;
/**
 * What ffmpeg's segmenter says about wall-clock timestamps when frames come faster than real
 * time (as here): counted on both sides instead of printed.
 */
const DTS_WARNING = /Non-monotonous DTS/;
/** Basic credentials for the app under test (`$VIDEORECORDER_PASSWORD`), made up per run. */
const USER = "admin";
const PASSWORD = crypto.randomUUID();
const AUTHORIZATION = `Basic ${btoa(`${USER}:${PASSWORD}`)}`;
const MOD_PATH = fileURLToPath(new URL("../mod.ts", import.meta.url));
const NODE_MAIN_PATH = fileURLToPath(new URL("../src/node_main.ts", import.meta.url));
const REPO_DIR = fileURLToPath(new URL("..", import.meta.url));

type BenchCodec = keyof typeof CLIP_SPECS;

/** How the app under test is started: the command before its own arguments. */
interface AppRuntime {
  /** "Deno" or "Node", for the report. */
  label: string;
  /** The runtime process's name in /proc/<pid>/comm. */
  comm: string;
  /** Program and arguments up to the app's own flags. */
  argv: string[];
  /** The runtime's version, for the report. */
  version: string;
}

/** One runtime's results in an MJPEG run. */
interface RuntimeRun {
  runtime: AppRuntime;
  ours: OursResult;
  stalled: StalledResult | undefined;
}

/** Validated command-line options. */
interface BenchOptions {
  codec: BenchCodec;
  frames: number;
  viewers: number;
  stallSeconds: number;
  stallWarmup: number;
  speed: number;
  /** Frames of the real-time run (camera at 1x, both sides); 0 skips it. */
  realtimeFrames: number;
  json: boolean;
  /** Also on Node (the bundle), beside Deno. */
  node: boolean;
  nodeFlags: string[];
}

interface ClipInfo {
  path: string;
  codec: BenchCodec;
  width: number;
  height: number;
  frames: number;
  bytes: number;
  meanFrameBytes: number;
}

interface LowerBoundResult {
  wallS: number;
  cpuMs: number;
  framesRecorded: number;
  clips: number;
  dtsWarnings: number;
}

interface OursResult {
  /** From the first `/api/status` answer to all frames handed to the segmenter. */
  wallS: number;
  /** Spawn to the first `/api/status` answer. */
  startupS: number;
  cpuMs: number;
  denoCpuMs: number;
  /** Of which in user space (the rest is the kernel: pipes, sockets, files). */
  denoUserMs: number;
  denoStartupCpuMs: number;
  /** Deno's threads going to sleep per frame after start-up: roughly, event-loop wakeups. */
  denoSleepsPerFrame: number;
  peakRssMb: number;
  /** RssAnon and RssFile just before SIGTERM (see ProcMemory). */
  rssAnonMb: number;
  rssFileMb: number;
  viewerFrames: number[];
  cameraFrames: number;
  recorderFrames: number;
  recorderDropped: number;
  framesRecorded: number;
  clips: number;
  dtsWarnings: number;
  /** The last lines the app's camera, recorder and preview printed on stderr, DTS warnings aside. */
  appWarnings: string[];
  /** H.264 only: CPU of Deno's children, sampled with Deno's (a child that ended is not here). */
  children?: ChildCpu[];
  /** H.264 only: the preview's status at the end, and its rate while frames came in. */
  preview?: PreviewResult;
}

interface ChildCpu {
  label: string;
  cpuMs: number;
}

interface PreviewResult {
  state: string;
  keyframesOnly: boolean;
  width: number;
  height: number;
  frames: number;
  restarts: number;
  /** `preview.fps` polled while the camera delivered frames: median and highest (null: none). */
  fpsMedian: number | null;
  fpsMax: number | null;
}

interface StalledResult {
  warmup: number;
  seconds: number;
  /** VmRSS each second of the warm-up, then of the window the verdict is on. */
  warmupRssMb: number[];
  rssMb: number[];
  firstMb: number;
  maxMb: number;
  lastMb: number;
  growthMb: number;
  /** Frames the app handed each stalled viewer, at the end. */
  stalledFrames: number[];
  cameraFrames: number;
  recorderDropped: number;
}

/** Raised for a bad flag: printed with a hint, exit code 2. */
class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const interrupt = new AbortController();
/** Jobs still running, ended on the way out whatever happens. */
const jobs = new Set<ShellJob>();

/** Runs the bench; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    const parsed = parseOptions(args);
    if (parsed === "help") {
      console.log(HELP);
      return 0;
    }
    options = parsed;
  } catch (error) {
    if (!(error instanceof UsageError || isParseArgsError(error))) throw error;
    console.error(`bench: ${messageOf(error)}\nTry --help for the list of options.`);
    return 2;
  }

  let interrupts = 0;
  const onInterrupt = () => {
    if (++interrupts > 1) Deno.exit(130);
    console.error("\nInterrupted: stopping what the bench started (Ctrl-C again to force)");
    interrupt.abort(new Error("Interrupted"));
  };
  // SIGTERM and SIGHUP too (`timeout`, a closed terminal): the app runs in its own process
  // group, so nothing else would stop it.
  for (const signal of STOP_SIGNALS) Deno.addSignalListener(signal, onInterrupt);
  const temp = await Deno.makeTempDir({ prefix: "videorecorder-bench-" });
  try {
    const results = await bench(options, temp);
    if (options.json) console.log(JSON.stringify(results));
    return 0;
  } catch (error) {
    console.error(`bench: ${messageOf(error)}`);
    return 1;
  } finally {
    await stopAll();
    await Deno.remove(temp, { recursive: true }).catch((error) => {
      console.error(`bench: Cannot remove ${temp}: ${messageOf(error)}`);
    });
    for (const signal of STOP_SIGNALS) Deno.removeSignalListener(signal, onInterrupt);
  }
}

function parseOptions(args: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args,
    options: {
      frames: { type: "string" },
      viewers: { type: "string" },
      "stall-seconds": { type: "string" },
      "stall-warmup": { type: "string", default: "20" },
      speed: { type: "string", default: "5" },
      "realtime-frames": { type: "string", default: "300" },
      codec: { type: "string", default: "mjpeg" },
      runtime: { type: "string", default: "deno" },
      "node-flags": { type: "string", default: DEFAULT_NODE_FLAGS },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const codec = values.codec;
  if (codec !== "mjpeg" && codec !== "h264") {
    throw new UsageError(
      `Invalid --codec: expected mjpeg or h264, got ${JSON.stringify(values.codec)}`,
    );
  }
  const runtime = values.runtime;
  if (runtime !== "deno" && runtime !== "node" && runtime !== "both") {
    throw new UsageError(
      `Invalid --runtime: expected deno, node or both, got ${JSON.stringify(runtime)}`,
    );
  }
  const node = runtime !== "deno";
  if (node && codec === "h264") {
    throw new UsageError("Invalid --runtime: node is measured with --codec mjpeg only");
  }
  const spec = CLIP_SPECS[codec];
  return {
    node,
    nodeFlags: values["node-flags"].split(/\s+/).filter(Boolean),
    codec,
    frames: wholeNumber("--frames", values.frames ?? String(spec.frames), 1),
    // In h264 mode the viewers are the second run's: zero would repeat the first.
    viewers: wholeNumber(
      "--viewers",
      values.viewers ?? String(spec.viewers),
      codec === "h264" ? 1 : 0,
    ),
    stallSeconds: wholeNumber(
      "--stall-seconds",
      values["stall-seconds"] ?? String(spec.stallSeconds),
      0,
    ),
    stallWarmup: wholeNumber("--stall-warmup", values["stall-warmup"], 0),
    speed: speedOption(values.speed),
    realtimeFrames: wholeNumber("--realtime-frames", values["realtime-frames"], 0),
    json: values.json,
  };
}

function speedOption(text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(value >= 0)) {
    throw new UsageError(`Invalid --speed: expected a number >= 0, got ${JSON.stringify(text)}`);
  }
  return value;
}

function wholeNumber(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(
      `Invalid ${flag}: expected a whole number >= ${min}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

function bench(options: BenchOptions, temp: string): Promise<Record<string, unknown>> {
  return options.codec === "h264" ? benchH264(options, temp) : benchMjpeg(options, temp);
}

async function benchMjpeg(
  options: BenchOptions,
  temp: string,
): Promise<Record<string, unknown>> {
  const ticks = await clockTicksPerSecond();
  const ffmpeg = await ffmpegVersion();
  const runtimes = [denoRuntime()];
  if (options.node) runtimes.push(await nodeRuntime(temp, options.nodeFlags));
  const { width, height } = CLIP_SPECS.mjpeg;
  console.log(
    `videorecorder bench: ${options.frames} frames of ${width}x${height} MJPEG, ` +
      `${options.viewers} viewer(s), camera at ${options.speed || "full"}x real time; ` +
      `${runtimes.map((runtime) => `${runtime.label} ${runtime.version}`).join(", ")}, ` +
      `ffmpeg ${ffmpeg}, ${navigator.hardwareConcurrency} CPUs, CLK_TCK ${ticks}`,
  );

  const clip = await makeClip(join(temp, "clip.mjpeg"), options.frames, "mjpeg");
  console.log(
    `Clip: ${mb(clip.bytes).toFixed(1)} MB, mean frame ${
      (clip.meanFrameBytes / 1024).toFixed(1)
    } KiB`,
  );

  console.log("Lower bound: ffmpeg | ffmpeg segmenter ...");
  const lower = await runLowerBound(clip, join(temp, "lower"), {
    ticks,
    speed: options.speed,
    segmenter: (output) =>
      segmenterArgv({ output, segmentSeconds: SEGMENT_SECONDS, startNumber: 0 }),
  });
  const runs: RuntimeRun[] = [];
  for (const runtime of runtimes) {
    const name = runtime.label.toLowerCase();
    console.log(
      `Ours on ${runtime.label}: ${runtime.argv.slice(-1)[0].split("/").pop()} ` +
        `with the clip as its camera ...`,
    );
    const ours = await runOurs(clip, join(temp, `ours-${name}`), {
      ticks,
      speed: options.speed,
      viewers: options.viewers,
      runtime,
    });
    let stalled: StalledResult | undefined;
    if (options.stallSeconds > 0) {
      console.log(
        `Stalled viewers on ${runtime.label}: ${STALLED_VIEWERS} sockets that never read, ` +
          `${options.stallWarmup} s warm-up + ${options.stallSeconds} s ...`,
      );
      stalled = await runStalled(clip, join(temp, `stalled-${name}`), {
        warmup: options.stallWarmup,
        seconds: options.stallSeconds,
        runtime,
      });
    }
    runs.push({ runtime, ours, stalled });
  }

  printReport({ clip, lower, runs, viewers: options.viewers });
  const realTime = await runRealTime(options, temp, ticks, {
    segmenter: (output) =>
      segmenterArgv({ output, segmentSeconds: SEGMENT_SECONDS, startNumber: 0 }),
    viewers: options.viewers,
    unpacedRatio: runs[0].ours.cpuMs / lower.cpuMs,
  });
  const summary = (run: RuntimeRun) => {
    const { ours, stalled } = run;
    const ratio = ours.cpuMs / lower.cpuMs;
    return {
      runtime: run.runtime.label,
      version: run.runtime.version,
      argv: run.runtime.argv,
      ours: {
        ...ours,
        cpuMsPerFrame: ours.cpuMs / clip.frames,
        denoCpuMsPerFrame: ours.denoCpuMs / clip.frames,
      },
      ratio,
      ratioAfterStartup: (ours.cpuMs - ours.denoStartupCpuMs) / lower.cpuMs,
      stalled: stalled ?? null,
      pass: {
        ratio: ratio <= TARGET_RATIO,
        rss: ours.peakRssMb <= TARGET_RSS_MB,
        stalledRssFlat: stalled ? stalled.growthMb <= TARGET_GROWTH_MB : null,
      },
    };
  };
  const [deno, node] = runs;
  return {
    frames: options.frames,
    viewers: options.viewers,
    clip: { bytes: clip.bytes, meanFrameBytes: Math.round(clip.meanFrameBytes) },
    lowerBound: { ...lower, cpuMsPerFrame: lower.cpuMs / clip.frames },
    realTime,
    ...summary(deno),
    ...(node && {
      node: {
        ...summary(node),
        cpuVsDeno: node.ours.cpuMs / deno.ours.cpuMs,
        pass: {
          ...summary(node).pass,
          cpuVsDeno: node.ours.cpuMs / deno.ours.cpuMs <= TARGET_NODE_CPU,
          nodeRss: node.ours.peakRssMb <= TARGET_NODE_RSS_MB,
        },
      },
    }),
  };
}

/** mod.ts on this Deno, as `deno task start` runs it. */
function denoRuntime(): AppRuntime {
  return {
    label: "Deno",
    comm: "deno",
    argv: [
      Deno.execPath(),
      "run",
      "--allow-all",
      "--v8-flags=--max-semi-space-size=1", // as `deno task start` and the binary run it
      MOD_PATH,
    ],
    version: Deno.version.deno,
  };
}

/** The Node bundle, built now into `temp`, on the host's `node` with `flags`. */
async function nodeRuntime(temp: string, flags: string[]): Promise<AppRuntime> {
  let version;
  try {
    version = (await run(["node", "--version"])).trim().replace(/^v/, "");
  } catch (error) {
    throw new Error(`Cannot run node for --runtime node: ${messageOf(error)}`);
  }
  const outfile = join(temp, "videorecorder.mjs");
  const report = await bundle(NODE_MAIN_PATH, outfile);
  console.log(
    `Bundle: ${(report.bytes / 1024).toFixed(0)} KiB in ${report.buildMs.toFixed(0)} ms; ` +
      `node ${[...flags, basename(outfile)].join(" ")}`,
  );
  return { label: "Node", comm: "node", argv: ["node", ...flags, outfile], version };
}

async function benchH264(
  options: BenchOptions,
  temp: string,
): Promise<Record<string, unknown>> {
  const { speed, viewers } = options;
  const ticks = await clockTicksPerSecond();
  const ffmpeg = await ffmpegVersion();
  const { width, height } = CLIP_SPECS.h264;
  console.log(
    `videorecorder bench: ${options.frames} frames of ${width}x${height} H.264 ` +
      `(keyframe every ${H264_INTRA}), no viewer then ${viewers} viewer(s), ` +
      `camera at ${speed || "full"}x real time; Deno ${Deno.version.deno}, ffmpeg ${ffmpeg}, ` +
      `${navigator.hardwareConcurrency} CPUs, CLK_TCK ${ticks}`,
  );

  const clip = await makeClip(join(temp, "clip.h264"), options.frames, "h264");
  console.log(
    `Clip: ${mb(clip.bytes).toFixed(1)} MB, mean frame ${
      (clip.meanFrameBytes / 1024).toFixed(1)
    } KiB (${(clip.meanFrameBytes * 8 * FPS / 1e6).toFixed(1)} Mbit/s at ${FPS} fps)`,
  );

  console.log("Lower bound: ffmpeg | ffmpeg segmenter reading raw H.264 ...");
  const lower = await runLowerBound(clip, join(temp, "lower"), {
    ticks,
    speed,
    segmenter: rawH264SegmenterArgv,
  });
  console.log("Ours (a): mod.ts --codec h264 with the clip as its camera, no viewer ...");
  const runtime = denoRuntime();
  const alone = await runOurs(clip, join(temp, "alone"), { ticks, speed, viewers: 0, runtime });
  console.log(
    `Ours (b): the same with ${viewers} viewer(s) on /stream.mjpg (the preview decoder runs) ...`,
  );
  const watched = await runOurs(clip, join(temp, "watched"), { ticks, speed, viewers, runtime });
  console.log(`Ours (c): the same with ${viewers} viewer(s) on /live.mp4 (no decoding) ...`);
  const mp4Watched = await runOurs(clip, join(temp, "mp4"), {
    ticks,
    speed,
    viewers,
    runtime,
    live: "mp4",
  });
  console.log("MSE live path in-process: Mp4LiveStreams on a socket, the clip at 30 fps ...");
  const mp4Path = await benchMp4Path(clip);
  let stalled: StalledResult | undefined;
  if (options.stallSeconds > 0) {
    console.log(
      `Stalled viewers: ${STALLED_VIEWERS} sockets that never read, ` +
        `${options.stallWarmup} s warm-up + ${options.stallSeconds} s ...`,
    );
    stalled = await runStalled(clip, join(temp, "stalled"), {
      warmup: options.stallWarmup,
      seconds: options.stallSeconds,
      runtime,
    });
  } else {
    console.log("Stalled viewers: skipped in h264 mode (--stall-seconds N runs it)");
  }

  const n = clip.frames;
  const side = (ours: OursResult) => ({
    ...ours,
    cpuMsPerFrame: ours.cpuMs / n,
    denoCpuMsPerFrame: ours.denoCpuMs / n,
    treeMinusDenoCpuMsPerFrame: (ours.cpuMs - ours.denoCpuMs) / n,
    ratio: ours.cpuMs / lower.cpuMs,
    ratioAfterStartup: (ours.cpuMs - ours.denoStartupCpuMs) / lower.cpuMs,
  });
  const a = side(alone);
  const b = side(watched);
  const extraMsPerFrame = (b.cpuMs - a.cpuMs) / n;
  const previewCost: PreviewCost = {
    viewers,
    cpuMsPerFrame: extraMsPerFrame,
    corePercentAt30Fps: extraMsPerFrame * FPS / 10,
    denoCpuMsPerFrame: (b.denoCpuMs - a.denoCpuMs) / n,
    decoderCpuMsPerFrame: childCpuMs(watched, "preview") / n,
    expectedPreviewFrames: expectedPreviewFrames(n, watched.preview!.keyframesOnly),
  };
  printH264Report({ clip, lower, alone: a, watched: b, previewCost, stalled, speed });
  const mp4Cost = {
    viewers,
    cpuMsPerFramePerViewer: (mp4Watched.cpuMs - alone.cpuMs) / n / viewers,
    denoCpuMsPerFramePerViewer: (mp4Watched.denoCpuMs - alone.denoCpuMs) / n / viewers,
    framesPerViewer: mp4Watched.viewerFrames,
    preview: mp4Watched.preview?.state ?? null,
    inProcess: mp4Path,
  };
  printMp4Report(mp4Cost, n);
  const realTime = await runRealTime(options, temp, ticks, {
    segmenter: rawH264SegmenterArgv,
    viewers: 0,
    unpacedRatio: a.ratio,
  });
  return {
    codec: "h264",
    frames: n,
    speed,
    viewers,
    clip: {
      width,
      height,
      intra: H264_INTRA,
      bytes: clip.bytes,
      meanFrameBytes: Math.round(clip.meanFrameBytes),
    },
    lowerBound: { ...lower, cpuMsPerFrame: lower.cpuMs / n },
    noViewer: a,
    withViewers: b,
    previewExtraCost: previewCost,
    mp4Live: mp4Cost,
    realTime,
    stalled: stalled ?? null,
    pass: {
      ratioNoViewer: a.ratio <= TARGET_RATIO_H264,
      mp4CpuPerViewer: mp4Path.cpuMsPerFramePerViewer <= TARGET_MP4_MS_PER_FRAME,
      mp4Latency: mp4Path.latencyMs.p99 < 1000 / FPS,
      stalledRssFlat: stalled ? stalled.growthMb <= TARGET_GROWTH_MB : null,
    },
  };
}

/** The real-time pair of runs: both sides with the camera at 1x, as on the Pi all day. */
interface RealTimeResult {
  frames: number;
  viewers: number;
  lowerCpuMsPerFrame: number;
  oursCpuMsPerFrame: number;
  denoCpuMsPerFrame: number;
  ratio: number;
  ratioAfterStartup: number;
  framesRecorded: number;
  dropped: number;
}

/**
 * The lower bound and ours again on a shorter clip, the camera at 1x real time (`--speed`
 * runs faster than that to measure in less time; at 1x each frame is its own event-loop
 * turn and its own wake-ups, which is what the Pi pays all day). Prints one line beside the
 * `--speed` figures; undefined when `--realtime-frames 0`.
 */
async function runRealTime(
  options: BenchOptions,
  temp: string,
  ticks: number,
  { segmenter, viewers, unpacedRatio }: {
    segmenter: (output: string) => string[];
    viewers: number;
    unpacedRatio: number;
  },
): Promise<RealTimeResult | undefined> {
  const frames = options.realtimeFrames;
  if (frames === 0) return undefined;
  console.log(
    `\nReal time: ${frames} frames with the camera at 1x on both sides, ${viewers} viewer(s) ...`,
  );
  const clip = await makeClip(join(temp, `realtime.${options.codec}`), frames, options.codec);
  const lower = await runLowerBound(clip, join(temp, "realtime-lower"), {
    ticks,
    speed: 1,
    segmenter,
  });
  const ours = await runOurs(clip, join(temp, "realtime-ours"), {
    ticks,
    speed: 1,
    viewers,
    runtime: denoRuntime(),
    // Once a second, as the page does: at 50 ms the status answers would cost more than
    // the frames at 30 fps.
    pollMs: 1000,
  });
  const result: RealTimeResult = {
    frames,
    viewers,
    lowerCpuMsPerFrame: lower.cpuMs / frames,
    oursCpuMsPerFrame: ours.cpuMs / frames,
    denoCpuMsPerFrame: ours.denoCpuMs / frames,
    ratio: ours.cpuMs / lower.cpuMs,
    ratioAfterStartup: (ours.cpuMs - ours.denoStartupCpuMs) / lower.cpuMs,
    framesRecorded: ours.framesRecorded,
    dropped: ours.recorderDropped,
  };
  console.log(
    `Real time (1x, ${frames} frames): whole tree ${
      result.oursCpuMsPerFrame.toFixed(3)
    } ms/frame ` +
      `(Deno ${result.denoCpuMsPerFrame.toFixed(3)}) against the paced lower bound ` +
      `${result.lowerCpuMsPerFrame.toFixed(3)}: ratio ${result.ratio.toFixed(2)}, ` +
      `${result.ratioAfterStartup.toFixed(2)} without Deno's start-up; at ${
        options.speed || "full"
      }x: ${unpacedRatio.toFixed(2)}. Recorded ${ours.framesRecorded}/${frames}` +
      (ours.recorderDropped ? `, ${ours.recorderDropped} dropped !!!` : ""),
  );
  return result;
}

/**
 * The live view's cost: the run with viewers minus the run without, per camera frame. With one
 * viewer (the default) that is the cost per viewer; more viewers share one decoder.
 */
interface PreviewCost {
  viewers: number;
  cpuMsPerFrame: number;
  corePercentAt30Fps: number;
  /** Of which Deno (feeding the decoder, serving its JPEGs). */
  denoCpuMsPerFrame: number;
  /** The decoder ffmpeg's own CPU in the run with viewers (sampled before SIGTERM). */
  decoderCpuMsPerFrame: number;
  /** JPEGs the preview would make from the whole clip at the default `--preview-fps`. */
  expectedPreviewFrames: number;
}

/** CPU of Deno's children with that label, sampled before SIGTERM (0 when none). */
function childCpuMs(ours: OursResult, label: string): number {
  return (ours.children ?? []).filter((child) => child.label === label)
    .reduce((sum, child) => sum + child.cpuMs, 0);
}

/**
 * Keyframes only: one picture per keyframe; else every n-th frame (as `H264Preview` selects).
 */
function expectedPreviewFrames(frames: number, keyframesOnly: boolean): number {
  const every = keyframesOnly ? H264_INTRA : Math.max(1, Math.round(FPS / DEFAULTS.previewFps));
  return Math.ceil(frames / every);
}

/** Issue 12: CPU per camera frame per `/live.mp4` viewer at 1080p30. */
const TARGET_MP4_MS_PER_FRAME = 0.1;
/** Rounds of (no viewer, one viewer) in the in-process measurement. */
const MP4_ROUNDS = 3;

/** What {@linkcode benchMp4Path} measures. */
interface Mp4PathResult {
  frames: number;
  /** Deno's CPU per frame with one viewer (curl) minus with none, same frames, same pace. */
  cpuMsPerFramePerViewer: number;
  /** That difference in each round (the median is the result). */
  cpuMsPerFrameRounds: number[];
  /** From `hub.publish` to the fragment's last byte read by a client on 127.0.0.1. */
  latencyMs: { p50: number; p99: number; max: number };
  skips: number;
}

/**
 * The MSE live path alone, in this process: the clip's access units published on a hub at
 * 30 fps, `Mp4LiveStreams` serving them on a real socket. CPU: this process's with one
 * viewer (curl, in its own process) minus with none, over the same frames. Latency: with a
 * fetch client here, from publishing a frame to reading the end of its fragment, which is
 * later than the fragment leaving the server's socket.
 */
async function benchMp4Path(clip: ClipInfo): Promise<Mp4PathResult> {
  const frames: Frame[] = [];
  const parsed = (await Deno.open(clip.path)).readable.pipeThrough(new H264AccessUnitStream());
  for await (const frame of parsed) frames.push(frame);
  const count = Math.min(frames.length, 10 * FPS);
  const hub = new FrameHub();
  const streams = new Mp4LiveStreams(hub);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async () => (await streams.response()) ?? new Response(null, { status: 503 }),
  );
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const published: number[] = [];
  let seq = 0;
  /** Publishes `count` frames at 30 fps from the clip's start; the CPU ms it cost. */
  const play = async () => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = start + (i * 1000) / FPS - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      published[i] = performance.now();
      hub.publish({ ...frames[i], seq: seq++, time: Date.now() });
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // the last ones leave
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / 1000;
  };
  try {
    // Alternated, three times: a GC or a neighbour's burst lands in one pair, not in all.
    const costs: number[] = [];
    for (let round = 0; round < MP4_ROUNDS; round++) {
      const idle = await play();
      const curl = new Deno.Command("curl", {
        args: ["-s", "-N", "-o", "/dev/null", url],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await waitFor("curl to connect", () => streams.count === 1, 5_000);
      const watched = await play();
      curl.kill("SIGTERM");
      await curl.status;
      await waitFor("curl to leave", () => streams.count === 0, 5_000);
      costs.push((watched - idle) / count);
    }
    // Latency: a client in this process, timing the end of each fragment.
    const received: number[] = [];
    let skips = 0;
    const reading = (async () => {
      const response = await fetch(url);
      const reader = response.body!.getReader();
      let need = 0; // bytes left of the current box
      let head: number[] = [];
      let type = "";
      while (received.length < count) {
        const { value, done } = await reader.read();
        if (done) break;
        for (let at = 0; at < value.length;) {
          if (need === 0) {
            head.push(value[at++]);
            if (head.length < 8) continue;
            need = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
            type = String.fromCharCode(...head.slice(4));
            need -= 8;
            head = [];
            if (need === 0 && type === "mdat") received.push(performance.now());
            continue;
          }
          const take = Math.min(need, value.length - at);
          need -= take;
          at += take;
          if (need === 0 && type === "mdat") received.push(performance.now());
        }
      }
      skips = streams.viewers[0]?.skips ?? 0;
      await reader.cancel();
    })();
    await waitFor("the client to connect", () => streams.count === 1, 5_000);
    await play();
    await reading;
    // The client starts at the first keyframe published after it came: frame 0 of the clip.
    const latencies = received.map((at, i) => at - published[i]).sort((x, y) => x - y);
    const pick = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
    return {
      frames: count,
      cpuMsPerFramePerViewer: costs.sort((x, y) => x - y)[costs.length >> 1],
      cpuMsPerFrameRounds: costs,
      latencyMs: { p50: pick(0.5), p99: pick(0.99), max: latencies[latencies.length - 1] },
      skips,
    };
  } finally {
    await streams.closeAll();
    await server.shutdown();
  }
}

/** Polls `probe` every 20 ms until it holds. */
async function waitFor(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function printMp4Report(
  cost: {
    viewers: number;
    cpuMsPerFramePerViewer: number;
    denoCpuMsPerFramePerViewer: number;
    framesPerViewer: number[];
    preview: string | null;
    inProcess: Mp4PathResult;
  },
  frames: number,
): void {
  const { inProcess: p } = cost;
  console.log(
    [
      "",
      `MSE live path (/live.mp4), ${cost.viewers} viewer(s):`,
      `  app run (c) - (a): ${cost.cpuMsPerFramePerViewer.toFixed(3)} ms CPU per camera frame ` +
      `per viewer (Deno ${cost.denoCpuMsPerFramePerViewer.toFixed(3)}); fragments per viewer ` +
      `${cost.framesPerViewer.join(", ")} of ${frames}; preview decoder ${cost.preview}`,
      `  in-process, ${p.frames} frames at ${FPS} fps, curl as the viewer: ` +
      `${p.cpuMsPerFramePerViewer.toFixed(4)} ms CPU per frame per viewer, median of ` +
      `${p.cpuMsPerFrameRounds.map((ms) => ms.toFixed(4)).join(", ")} ` +
      `(target <= ${TARGET_MP4_MS_PER_FRAME}: ` +
      `${p.cpuMsPerFramePerViewer <= TARGET_MP4_MS_PER_FRAME ? "pass" : "FAIL"})`,
      `  latency publish -> fragment read by a client on 127.0.0.1: p50 ` +
      `${p.latencyMs.p50.toFixed(2)} ms, p99 ${p.latencyMs.p99.toFixed(2)} ms, max ` +
      `${p.latencyMs.max.toFixed(2)} ms (target p99 < one frame, ${(1000 / FPS).toFixed(1)} ms: ` +
      `${p.latencyMs.p99 < 1000 / FPS ? "pass" : "FAIL"}); skips ${p.skips}`,
    ].join("\n"),
  );
}

async function makeClip(path: string, frames: number, codec: BenchCodec): Promise<ClipInfo> {
  const { width, height } = CLIP_SPECS[codec];
  const encode = codec === "h264"
    // Like the Pi's hardware encoder with `--inline`: Annex-B, a keyframe every second, SPS and
    // PPS before each keyframe, no B-frames (ultrafast has none), 6 Mbit/s.
    ? [
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-pix_fmt",
      "yuv420p",
      "-g",
      String(H264_INTRA),
      "-b:v",
      "6M",
      "-x264-params",
      "repeat-headers=1",
      "-f",
      "h264",
    ]
    : ["-pix_fmt", "yuvj420p", "-c:v", "mjpeg", "-q:v", "5", "-f", "mjpeg"];
  await run([
    "ffmpeg",
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${width}x${height}:rate=${FPS}`,
    "-frames:v",
    String(frames),
    ...encode,
    path,
  ]);
  const { size } = await Deno.stat(path);
  return { path, codec, width, height, frames, bytes: size, meanFrameBytes: size / frames };
}

/**
 * The camera command both sides run, reading the clip at `speed` times real time (0: as fast
 * as it can); `loop` repeats it forever. It prints MJPEG, or the same frames in `format`.
 */
function cameraCommand(
  clip: string,
  { speed, loop = false, format = "mjpeg" }: { speed: number; loop?: boolean; format?: string },
): string {
  const input = [
    ...(speed > 0 ? ["-readrate", String(speed), "-framerate", String(FPS)] : []),
    ...(loop ? ["-stream_loop", "-1"] : []),
    "-i",
    clip,
  ];
  return [
    "ffmpeg",
    "-hide_banner",
    "-loglevel",
    "error",
    ...input,
    "-c",
    "copy",
    "-f",
    format,
    "-",
  ]
    .map(shellQuote).join(" ");
}

async function runLowerBound(
  clip: ClipInfo,
  output: string,
  { ticks, speed, segmenter: segmenterFor }: {
    ticks: number;
    speed: number;
    /** The segmenter's argv, writing to `output`. */
    segmenter: (output: string) => string[];
  },
): Promise<LowerBoundResult> {
  await Deno.mkdir(output);
  const segmenter = segmenterFor(output);
  // The camera's ffmpeg hands the segmenter what the app would: MJPEG, or the frames wrapped
  // in whatever container the segmenter reads (Matroska since the app stamps capture times).
  const camera = cameraCommand(clip.path, { speed, format: inputFormat(segmenter) });
  // `read` is a builtin: no child of bash runs between the pipeline and the stat read.
  const script = [
    "set -o pipefail",
    `${camera} | ${segmenter.map(shellQuote).join(" ")}`,
    "code=$?",
    "read -r stat < /proc/$$/stat",
    'echo "EXIT $code"',
    'echo "STAT $stat"',
  ].join("\n");
  let dtsWarnings = 0;
  const started = performance.now();
  const job = track(
    new ShellJob(script, { onStderrLine: (line) => DTS_WARNING.test(line) && ++dtsWarnings > 0 }),
  );
  if (!await interruptible(job.endsWithin(timeoutFor(clip.frames)))) {
    throw new Error(`Lower bound did not finish in ${timeoutFor(clip.frames) / 1000} s`);
  }
  const wallS = (performance.now() - started) / 1000;
  const result = await job.done;
  jobs.delete(job);
  const code = result.stdout.find((line) => line.startsWith("EXIT "))?.slice(5);
  const stat = result.stdout.find((line) => line.startsWith("STAT "))?.slice(5);
  if (code !== "0" || stat === undefined) {
    throw new Error(`Lower bound pipeline failed (exit ${code ?? "?"})` + tail(result.stderr));
  }
  const { cutime, cstime } = parseProcStat(stat);
  const recorded = await countRecordedFrames(output);
  return {
    wallS,
    cpuMs: (cutime + cstime) * 1000 / ticks,
    framesRecorded: recorded.frames,
    clips: recorded.clips,
    dtsWarnings,
  };
}

/** The `-f` given before `-i` in an ffmpeg argv: the format it reads. */
function inputFormat(argv: string[]): string {
  const input = argv.indexOf("-i");
  const format = argv.lastIndexOf("-f", input);
  if (input < 0 || format < 0) {
    throw new Error(
      `Cannot tell what the segmenter reads: no "-f" before "-i" in ${argv.join(" ")}`,
    );
  }
  return argv[format + 1];
}

/**
 * The app's H.264 segmenter reading raw Annex-B (`-f h264`, timestamps from `-framerate`)
 * instead of the app's Matroska: the issue's "ffmpeg-only copy lower bound".
 */
function rawH264SegmenterArgv(output: string): string[] {
  const argv = segmenterArgv({
    output,
    segmentSeconds: SEGMENT_SECONDS,
    startNumber: 0,
    codec: "h264",
  });
  const input = argv.indexOf("-i");
  const format = argv.lastIndexOf("-f", input);
  if (input < 0 || format < 0 || argv[format + 1] !== "matroska") {
    throw new Error(
      `Cannot make the raw H.264 segmenter: no "-f matroska" before "-i" in ${argv.join(" ")}`,
    );
  }
  return [
    ...argv.slice(0, format),
    "-f",
    "h264",
    "-framerate",
    String(FPS),
    ...argv.slice(format + 2),
  ];
}

/** The app's camera flags for a clip: none for MJPEG (the defaults are the clip's). */
function cameraFlags(clip: ClipInfo): string[] {
  if (clip.codec !== "h264") return [];
  // What the Pi camera gives in H.264 mode; the preview's settings stay the defaults.
  return [
    "--codec",
    "h264",
    "--width",
    String(clip.width),
    "--height",
    String(clip.height),
    "--fps",
    String(FPS),
    "--intra",
    String(H264_INTRA),
  ];
}

/** The app's camera: the clip once, in its own format (the AUD after H.264: see AUD_PRINTF). */
function appCamera(clip: ClipInfo, speed: number, loop = false): string {
  if (clip.codec !== "h264") return cameraCommand(clip.path, { speed, loop });
  return `${cameraCommand(clip.path, { speed, loop, format: "h264" })} && ${AUD_PRINTF}`;
}

async function runOurs(
  clip: ClipInfo,
  output: string,
  { ticks, speed, viewers: viewerCount, runtime, live = "mjpeg", pollMs = POLL_MS }: {
    ticks: number;
    speed: number;
    viewers: number;
    runtime: AppRuntime;
    /** How often `/api/status` is asked: each answer costs the app CPU too. */
    pollMs?: number;
    /** What the viewers watch: `/stream.mjpg` or `/live.mp4` (H.264 through MSE). */
    live?: "mjpeg" | "mp4";
  },
): Promise<OursResult> {
  const h264 = clip.codec === "h264";
  // At the end of the clip the camera's shell stays alive (sleeping): an exit would make the
  // app restart the camera after 1 s, leaving that long for the recorder to catch up.
  // The loop ends when Deno does, whatever happens to it.
  const app = await startApp(
    `${appCamera(clip, speed)} && while kill -0 $PPID 2>/dev/null; do sleep 1; done`,
    output,
    runtime,
    cameraFlags(clip),
  );
  const viewers = Array.from(
    { length: viewerCount },
    () =>
      live === "mp4" ? new Mp4Viewer(`${app.url}/live.mp4`) : new Viewer(`${app.url}/stream.mjpg`),
  );
  const startupCpu = app.startupStat;
  const upAt = performance.now();
  let allInAt: number | undefined;
  let last: Status | undefined;
  let lastRecorded = -1;
  let steadySince = performance.now();
  const previewFps: number[] = [];
  let previewSince: number | undefined;
  const deadline = performance.now() + timeoutFor(clip.frames);
  while (true) {
    last = await status(app.url);
    const { camera, recorder } = last;
    const now = performance.now();
    // The preview's rate while the camera delivers; it counts whole seconds, so not before a
    // second has passed since its first picture.
    if (last.preview && last.preview.frames > 0) previewSince ??= now;
    if (previewSince !== undefined && now - previewSince >= 1000 && camera.frames < clip.frames) {
      previewFps.push(last.preview!.fps);
    }
    if (recorder.frames !== lastRecorded) {
      lastRecorded = recorder.frames;
      steadySince = now;
    }
    if (camera.state !== "running" && camera.frames < clip.frames) {
      throw new Error(
        `Camera ended after ${camera.frames} of ${clip.frames} frames: ` +
          `${camera.last_error}${tail(camera.stderr)}`,
      );
    }
    // Done when the recorder has written (or dropped) every frame, or has not moved for 3 s
    // (it missed some before it subscribed).
    if (camera.frames >= clip.frames) {
      if (recorder.frames + recorder.dropped >= camera.frames) {
        allInAt = now;
        break;
      }
      if (now - steadySince >= 3000) break;
    }
    if (recorder.state === "backoff") {
      throw new Error(`Recorder failed: ${recorder.last_error}${tail(recorder.stderr)}`);
    }
    if (now > deadline) {
      throw new Error(
        `Recording did not finish in ${timeoutFor(clip.frames) / 1000} s; last status:\n` +
          JSON.stringify(last, null, 2),
      );
    }
    await sleep(pollMs);
  }
  const wallS = ((allInAt ?? steadySince) - upAt) / 1000;
  // Sampled just before SIGTERM: Deno's own CPU (all threads) and its peak RSS.
  const [denoStat, memory, switches, children] = await Promise.all([
    readProcStat(app.pid),
    readProcMemory(app.pid),
    readContextSwitches(app.pid),
    h264 ? readChildren(app.pid) : [],
  ]);
  if (h264 && (last.camera.codec !== "h264" || !last.preview)) {
    throw new Error(
      `Expected the app in H.264 mode with a preview; its status says codec ` +
        `${last.camera.codec}, preview ${JSON.stringify(last.preview)}`,
    );
  }
  await Promise.all(viewers.map((viewer) => viewer.stop()));
  const end = await stopApp(app);
  for (const viewer of viewers) {
    if (viewer.error) throw new Error(`A viewer failed: ${viewer.error}`);
  }
  const recorded = await countRecordedFrames(output);
  return {
    wallS,
    startupS: app.startupS,
    cpuMs: (end.cutime + end.cstime) * 1000 / ticks,
    denoCpuMs: (denoStat.utime + denoStat.stime) * 1000 / ticks,
    denoUserMs: denoStat.utime * 1000 / ticks,
    denoStartupCpuMs: (startupCpu.utime + startupCpu.stime) * 1000 / ticks,
    denoSleepsPerFrame: (switches.voluntary - app.startupSwitches.voluntary) / clip.frames,
    peakRssMb: memory.vmHwm / 1024,
    rssAnonMb: memory.rssAnon / 1024,
    rssFileMb: memory.rssFile / 1024,
    viewerFrames: viewers.map((viewer) => viewer.frames),
    cameraFrames: last.camera.frames,
    recorderFrames: last.recorder.frames,
    recorderDropped: last.recorder.dropped,
    framesRecorded: recorded.frames,
    clips: recorded.clips,
    dtsWarnings: app.dtsWarnings(),
    appWarnings: app.job.stderrTail.filter((line) => /^\[(camera|recorder|preview)\]/.test(line))
      .slice(-10),
    ...(h264 && {
      children: children.map((child) => ({
        label: childLabel(child.argv),
        cpuMs: (child.stat.utime + child.stat.stime + child.stat.cutime + child.stat.cstime) *
          1000 / ticks,
      })),
      preview: previewResult(last.preview!, previewFps),
    }),
  };
}

/** What a child of Deno is, from its argv. */
function childLabel(argv: string[]): string {
  // Deno resolves the program's path: /usr/bin/sh.
  if (basename(argv[0] ?? "") === "sh") return "camera";
  if (argv.includes("segment")) return "segmenter";
  if (argv.includes("-vf")) return "preview";
  return argv.join(" ").slice(0, 40);
}

function previewResult(preview: NonNullable<Status["preview"]>, fps: number[]): PreviewResult {
  const sorted = fps.toSorted((a, b) => a - b);
  return {
    state: preview.state,
    keyframesOnly: preview.keyframes_only,
    width: preview.width,
    height: preview.height,
    frames: preview.frames,
    restarts: preview.restarts,
    fpsMedian: sorted.length ? sorted[Math.floor(sorted.length / 2)] : null,
    fpsMax: sorted.at(-1) ?? null,
  };
}

async function runStalled(
  clip: ClipInfo,
  output: string,
  { warmup, seconds, runtime }: { warmup: number; seconds: number; runtime: AppRuntime },
): Promise<StalledResult> {
  const app = await startApp(appCamera(clip, 1, true), output, runtime, cameraFlags(clip));
  const { port } = new URL(app.url);
  const sockets: Deno.TcpConn[] = [];
  try {
    const request = new TextEncoder().encode(
      `GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${AUTHORIZATION}\r\n\r\n`,
    );
    for (let i = 0; i < STALLED_VIEWERS; i++) {
      const socket = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
      sockets.push(socket);
      await socket.write(request);
    }
    const deadline = performance.now() + 5_000;
    while ((await status(app.url)).viewers.count < STALLED_VIEWERS) {
      if (performance.now() > deadline) {
        throw new Error(`The app did not count ${STALLED_VIEWERS} viewers within 5 s`);
      }
      await sleep(POLL_MS);
    }
    const rss: ProcMemory[] = [];
    for (let i = 0; i < warmup + seconds; i++) {
      await sleep(1000);
      rss.push(await readProcMemory(app.pid));
    }
    const last = await status(app.url);
    const warmupRssMb = rss.slice(0, warmup).map((sample) => round(sample.vmRss / 1024, 1));
    const rssMb = rss.slice(warmup).map((sample) => round(sample.vmRss / 1024, 1));
    return {
      warmup,
      seconds,
      warmupRssMb,
      rssMb,
      firstMb: rssMb[0],
      maxMb: Math.max(...rssMb),
      lastMb: rssMb.at(-1)!,
      growthMb: round(rssMb.at(-1)! - rssMb[0], 1),
      stalledFrames: last.viewers.clients.map((client) => client.frames),
      cameraFrames: last.camera.frames,
      recorderDropped: last.recorder.dropped,
    };
  } finally {
    for (const socket of sockets) socket.close();
    await stopApp(app);
  }
}

/** A running `mod.ts` under bash, ready to answer. */
interface RunningApp {
  job: ShellJob;
  /** Deno's PID. */
  pid: number;
  url: string;
  startupS: number;
  /** Deno's CPU and context switches when the server first answered. */
  startupStat: ProcStat;
  startupSwitches: { voluntary: number; involuntary: number };
  dtsWarnings(): number;
}

async function startApp(
  command: string,
  output: string,
  runtime: AppRuntime,
  flags: string[] = [],
): Promise<RunningApp> {
  const port = freePort();
  const argv = [
    ...runtime.argv,
    "--source",
    "command",
    "--command",
    command,
    "--output",
    output,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--segment",
    String(SEGMENT_SECONDS),
    ...flags,
  ];
  // bash prints Deno's PID, waits for it, then prints its own stat: cutime + cstime then
  // hold Deno and everything Deno waited for. Deno's stdout goes to stderr, away from ours.
  const script = [
    `${argv.map(shellQuote).join(" ")} >&2 &`,
    'echo "PID $!"',
    "wait $!",
    "code=$?",
    "read -r stat < /proc/$$/stat",
    'echo "EXIT $code"',
    'echo "STAT $stat"',
  ].join("\n");
  let dtsWarnings = 0;
  const started = performance.now();
  const job = track(
    new ShellJob(script, {
      cwd: REPO_DIR,
      // The password comes from the environment (it is required by default); a config
      // directory in the run's temp dir keeps the app from touching the user's.
      env: { VIDEORECORDER_PASSWORD: PASSWORD, XDG_CONFIG_HOME: join(output, "..", "config") },
      onStderrLine: (line) => DTS_WARNING.test(line) && ++dtsWarnings > 0,
    }),
  );
  const pid = Number(await job.line("PID ", 10_000));
  // bash forks, then the child execs the runtime: until then its name is still "bash".
  let name = "";
  for (let i = 0; i < 100 && name !== runtime.comm; i++) {
    if (i > 0) await sleep(20);
    name = await readProcName(pid).catch(() => "(gone)");
  }
  if (name !== runtime.comm) {
    throw new Error(`Expected PID ${pid} to be ${runtime.comm}, found ${name}`);
  }
  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 60_000;
  while (true) {
    try {
      await status(url);
      break;
    } catch (error) {
      // Retry only while nothing listens yet (fetch fails with a TypeError).
      if (interrupt.signal.aborted || error instanceof StatusError) throw error;
      if (performance.now() > deadline || await job.endsWithin(0)) {
        throw new Error(`The app did not answer on ${url}` + tail(job.stderrTail));
      }
      await sleep(POLL_MS);
    }
  }
  const startupS = (performance.now() - started) / 1000;
  const [startupStat, startupSwitches] = await Promise.all([
    readProcStat(pid),
    readContextSwitches(pid),
  ]);
  return {
    job,
    pid,
    url,
    startupS,
    startupStat,
    startupSwitches,
    dtsWarnings: () => dtsWarnings,
  };
}

/** SIGTERM to Deno (it closes the last clip and exits); returns bash's stat afterwards. */
async function stopApp(app: RunningApp): Promise<ProcStat> {
  try {
    Deno.kill(app.pid, "SIGTERM");
  } catch {
    // Already gone: the exit code below tells.
  }
  if (!await app.job.endsWithin(30_000)) {
    app.job.kill("SIGKILL");
    throw new Error(`The app did not exit within 30 s of SIGTERM` + tail(app.job.stderrTail));
  }
  const result = await app.job.done;
  jobs.delete(app.job);
  const code = result.stdout.find((line) => line.startsWith("EXIT "))?.slice(5);
  const stat = result.stdout.find((line) => line.startsWith("STAT "))?.slice(5);
  if (code !== "0" || stat === undefined) {
    throw new Error(`The app exited with code ${code ?? "?"}` + tail(result.stderr));
  }
  return parseProcStat(stat);
}

/** The parts of `/api/status` the bench reads. */
interface Status {
  camera: {
    codec?: string;
    state: string;
    frames: number;
    last_error: string | null;
    stderr: string[];
  };
  recorder: {
    state: string;
    frames: number;
    dropped: number;
    last_error: string | null;
    stderr: string[];
  };
  viewers: { count: number; clients: { frames: number }[] };
  /** Null in MJPEG mode. */
  preview?: {
    state: string;
    keyframes_only: boolean;
    width: number;
    height: number;
    fps: number;
    frames: number;
    restarts: number;
  } | null;
}

/** Raised when the app answers, but not with a status the bench understands. */
class StatusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StatusError";
  }
}

async function status(url: string): Promise<Status> {
  const response = await fetch(`${url}/api/status`, {
    headers: { authorization: AUTHORIZATION },
    signal: interrupt.signal,
  });
  if (!response.ok) {
    throw new StatusError(`GET /api/status answered ${response.status}: ${await response.text()}`);
  }
  const body = await response.json();
  const missing = [
    "camera.state",
    "camera.frames",
    "recorder.state",
    "recorder.frames",
    "recorder.dropped",
    "viewers.count",
    "viewers.clients",
  ].filter((path) => {
    const [part, field] = path.split(".");
    return body?.[part]?.[field] === undefined;
  });
  if (missing.length) {
    throw new StatusError(`/api/status lacks ${missing.join(", ")}: the bench needs updating`);
  }
  return body;
}

/**
 * A live viewer: reads `/stream.mjpg` as fast as it comes and counts the parts, reading each
 * part's Content-Length instead of searching the JPEG bytes for the boundary.
 */
/** A `/live.mp4` viewer: counts fragments (moof boxes) and bytes. */
class Mp4Viewer {
  frames = 0;
  bytes = 0;
  error: string | undefined;
  readonly #abort = new AbortController();
  readonly #done: Promise<void>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #stopped = false;
  #head: number[] = [];
  #need = 0;

  constructor(url: string) {
    this.#done = this.#watch(url).catch((error) => {
      if (!this.#stopped) this.error = messageOf(error);
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    await this.#reader?.cancel().catch(() => {});
    await this.#done;
  }

  async #watch(url: string): Promise<void> {
    const response = await fetch(url, {
      headers: { authorization: AUTHORIZATION },
      signal: this.#abort.signal,
    });
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new Error(`GET /live.mp4 answered ${response.status}`);
    }
    const reader = this.#reader = response.body.getReader();
    if (this.#stopped) await reader.cancel();
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      this.bytes += value.byteLength;
      for (let at = 0; at < value.length;) {
        if (this.#need > 0) {
          const take = Math.min(this.#need, value.length - at);
          this.#need -= take;
          at += take;
          continue;
        }
        this.#head.push(value[at++]);
        if (this.#head.length < 8) continue;
        const [a, b, c, d] = this.#head;
        this.#need = (((a << 24) | (b << 16) | (c << 8) | d) >>> 0) - 8;
        if (String.fromCharCode(...this.#head.slice(4)) === "moof") this.frames++;
        this.#head = [];
      }
    }
  }
}

class Viewer {
  frames = 0;
  bytes = 0;
  error: string | undefined;
  readonly #abort = new AbortController();
  readonly #done: Promise<void>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #stopped = false;
  #head = "";
  #remaining = 0;
  #boundary = "";

  constructor(url: string) {
    this.#done = this.#watch(url).catch((error) => {
      if (!this.#stopped) this.error = messageOf(error);
    });
  }

  /** Disconnects; resolves once the reading has stopped. */
  async stop(): Promise<void> {
    this.#stopped = true;
    // Cancelling the reader, not only aborting the fetch: with Deno 2.9.6 the abort alone
    // left the pending body reads here waiting forever (a small repro did not show it).
    this.#abort.abort();
    await this.#reader?.cancel().catch(() => {});
    await this.#done;
  }

  async #watch(url: string): Promise<void> {
    const response = await fetch(url, {
      headers: { authorization: AUTHORIZATION },
      signal: this.#abort.signal,
    });
    const type = response.headers.get("content-type") ?? "";
    const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
    if (!response.ok || !response.body || !boundary) {
      await response.body?.cancel();
      throw new Error(`GET /stream.mjpg answered ${response.status} ${type}`);
    }
    this.#boundary = `--${boundary}`;
    const reader = this.#reader = response.body.getReader();
    if (this.#stopped) await reader.cancel();
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      this.#push(value);
    }
  }

  #push(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.byteLength - at);
        this.#remaining -= take;
        at += take;
        if (this.#remaining === 0) this.frames++;
        continue;
      }
      // Headers: boundary line and part headers up to the blank line; ~100 bytes a part.
      this.#head += String.fromCharCode(chunk[at++]);
      if (!this.#head.endsWith("\r\n\r\n")) {
        if (this.#head.length > 4096) throw new Error("Part headers longer than 4 KiB");
        continue;
      }
      const length = /^content-length:\s*(\d+)\s*$/im.exec(this.#head)?.[1];
      if (!this.#head.includes(this.#boundary) || length === undefined) {
        throw new Error(`Malformed part headers: ${JSON.stringify(this.#head)}`);
      }
      this.#head = "";
      this.#remaining = Number(length);
      if (this.#remaining === 0) this.frames++;
    }
  }
}

/** Frames in the clips ffmpeg wrote to `dir`, counted by decoding them. */
async function countRecordedFrames(dir: string): Promise<{ clips: number; frames: number }> {
  const clips: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && /\.(mkv|mp4)$/.test(entry.name)) clips.push(join(dir, entry.name));
  }
  let frames = 0;
  for (const clip of clips.sort()) {
    const output = await run([
      "ffprobe",
      "-v",
      "error",
      "-count_frames",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=nb_read_frames",
      "-of",
      "csv=p=0",
      clip,
    ]);
    frames += Number(output.trim()) || 0;
  }
  return { clips: clips.length, frames };
}

function printReport(report: {
  clip: ClipInfo;
  lower: LowerBoundResult;
  runs: RuntimeRun[];
  viewers: number;
}): void {
  const { clip, lower, runs } = report;
  const n = clip.frames;
  const perFrame = (ms: number) => (ms / n).toFixed(3);
  const single = runs.length === 1;
  const heading = (run: RuntimeRun) => single ? "ours" : `ours on ${run.runtime.label}`;
  const alone = single ? runs[0].runtime.label : "runtime";
  const column = (pick: (ours: OursResult) => string) => runs.map((run) => pick(run.ours));
  const rows: string[][] = [
    ["", "lower bound", ...runs.map(heading)],
    ["wall s", lower.wallS.toFixed(2), ...column((ours) => ours.wallS.toFixed(2))],
    ["CPU ms/frame, whole tree", perFrame(lower.cpuMs), ...column((o) => perFrame(o.cpuMs))],
    [`CPU ms/frame, ${alone} alone`, "-", ...column((o) => perFrame(o.denoCpuMs))],
    [
      `CPU ms/frame, tree minus ${alone}`,
      perFrame(lower.cpuMs),
      ...column((o) => perFrame(o.cpuMs - o.denoCpuMs)),
    ],
    [`peak RSS MB (${alone} VmHWM)`, "-", ...column((o) => o.peakRssMb.toFixed(1))],
    [
      "RSS MB at the end: anon + files",
      "-",
      ...column((o) => `${o.rssAnonMb.toFixed(1)} + ${o.rssFileMb.toFixed(1)}`),
    ],
    [
      "frames recorded (ffprobe)",
      `${lower.framesRecorded}/${n}`,
      ...column((o) => `${o.framesRecorded}/${n}`),
    ],
    ["frames per viewer", "-", ...column((o) => o.viewerFrames.join(", ") || "(no viewers)")],
    ["ratio ours / lower bound", "", ...column((o) => (o.cpuMs / lower.cpuMs).toFixed(2))],
  ];
  const lines = [""];
  for (const [label, a, ...b] of rows) {
    lines.push(`${label.padEnd(34)}${a.padStart(12)}${b.map((x) => x.padStart(20)).join("")}`);
  }
  lines.push(
    "",
    "RSS files: pages of the runtime's executable and libraries, clean and shared, which the " +
      "kernel drops under memory pressure; anon: heap and buffers, what the app really holds.",
  );
  for (const { runtime, ours } of runs) {
    const name = runtime.label;
    const ratioAfterStartup = (ours.cpuMs - ours.denoStartupCpuMs) / lower.cpuMs;
    lines.push(
      "",
      ...(single ? [] : [`${name} ${runtime.version}: ${runtime.argv.join(" ")} ...`]),
      `Wall for ours: from the first /api/status answer (${ours.startupS.toFixed(2)} s after ` +
        `spawn) to every frame handed to the segmenter.`,
      `${name} alone: user ${perFrame(ours.denoUserMs)} + system ` +
        `${perFrame(ours.denoCpuMs - ours.denoUserMs)} ms/frame, sampled before SIGTERM; ` +
        `its threads slept ${ours.denoSleepsPerFrame.toFixed(1)} times a frame (~ wakeups).`,
      `${name} start-up (to the first /api/status answer): ` +
        `${ours.denoStartupCpuMs.toFixed(0)} ms CPU; ratio without it: ${
          ratioAfterStartup.toFixed(2)
        }.`,
      `App counters: camera ${ours.cameraFrames} frames, recorder ${ours.recorderFrames} ` +
        `written, ${ours.recorderDropped} dropped.`,
    );
    if (lower.dtsWarnings || ours.dtsWarnings) {
      lines.push(
        `Segmenter "Non-monotonous DTS" warnings (frames faster than real time get wall-clock ` +
          `timestamps in bursts): lower bound ${lower.dtsWarnings}, ours ${ours.dtsWarnings}.`,
      );
    }
    if (ours.framesRecorded !== n) {
      lines.push(
        `!!! WARNING: ours on ${name} recorded ${ours.framesRecorded} of ${n} frames: its CPU ` +
          `per frame is off` + (ours.recorderDropped ? " (try a lower --speed)" : "") + " !!!",
      );
    }
    if (ours.appWarnings.length) {
      lines.push(`App's ffmpeg stderr (last ${ours.appWarnings.length} lines):`);
      for (const line of ours.appWarnings) lines.push(`  ${line}`);
    }
  }
  if (lower.framesRecorded !== n) {
    lines.push(
      "",
      `!!! WARNING: Lower bound recorded ${lower.framesRecorded} of ${n} frames: its CPU per ` +
        `frame is off !!!`,
    );
  }
  for (const { runtime, stalled } of runs) {
    if (stalled) lines.push(...stalledLines(stalled, runtime.label));
  }
  const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
  lines.push("", "Targets:");
  for (const { runtime, ours, stalled } of runs) {
    const on = single ? "" : ` (${runtime.label})`;
    const ratio = ours.cpuMs / lower.cpuMs;
    lines.push(
      `  ${verdict(ratio <= TARGET_RATIO)}  CPU ratio ${ratio.toFixed(2)} <= ${TARGET_RATIO} ` +
        `with ${report.viewers} viewer(s)${on}`,
      `  ${verdict(ours.peakRssMb <= TARGET_RSS_MB)}  peak RSS ${ours.peakRssMb.toFixed(1)} MB ` +
        `<= ${TARGET_RSS_MB} MB${on}`,
    );
    if (stalled) {
      lines.push(
        `  ${verdict(stalled.growthMb <= TARGET_GROWTH_MB)}  RSS flat with ${STALLED_VIEWERS} ` +
          `stalled viewers: ${stalled.growthMb} MB growth <= ${TARGET_GROWTH_MB} MB${on}`,
      );
    }
  }
  const [deno, node] = runs;
  if (node) {
    const cpu = node.ours.cpuMs / deno.ours.cpuMs;
    lines.push(
      `  ${verdict(cpu <= TARGET_NODE_CPU)}  Node's CPU per frame ${cpu.toFixed(2)}x Deno's ` +
        `(${perFrame(node.ours.cpuMs)} vs ${perFrame(deno.ours.cpuMs)} ms, whole tree) ` +
        `<= ${TARGET_NODE_CPU}x`,
      `  ${verdict(node.ours.peakRssMb <= TARGET_NODE_RSS_MB)}  Node's peak RSS ` +
        `${node.ours.peakRssMb.toFixed(1)} MB <= ${TARGET_NODE_RSS_MB} MB with ` +
        `${report.viewers} viewer(s)`,
    );
  }
  console.log(lines.join("\n"));
}

function stalledLines(stalled: StalledResult, runtime = "Deno"): string[] {
  const lines = [
    "",
    `Stalled viewers (${STALLED_VIEWERS} sockets that never read, real-time source), ` +
    `${runtime} VmRSS MB each second:`,
  ];
  if (stalled.warmup > 0) {
    lines.push(`  warm-up ${stalled.warmup} s: ${stalled.warmupRssMb.join(" ")}`);
  }
  lines.push(
    `  then ${stalled.seconds} s:  ${stalled.rssMb.join(" ")}`,
    `  first ${stalled.firstMb}, max ${stalled.maxMb}, last ${stalled.lastMb} ` +
      `(growth ${stalled.growthMb >= 0 ? "+" : ""}${stalled.growthMb})`,
    `  frames handed to each stalled viewer: ${stalled.stalledFrames.join(", ")} ` +
      `(camera published ${stalled.cameraFrames}); recorder dropped ${stalled.recorderDropped}`,
  );
  return lines;
}

function printH264Report(report: {
  clip: ClipInfo;
  lower: LowerBoundResult;
  alone: OursResult & { ratio: number; ratioAfterStartup: number };
  watched: OursResult & { ratio: number; ratioAfterStartup: number };
  previewCost: PreviewCost;
  stalled: StalledResult | undefined;
  speed: number;
}): void {
  const { clip, lower, alone, watched, previewCost: cost, stalled } = report;
  const n = clip.frames;
  const perFrame = (ms: number) => (ms / n).toFixed(3);
  const child = (ours: OursResult, label: string) =>
    ours.children?.some((c) => c.label === label) ? perFrame(childCpuMs(ours, label)) : "-";
  const viewers = `${cost.viewers} viewer${cost.viewers === 1 ? "" : "s"}`;
  const preview = watched.preview!;
  const rows: [string, string, string, string][] = [
    ["", "lower bound", "(a) no viewer", `(b) ${viewers}`],
    ["wall s", lower.wallS.toFixed(2), alone.wallS.toFixed(2), watched.wallS.toFixed(2)],
    [
      "CPU ms/frame, whole tree",
      perFrame(lower.cpuMs),
      perFrame(alone.cpuMs),
      perFrame(watched.cpuMs),
    ],
    ["CPU ms/frame, Deno alone", "-", perFrame(alone.denoCpuMs), perFrame(watched.denoCpuMs)],
    [
      "CPU ms/frame, tree minus Deno",
      perFrame(lower.cpuMs),
      perFrame(alone.cpuMs - alone.denoCpuMs),
      perFrame(watched.cpuMs - watched.denoCpuMs),
    ],
    ["  camera sh + ffmpeg (sampled)", "-", child(alone, "camera"), child(watched, "camera")],
    ["  segmenter ffmpeg (sampled)", "-", child(alone, "segmenter"), child(watched, "segmenter")],
    ["  preview ffmpeg (sampled)", "-", child(alone, "preview"), child(watched, "preview")],
    [
      "peak RSS MB (Deno VmHWM)",
      "-",
      alone.peakRssMb.toFixed(1),
      watched.peakRssMb.toFixed(1),
    ],
    [
      "frames recorded (ffprobe)",
      `${lower.framesRecorded}/${n}`,
      `${alone.framesRecorded}/${n}`,
      `${watched.framesRecorded}/${n}`,
    ],
    ["frames per viewer", "-", "-", watched.viewerFrames.join(", ")],
    ["ratio ours / lower bound", "", alone.ratio.toFixed(2), watched.ratio.toFixed(2)],
    [
      "  without Deno start-up",
      "",
      alone.ratioAfterStartup.toFixed(2),
      watched.ratioAfterStartup.toFixed(2),
    ],
  ];
  const lines = [""];
  for (const [label, lowerCell, a, b] of rows) {
    lines.push(`${label.padEnd(31)}${lowerCell.padStart(12)}${a.padStart(16)}${b.padStart(16)}`);
  }
  const every = Math.max(1, Math.round(FPS / DEFAULTS.previewFps));
  lines.push(
    "",
    `Lower bound: the camera's ffmpeg printing raw H.264 into the segmenter (-f h264 ` +
      `-framerate ${FPS}), both ffmpeg; ours: the app's Matroska with capture times.`,
    `Wall for ours: from the first /api/status answer (${alone.startupS.toFixed(2)} s, ` +
      `${watched.startupS.toFixed(2)} s after spawn) to every frame handed to the segmenter. ` +
      `"sampled": CPU of Deno's children before SIGTERM.`,
    `Deno start-up (to the first /api/status answer): ${alone.denoStartupCpuMs.toFixed(0)} ms, ` +
      `${watched.denoStartupCpuMs.toFixed(0)} ms CPU.`,
    `Deno alone: user ${perFrame(alone.denoUserMs)} + system ` +
      `${perFrame(alone.denoCpuMs - alone.denoUserMs)} ms/frame (a), user ` +
      `${perFrame(watched.denoUserMs)} + system ${
        perFrame(watched.denoCpuMs - watched.denoUserMs)
      }` +
      ` ms/frame (b); its threads slept ${alone.denoSleepsPerFrame.toFixed(1)} and ` +
      `${watched.denoSleepsPerFrame.toFixed(1)} times a frame (~ wakeups).`,
  );
  for (const [name, ours] of [["(a)", alone], ["(b)", watched]] as const) {
    lines.push(
      `App counters ${name}: camera ${ours.cameraFrames} frames, recorder ` +
        `${ours.recorderFrames} written, ${ours.recorderDropped} dropped.`,
    );
  }
  lines.push(
    "",
    `Preview extra cost, ${cost.viewers === 1 ? "per viewer" : `${viewers} together`} ` +
      `((b) - (a)): ${cost.cpuMsPerFrame.toFixed(3)} ms CPU per camera frame = ` +
      `${cost.corePercentAt30Fps.toFixed(1)}% of a core at ${FPS} fps`,
    `  of which Deno ${cost.denoCpuMsPerFrame.toFixed(3)} ms/frame; the decoder ffmpeg alone ` +
      `${cost.decoderCpuMsPerFrame.toFixed(3)} ms/frame (sampled in (b))`,
    `Preview status in (b) (/api/status): keyframes_only ${preview.keyframesOnly} (` +
      (preview.keyframesOnly
        ? `--preview-fps ${DEFAULTS.previewFps} <= ${FPS / H264_INTRA} keyframe(s)/s: ` +
          `keyframes decoded, non-keyframes not fed`
        : `--preview-fps ${DEFAULTS.previewFps} > ${FPS / H264_INTRA} keyframe(s)/s: ` +
          `every frame decoded, every ${every}th kept`) +
      `), ${preview.width}x${preview.height}, frames ${preview.frames} ` +
      `(${cost.expectedPreviewFrames} for the whole clip), state ${preview.state}, ` +
      `restarts ${preview.restarts}`,
    `  fps while the camera ran: median ${preview.fpsMedian ?? "-"}, max ` +
      `${preview.fpsMax ?? "-"}` +
      (report.speed > 0
        ? ` (camera at ${report.speed}x real time: its real-time ` +
          `${FPS / every} fps shows as ${(FPS / every) * report.speed})`
        : ""),
    `  frames the viewer got: ${watched.viewerFrames.join(", ")}`,
  );
  if (preview.frames < cost.expectedPreviewFrames * 0.9) {
    lines.push(
      "",
      `!!! WARNING: the preview made ${preview.frames} of ${cost.expectedPreviewFrames} ` +
        `pictures (it started late or skipped frames): its cost per camera frame may be ` +
        `under-measured (try more --frames or a lower --speed) !!!`,
    );
  }
  if (lower.dtsWarnings || alone.dtsWarnings || watched.dtsWarnings) {
    lines.push(
      `Segmenter "Non-monotonous DTS" warnings: lower bound ${lower.dtsWarnings}, ` +
        `(a) ${alone.dtsWarnings}, (b) ${watched.dtsWarnings}.`,
    );
  }
  const sides = [
    ["Lower bound", lower.framesRecorded, 0],
    ["Ours (a)", alone.framesRecorded, alone.recorderDropped],
    ["Ours (b)", watched.framesRecorded, watched.recorderDropped],
  ] as const;
  for (const [name, recorded, dropped] of sides) {
    if (recorded !== n) {
      lines.push(
        "",
        `!!! WARNING: ${name} recorded ${recorded} of ${n} frames: its CPU per frame is off` +
          (dropped ? " (try a lower --speed)" : "") + " !!!",
      );
    }
  }
  for (const [name, ours] of [["(a)", alone], ["(b)", watched]] as const) {
    if (ours.appWarnings.length) {
      lines.push(`App's ffmpeg stderr ${name} (last ${ours.appWarnings.length} lines):`);
      for (const line of ours.appWarnings) lines.push(`  ${line}`);
    }
  }
  if (stalled) lines.push(...stalledLines(stalled));
  const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
  lines.push(
    "",
    "Targets:",
    `  ${verdict(alone.ratio <= TARGET_RATIO_H264)}  CPU ratio ${alone.ratio.toFixed(2)} <= ` +
      `${TARGET_RATIO_H264} with no viewer (without Deno's start-up: ` +
      `${alone.ratioAfterStartup.toFixed(2)})`,
    `  ----  preview extra cost per viewer: ${cost.cpuMsPerFrame.toFixed(3)} ms/frame, ` +
      `${cost.corePercentAt30Fps.toFixed(1)}% of a core at ${FPS} fps` +
      (cost.viewers === 1 ? "" : ` (${viewers} together)`),
  );
  if (stalled) {
    lines.push(
      `  ${verdict(stalled.growthMb <= TARGET_GROWTH_MB)}  RSS flat with ${STALLED_VIEWERS} ` +
        `stalled viewers: ${stalled.growthMb} MB growth <= ${TARGET_GROWTH_MB} MB`,
    );
  }
  console.log(lines.join("\n"));
}

/** Ends whatever is still running: SIGTERM to each job's group, SIGKILL after 15 s. */
async function stopAll(): Promise<void> {
  await Promise.all([...jobs].map(async (job) => {
    job.kill("SIGTERM");
    if (!await job.endsWithin(15_000)) {
      job.kill("SIGKILL");
      if (!await job.endsWithin(5_000)) {
        console.error(`bench: bash ${job.pid} survived SIGKILL; leaving it`);
      }
    }
    jobs.delete(job);
  }));
}

function track(job: ShellJob): ShellJob {
  jobs.add(job);
  return job;
}

/** A port nothing listens on now (the app binds it a moment later). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Generous: the Pi is slow, and a run that hangs should still end with a message. */
function timeoutFor(frames: number): number {
  return 60_000 + frames * 50;
}

async function ffmpegVersion(): Promise<string> {
  const output = await run(["ffmpeg", "-hide_banner", "-version"]);
  return /ffmpeg version (\S+)/.exec(output)?.[1] ?? "unknown";
}

/** Runs a command to completion; returns stdout, or throws with stderr. */
async function run(argv: string[]): Promise<string> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = await interruptible(child.output()).catch((error) => {
    child.kill("SIGKILL");
    throw error;
  });
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`${argv[0]} failed with code ${output.code}: ${stderr}`);
  }
  return new TextDecoder().decode(output.stdout);
}

/** Rejects as soon as the user presses Ctrl-C. */
function interruptible<T>(promise: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const signal = interrupt.signal;
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function sleep(ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return interruptible(new Promise<void>((resolve) => timer = setTimeout(resolve, ms)))
    .finally(() => clearTimeout(timer));
}

function isParseArgsError(error: unknown): boolean {
  return error instanceof TypeError && "code" in error &&
    String(error.code).startsWith("ERR_PARSE_ARGS");
}

function mb(bytes: number): number {
  return bytes / 1024 / 1024;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
