import type { Frame, FrameParserStats } from "../frames/frame.ts";
import type { FrameHub } from "../frames/frame_hub.ts";
import { H264AccessUnitStream, type H264StreamInfo } from "../frames/h264_access_unit_stream.ts";
import { JpegFrameStream } from "../frames/jpeg_frame_stream.ts";
import { RateMeter } from "../frames/rate_meter.ts";
import type { ChildProcess } from "../runtime/runtime.ts";
import type { Codec } from "./argv.ts";
import {
  type BackoffOptions,
  type ProcessStatus,
  SupervisedProcess,
} from "../process/supervised_process.ts";

/** Options for {@linkcode Camera}. */
export interface CameraOptions {
  /** The command that prints frames on stdout (argv[0] is the program). */
  argv: string[];
  /** What it prints. Default "mjpeg". */
  codec?: Codec;
  /** Frames go here. */
  hub: FrameHub;
  /** Frames larger than this are dropped as corrupt. Default 8 MiB. */
  maxFrameBytes?: number;
  /** Clock for frame times (and so clip names). Default `Date.now`. */
  now?: () => number;
  /** Restart delays; each one left out is taken from {@linkcode CAMERA_BACKOFF}. */
  backoff?: BackoffOptions;
  /** Print the camera's stderr on ours. */
  echoStderr?: boolean;
  /** Added to the camera's environment at each start, e.g. `{ TZ }` for a burned-in clock. */
  env?: () => Record<string, string>;
}

/** The camera's state for `/api/status`. */
export interface CameraStatus extends ProcessStatus, FrameParserStats {
  codec: Codec;
  /** Frames in the last whole second. */
  fps: number;
  /** Bits received in the last whole second. */
  bitrate: number;
  /** Frames from the last keyframe to the one before (1 for MJPEG), or null before two. */
  keyframeInterval: number | null;
  /** What the latest H.264 SPS says (profile, level, size). */
  h264: H264StreamInfo | null;
  /** When the last frame arrived, ms since the epoch. */
  lastFrameAt: number | null;
}

/**
 * How the camera is restarted: a dashcam retries its camera quickly. 250 ms, doubling to a cap
 * of 2 s, back to 250 ms after 10 s of running. A process's usual defaults (1 s doubling to
 * 30 s, reset after a healthy minute) left a flaky camera that dies every few seconds
 * recording a few seconds out of every ~33; with these it records about its run time out of
 * every run time plus 2 s. A failing start costs a spawn every 2 s, little next to capture.
 */
export const CAMERA_BACKOFF: Readonly<Required<BackoffOptions>> = Object.freeze({
  initialMs: 250,
  maxMs: 2_000,
  healthyMs: 10_000,
});

/**
 * The running camera: a supervised process whose stdout is split into JPEG frames and
 * published to the hub. It restarts with backoff when the process exits; frame numbers
 * carry on across restarts.
 */
export class Camera {
  readonly #options: CameraOptions;
  readonly #process: SupervisedProcess;
  /** Parser counters of finished runs, plus the current parser's. */
  readonly #done: FrameParserStats = { frames: 0, garbageBytes: 0, truncated: 0, oversized: 0 };
  #parser: JpegFrameStream | H264AccessUnitStream | undefined;
  #h264: H264StreamInfo | null = null;
  readonly #bits = new RateMeter();
  #lastKeyframe: number | null = null;
  #keyframeInterval: number | null = null;
  #nextSeq = 0;

  constructor(options: CameraOptions) {
    this.#options = options;
    this.#process = new SupervisedProcess({
      name: "camera",
      argv: () => options.argv,
      env: options.env,
      stdout: "piped",
      stopBy: "signal",
      backoff: {
        initialMs: options.backoff?.initialMs ?? CAMERA_BACKOFF.initialMs,
        maxMs: options.backoff?.maxMs ?? CAMERA_BACKOFF.maxMs,
        healthyMs: options.backoff?.healthyMs ?? CAMERA_BACKOFF.healthyMs,
      },
      echoStderr: options.echoStderr,
      session: (child) => this.#capture(child),
    });
  }

  start(): void {
    this.#process.start();
  }

  stop(): Promise<void> {
    return this.#process.stop();
  }

  /** Restarts the camera process (its `env` is read again); a running camera only. */
  async restart(): Promise<void> {
    if (this.#process.state === "idle" || this.#process.state === "stopped") return;
    await this.#process.restart();
  }

  status(): CameraStatus {
    const parser = this.#parser?.stats;
    const hub = this.#options.hub;
    return {
      ...this.#process.status(),
      codec: this.#options.codec ?? "mjpeg",
      bitrate: this.#bits.rate,
      keyframeInterval: this.#keyframeInterval,
      h264: this.#parser instanceof H264AccessUnitStream
        ? this.#parser.info ?? this.#h264
        : this.#h264,
      frames: this.#done.frames + (parser?.frames ?? 0),
      garbageBytes: this.#done.garbageBytes + (parser?.garbageBytes ?? 0),
      truncated: this.#done.truncated + (parser?.truncated ?? 0),
      oversized: this.#done.oversized + (parser?.oversized ?? 0),
      fps: hub.fps,
      lastFrameAt: hub.latest?.time ?? null,
    };
  }

  async #capture(child: ChildProcess): Promise<void> {
    const options = {
      firstSeq: this.#nextSeq,
      maxFrameBytes: this.#options.maxFrameBytes,
      now: this.#options.now,
    };
    const parser = this.#options.codec === "h264"
      ? new H264AccessUnitStream(options)
      : new JpegFrameStream(options);
    this.#parser = parser;
    try {
      for await (const frame of child.stdout.pipeThrough(parser)) {
        this.#count(frame);
        this.#options.hub.publish(frame);
      }
    } finally {
      for (const key of Object.keys(this.#done) as (keyof FrameParserStats)[]) {
        this.#done[key] += parser.stats[key];
      }
      if (parser instanceof H264AccessUnitStream) this.#h264 = parser.info ?? this.#h264;
      this.#parser = undefined;
    }
  }

  #count(frame: Frame): void {
    this.#nextSeq = frame.seq + 1;
    this.#bits.mark(frame.data.byteLength * 8);
    if (!frame.keyframe) return;
    if (this.#lastKeyframe !== null) this.#keyframeInterval = frame.seq - this.#lastKeyframe;
    this.#lastKeyframe = frame.seq;
  }
}
