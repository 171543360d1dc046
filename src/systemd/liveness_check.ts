/**
 * Whether the recorder does its job, for the systemd watchdog: frames keep arriving from the
 * camera and, while recording, keep being written to clips. Plain TypeScript over the status
 * of the camera and the recorder, so it is tested without spawning anything.
 *
 * @module
 */

/** What {@linkcode LivenessCheck} reads; `Camera` and `SegmentRecorder` fit. */
export interface LivenessSources {
  camera: { status(): { lastFrameAt: number | null; fps: number } };
  recorder: {
    status(): { recording: boolean; frames: number; segments: number; fault?: string | null };
  };
}

/** Options for {@linkcode LivenessCheck}. */
export interface LivenessCheckOptions {
  /** The camera counts as stalled when its last frame is older than this. Default 10 s. */
  maxFrameAgeMs?: number;
  /**
   * While recording, the recorder counts as stalled when it wrote no frame and closed no clip
   * for this long. Default 30 s (ffmpeg restarts with backoff after a crash).
   */
  maxWriteStallMs?: number;
  /** The clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * Decides whether the service is healthy: a frame arrived in the last `maxFrameAgeMs` and,
 * when recording, frames were written or a clip was closed in the last `maxWriteStallMs`.
 *
 * @example
 * ```ts ignore
 * const liveness = new LivenessCheck({ camera, recorder });
 * startWatchdog(notifier, { healthy: () => liveness.healthy(), status: () => liveness.summary() });
 * ```
 */
export class LivenessCheck {
  readonly #sources: LivenessSources;
  readonly #maxFrameAgeMs: number;
  readonly #maxWriteStallMs: number;
  readonly #now: () => number;
  /** The recorder's counters when last seen to move, and when that was. */
  #progress: { frames: number; segments: number; at: number } | undefined;

  /** Creates a check over the camera's and the recorder's status. */
  constructor(sources: LivenessSources, options: LivenessCheckOptions = {}) {
    this.#sources = sources;
    this.#maxFrameAgeMs = options.maxFrameAgeMs ?? 10_000;
    this.#maxWriteStallMs = options.maxWriteStallMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  /** Why the service is stalled, as a sentence, or null while it is healthy. */
  stall(): string | null {
    const now = this.#now();
    const camera = this.#sources.camera.status();
    if (camera.lastFrameAt === null) return "No frame from the camera yet";
    const frameAge = now - camera.lastFrameAt;
    if (frameAge > this.#maxFrameAgeMs) {
      return `No frame from the camera for ${seconds(frameAge)} s`;
    }

    const recorder = this.#sources.recorder.status();
    // Frames may still be written while clips stop closing or saving: that is no progress.
    if (recorder.fault) return recorder.fault;
    if (!recorder.recording) {
      this.#progress = undefined;
      return null;
    }
    const progress = this.#progress;
    if (
      progress === undefined || recorder.frames !== progress.frames ||
      recorder.segments !== progress.segments
    ) {
      // Recording just started, or it moved since the last look.
      this.#progress = { frames: recorder.frames, segments: recorder.segments, at: now };
      return null;
    }
    const stalledFor = now - progress.at;
    if (stalledFor > this.#maxWriteStallMs) {
      return `The recorder wrote no frame for ${seconds(stalledFor)} s`;
    }
    return null;
  }

  /** True while frames arrive and, when recording, are written. */
  healthy(): boolean {
    return this.stall() === null;
  }

  /** One line for `systemctl status`: what the recorder does, or why it is stalled. */
  summary(): string {
    const stall = this.stall();
    if (stall !== null) return `Stalled: ${stall}`;
    const camera = this.#sources.camera.status();
    const recorder = this.#sources.recorder.status();
    const clips = `${recorder.segments} clip${recorder.segments === 1 ? "" : "s"} saved`;
    return `Camera at ${camera.fps} fps; ` +
      (recorder.recording ? `recording, ${clips}` : `recording off, ${clips}`);
  }
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}
