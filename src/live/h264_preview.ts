import type { Frame } from "../frames/frame.ts";
import { FrameHub } from "../frames/frame_hub.ts";
import { JpegFrameStream } from "../frames/jpeg_frame_stream.ts";
import type { ChildProcess } from "../runtime/runtime.ts";
import {
  type BackoffOptions,
  type ProcessStatus,
  SupervisedProcess,
} from "../process/supervised_process.ts";
import {
  choosePreviewDecoder,
  decoderInputArgs,
  type DecoderSystem,
  type PreviewDecoder,
  probeDecoderSystem,
} from "../camera/preview_decoder.ts";

/** Options for {@linkcode H264Preview}. */
export interface H264PreviewOptions {
  /** The camera's H.264 access units. */
  source: FrameHub;
  /** Preview size. */
  width: number;
  height: number;
  /** Most pictures per second to make. */
  fps: number;
  /** The camera's frame rate and keyframe interval (frames). */
  cameraFps: number;
  intra: number;
  /** How long to keep decoding after the last viewer left, so a reload does not restart it. Default 3 s. */
  idleMs?: number;
  /**
   * What the system offers for decoding (see {@linkcode choosePreviewDecoder}). Default: asked
   * once of the running system ({@linkcode probeDecoderSystem}).
   */
  decoderSystem?: () => Promise<DecoderSystem>;
  backoff?: BackoffOptions;
  echoStderr?: boolean;
}

/** The preview's state for `/api/status`. */
export interface PreviewStatus extends ProcessStatus {
  /** True when only keyframes are decoded (cheapest), false when every frame is. */
  keyframesOnly: boolean;
  /** The ffmpeg decoder: `h264_v4l2m2m` (the Pi's hardware) or `h264` (software). */
  decoder: PreviewDecoder["decoder"];
  /** Why that decoder and rate, e.g. "software decoder on arm64 (...): keyframes only, 1/s". */
  decoderReason: string;
  width: number;
  height: number;
  /** Pictures made in the last whole second. */
  fps: number;
  frames: number;
}

// An access unit delimiter after each access unit: without it ffmpeg's H.264 parser holds a
// picture until the next one starts (one keyframe interval late, measured 700 ms); with it the
// JPEG comes out 10-80 ms after the keyframe went in.
const AUD = Uint8Array.of(0, 0, 0, 1, 0x09, 0xf0);

/**
 * Live view in H.264 mode: decodes the camera's stream to small JPEGs, on its own hub, only
 * while someone watches or asks for a snapshot. The decoder is the Pi's hardware one when there
 * is one; keyframes only are decoded when the preview rate allows it or, in software on ARM,
 * always (a keyframe is a whole picture: no reference frames needed), else every frame is
 * decoded and every n-th kept (see {@linkcode choosePreviewDecoder}). The decoder reads from its own small queue on the
 * camera hub: when it falls behind it skips to the next keyframe, and the recorder never waits
 * for it.
 */
export class H264Preview {
  /** The preview's JPEG frames: serve `/stream.mjpg` and `/snapshot.jpg` from it. */
  readonly hub: FrameHub;
  readonly #options: H264PreviewOptions;
  readonly #process: SupervisedProcess;
  /** Decided once the system is probed; until then, software at the rate asked for. */
  #decoder: PreviewDecoder;
  readonly #decoderReady: Promise<void>;
  #parser: JpegFrameStream | undefined;
  #framesBefore = 0;
  #nextSeq = 0;
  /** Capture times of the access units fed that will come out as pictures, oldest first. */
  #times: number[] = [];
  #wanted = false;
  #closed = false;
  #idle: ReturnType<typeof setTimeout> | undefined;
  /** Start/stop steps, one at a time, each doing what `#wanted` says when it runs. */
  #transition: Promise<void> = Promise.resolve();

  constructor(options: H264PreviewOptions) {
    this.#options = options;
    this.#decoder = {
      ...choosePreviewDecoder({ arch: "", v4l2m2m: false, m2mDevice: null }, options),
      reason: "not probed yet",
    };
    this.#decoderReady = (options.decoderSystem ?? probeDecoderSystem)()
      .then((system) => void (this.#decoder = choosePreviewDecoder(system, options)))
      .catch(() => {}); // a probe that fails leaves the software decoder
    this.hub = new FrameHub({ onConsumers: (count) => this.#demand(count) });
    this.#process = new SupervisedProcess({
      name: "preview",
      argv: () => this.#argv(),
      stdin: "piped",
      stdout: "piped",
      stopBy: "signal",
      backoff: options.backoff,
      echoStderr: options.echoStderr,
      session: (child, signal) => this.#run(child, signal),
    });
  }

  /** The newest picture, made fresh if the preview was not running (undefined on timeout). */
  async snapshot(timeoutMs = 5000): Promise<Frame | undefined> {
    const latest = this.hub.latest;
    if (latest && this.#process.state === "running" && this.#fresh(latest)) return latest;
    const reader = this.hub.newest().readable.getReader(); // demand: starts the decoder
    const timer = setTimeout(() => void reader.cancel(), timeoutMs);
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return undefined;
        if (this.#fresh(value)) return value;
      }
    } finally {
      clearTimeout(timer);
      void reader.cancel();
    }
  }

  status(): PreviewStatus {
    return {
      ...this.#process.status(),
      keyframesOnly: this.#decoder.keyframesOnly,
      decoder: this.#decoder.decoder,
      decoderReason: this.#decoder.reason,
      width: this.#options.width,
      height: this.#options.height,
      fps: this.hub.fps,
      frames: this.#framesBefore + (this.#parser?.stats.frames ?? 0),
    };
  }

  /** Stops decoding for good (shutdown). */
  async stop(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idle);
    this.hub.close();
    this.#wanted = false;
    await (this.#transition = this.#transition.then(() => this.#process.stop()));
  }

  #demand(count: number): void {
    if (this.#closed) return;
    if (count > 0) {
      clearTimeout(this.#idle);
      this.#idle = undefined;
      this.#want(true);
    } else if (this.#idle === undefined) {
      this.#idle = setTimeout(() => {
        this.#idle = undefined;
        this.#want(false);
      }, this.#options.idleMs ?? 3000);
    }
  }

  #want(on: boolean): void {
    this.#wanted = on;
    this.#transition = this.#transition.then(async () => {
      if (this.#wanted && !this.#closed) {
        await this.#decoderReady;
        if (this.#wanted && !this.#closed) this.#process.start();
        return;
      }
      await this.#process.stop();
      // The last picture would greet the next viewer, however long from now (16.8 s old in
      // issue 9): it waits for a fresh one instead.
      this.hub.forgetLatest();
    });
  }

  /** The camera's keyframe interval in ms: the age of the newest keyframe, at most. */
  get #keyframeIntervalMs(): number {
    const { intra, cameraFps } = this.#options;
    return (Math.max(1, intra) / cameraFps) * 1000;
  }

  /** Captured recently enough to show a new viewer: within a keyframe interval and a half second. */
  #fresh(frame: Frame): boolean {
    return Date.now() - frame.time <= this.#keyframeIntervalMs + 500;
  }

  #argv(): string[] {
    const { width, height, fps, cameraFps } = this.#options;
    const every = Math.max(1, Math.round(cameraFps / fps));
    const filter = this.#decoder.keyframesOnly
      ? `scale=${width}:${height}`
      : `select=not(mod(n\\,${every})),scale=${width}:${height}`;
    return [
      "ffmpeg",
      "-hide_banner",
      "-loglevel",
      "error",
      // Decode each picture as soon as it is in: no probing, no frame threads. Not
      // "-fflags nobuffer": it throws away what the stream probe read, i.e. the first
      // keyframe, and the first picture waited for the next one (a keyframe interval).
      "-flags",
      "low_delay",
      "-probesize",
      "32",
      "-analyzeduration",
      "0",
      "-f",
      "h264",
      ...decoderInputArgs(this.#decoder),
      "-i",
      "pipe:0",
      "-threads",
      "1",
      "-vf",
      filter,
      "-vsync",
      "0",
      "-c:v",
      "mjpeg",
      "-q:v",
      "7",
      "-f",
      "mjpeg",
      "pipe:1",
    ];
  }

  async #run(child: ChildProcess, signal: AbortSignal): Promise<void> {
    const parser = new JpegFrameStream({ firstSeq: this.#nextSeq });
    this.#parser = parser;
    this.#times = [];
    const read = (async () => {
      for await (const frame of child.stdout.pipeThrough(parser)) {
        this.#nextSeq = frame.seq + 1;
        // A picture is as old as the access unit it was decoded from, not as new as the JPEG.
        this.hub.publish({ ...frame, time: this.#times.shift() ?? frame.time });
      }
    })();
    try {
      await Promise.all([this.#feed(child, signal), read]);
    } finally {
      this.#framesBefore += parser.stats.frames;
      this.#parser = undefined;
    }
  }

  async #feed(child: ChildProcess, signal: AbortSignal): Promise<void> {
    const { source, cameraFps, fps } = this.#options;
    const frames = source.every({ maxQueuedFrames: 4 }).readable.getReader();
    // The camera's newest keyframe first, at once: the subscription above starts at the next
    // one, up to a keyframe interval away (the new viewer waited 1.4 s in issue 9).
    const start = source.latestKeyframe;
    const keyframesOnly = this.#decoder.keyframesOnly;
    const every = keyframesOnly ? 1 : Math.max(1, Math.round(cameraFps / fps));
    let fed = 0;
    const stdin = child.stdin.getWriter();
    const write = async (frame: Frame) => {
      // The select filter keeps the decoded frames numbered 0, every, 2 * every, ...
      if (fed++ % every === 0) {
        this.#times.push(frame.time);
        if (this.#times.length > 16) this.#times.shift(); // out of step: keep the newest
      }
      await stdin.write(frame.data);
      await stdin.write(AUD);
    };
    const stop = () => void frames.cancel();
    signal.addEventListener("abort", stop, { once: true });
    try {
      if (start && this.#fresh(start)) await write(start);
      while (true) {
        const { value: frame, done } = await frames.read();
        if (done) break;
        if (keyframesOnly && !frame.keyframe) continue;
        await write(frame);
      }
    } catch {
      // ffmpeg went away (stopped or crashed): the supervisor sees its exit.
    } finally {
      signal.removeEventListener("abort", stop);
      await frames.cancel().catch(() => {});
      // Being stopped means being killed: closing stdin first would make ffmpeg decode the
      // trailing delimiter alone and log an error.
      if (signal.aborted) await child.status;
      await stdin.close().catch(() => {});
    }
  }
}
