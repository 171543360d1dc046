import type { FrameParserStats } from "../frames/frame.ts";
import type { FrameHub } from "../frames/frame_hub.ts";
import { JpegFrameStream } from "../frames/jpeg_frame_stream.ts";
import {
  type BackoffOptions,
  type ProcessStatus,
  SupervisedProcess,
} from "../process/supervised_process.ts";

/** Options for {@linkcode Camera}. */
export interface CameraOptions {
  /** The command that prints MJPEG on stdout (argv[0] is the program). */
  argv: string[];
  /** Frames go here. */
  hub: FrameHub;
  /** Frames larger than this are dropped as corrupt. Default 8 MiB. */
  maxFrameBytes?: number;
  backoff?: BackoffOptions;
  /** Print the camera's stderr on ours. */
  echoStderr?: boolean;
}

/** The camera's state for `/api/status`. */
export interface CameraStatus extends ProcessStatus, FrameParserStats {
  /** Frames in the last whole second. */
  fps: number;
  /** When the last frame arrived, ms since the epoch. */
  lastFrameAt: number | null;
}

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
  #parser: JpegFrameStream | undefined;
  #nextSeq = 0;

  constructor(options: CameraOptions) {
    this.#options = options;
    this.#process = new SupervisedProcess({
      name: "camera",
      argv: () => options.argv,
      stdout: "piped",
      stopBy: "signal",
      backoff: options.backoff,
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

  status(): CameraStatus {
    const parser = this.#parser?.stats;
    const hub = this.#options.hub;
    return {
      ...this.#process.status(),
      frames: this.#done.frames + (parser?.frames ?? 0),
      garbageBytes: this.#done.garbageBytes + (parser?.garbageBytes ?? 0),
      truncated: this.#done.truncated + (parser?.truncated ?? 0),
      oversized: this.#done.oversized + (parser?.oversized ?? 0),
      fps: hub.fps,
      lastFrameAt: hub.latest?.time ?? null,
    };
  }

  async #capture(child: Deno.ChildProcess): Promise<void> {
    const parser = new JpegFrameStream({
      firstSeq: this.#nextSeq,
      maxFrameBytes: this.#options.maxFrameBytes,
    });
    this.#parser = parser;
    try {
      for await (const frame of child.stdout.pipeThrough(parser)) {
        this.#nextSeq = frame.seq + 1;
        this.#options.hub.publish(frame);
      }
    } finally {
      for (const key of Object.keys(this.#done) as (keyof FrameParserStats)[]) {
        this.#done[key] += parser.stats[key];
      }
      this.#parser = undefined;
    }
  }
}
