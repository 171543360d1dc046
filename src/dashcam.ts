import { stat } from "node:fs/promises";
import { join } from "node:path";
import { clockEnv } from "./camera/argv.ts";
import { Camera, type CameraStatus } from "./camera/camera.ts";
import { type ResolvedSource, resolveSource, type SystemProbe } from "./camera/detect.ts";
import { H264Preview, type PreviewStatus } from "./live/h264_preview.ts";
import { CarGpio, type CarGpioOptions, type GpioReport } from "./car/car_gpio.ts";
import { ClipTracks, type ClipTracksStatus } from "./car/clip_tracks.ts";
import { Gps, type GpsStatus } from "./car/gps.ts";
import { type ClockStatus, RecorderClock } from "./clock.ts";
import { type RecordState, RecordStateTracker } from "./record_state.ts";
import { SerialQueue } from "./serial_queue.ts";
import { Archiver, type ArchiverOptions, type ArchiveStatus } from "./archive/archiver.ts";
import { type Config, type Part, PART_SETTINGS, PARTS } from "./config/mod.ts";
import { FrameHub } from "./frames/frame_hub.ts";
import type { Frame } from "./frames/frame.ts";
import { type RecorderStatus, SegmentRecorder } from "./recorder/segment_recorder.ts";
import { parseAudioDevice } from "./audio/audio_input.ts";
import { AudioSource, type AudioStatus } from "./audio/audio_source.ts";
import { MjpegStreams } from "./live/mjpeg_streams.ts";
import { Mp4LiveStreams } from "./live/mp4_live_streams.ts";
import { parseByteSize, parseFreeSpaceFloor } from "./storage/byte_size.ts";
import { ClipStore } from "./storage/clip_store.ts";
import { RetentionGuard, type RetentionStatus } from "./storage/retention_guard.ts";
import type { RetentionLimits } from "./storage/retention_policy.ts";

export type { Part } from "./config/mod.ts";

/** Where live JPEGs come from: the camera's hub (MJPEG) or the on-demand decoder (H.264). */
export interface LiveView {
  /** JPEG frames; `/stream.mjpg` viewers subscribe here. */
  readonly hub: FrameHub;
  /** The newest picture, waiting for one if needed; undefined when none comes in time. */
  snapshot(): Promise<Frame | undefined>;
}

/** Options for {@linkcode Dashcam.create}. */
export interface DashcamOptions {
  /** How sources are found; the real system by default. */
  probe?: SystemProbe;
  clock?: RecorderClock;
  /** Print the children's stderr and clip events. */
  verbose?: boolean;
  /** Restart delays of the children (tests shorten them). */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * The archiver's options beyond the settings (rclone binary, rclone.conf, intervals), and
   * settings to use instead of the config's (tests).
   */
  archive?: Partial<ArchiverOptions>;
  /** gpsd's reconnect delays (tests shorten them). */
  gpsBackoff?: { initialMs?: number; maxMs?: number };
  /** The GPIO inputs' gpiomon, power-off command, restart delays and timers (tests). */
  gpio?: Pick<CarGpioOptions, "program" | "poweroffCommand" | "backoff" | "timers">;
}

/** One camera's pipeline: rebuilt whole when the camera's settings change. */
interface Pipeline {
  source: ResolvedSource;
  hub: FrameHub;
  camera: Camera;
  recorder: SegmentRecorder;
  preview: H264Preview | undefined;
}

/** Why recording is not running although it was asked for. */
export interface RecordingBlock {
  reason: string;
  since: number;
}

/**
 * The running recorder: camera → hub → segment recorder (and, in H.264 mode, the live-view
 * decoder), the clip store with loop recording, and the clock. Settings changes restart only
 * the parts they concern ({@linkcode applySettings}); the HTTP app reads the current parts
 * through this object, so it never holds a stale one.
 */
export class Dashcam {
  readonly clock: RecorderClock;
  readonly store: ClipStore;
  /** Live-view responses; they follow the current live hub. */
  readonly streams: MjpegStreams;
  /** `/live.mp4` responses (H.264 mode): the camera's own stream, on the current camera hub. */
  readonly mp4: Mp4LiveStreams;
  readonly #options: DashcamOptions & { clock: RecorderClock };
  #config: Config;
  #pipeline: Pipeline;
  #guard: RetentionGuard;
  /** Uploads clips to the archive remote; null without one. */
  #archiver: Archiver | null;
  #gps: Gps;
  /** The GPS track of each clip, beside it. */
  readonly #tracks: ClipTracks;
  /** Recording was asked for (by config, the page or the API). */
  #wantRecording = false;
  /** Ignition off stopped recording: it starts again when the key comes back. */
  #resumeAtKeyOn = false;
  /** The lock button and the ignition sense; rebuilt when their settings change. */
  #gpio: CarGpio;
  #blocked: RecordingBlock | null = null;
  /** Start, stop and settings changes, one at a time. */
  #serial = new SerialQueue();
  readonly #recordState = new RecordStateTracker();

  private constructor(
    config: Config,
    store: ClipStore,
    options: DashcamOptions & { clock: RecorderClock },
    source: ResolvedSource,
    archiver: Archiver | null,
  ) {
    this.#config = config;
    this.store = store;
    this.#options = options;
    this.#archiver = archiver;
    this.clock = options.clock;
    this.clock.setTimeZone(config.timezone);
    this.#pipeline = this.#assemble(config, source);
    this.#guard = this.#buildGuard(config);
    this.streams = new MjpegStreams(() => this.live.hub);
    this.mp4 = new Mp4LiveStreams(() => this.#pipeline.hub);
    this.#tracks = new ClipTracks({
      output: config.output,
      currentClip: () => this.#pipeline.recorder.status().current,
      attach: (seq, path) => this.store.attachTrack(seq, path),
    });
    this.#gps = this.#buildGps(config);
    this.#gpio = this.#buildGpio(config);
  }

  /** Resolves the camera and opens the clip store; starts nothing. */
  static async create(config: Config, options: DashcamOptions = {}): Promise<Dashcam> {
    const store = await ClipStore.open(config.output);
    const source = await resolveCamera(config, options.probe);
    return new Dashcam(
      config,
      store,
      { ...options, clock: options.clock ?? new RecorderClock() },
      source,
      await buildArchiver(store, config, options.archive),
    );
  }

  get config(): Config {
    return this.#config;
  }

  /** The GPS (through gpsd), rebuilt when its setting changes. */
  get gps(): Gps {
    return this.#gps;
  }

  get source(): ResolvedSource {
    return this.#pipeline.source;
  }

  get camera(): Camera {
    return this.#pipeline.camera;
  }

  get recorder(): SegmentRecorder {
    return this.#pipeline.recorder;
  }

  get preview(): H264Preview | undefined {
    return this.#pipeline.preview;
  }

  get live(): LiveView {
    const { hub, preview } = this.#pipeline;
    return preview
      ? { hub: preview.hub, snapshot: () => preview.snapshot() }
      : { hub, snapshot: () => Promise.resolve(hub.latest) };
  }

  /** Whether clip `id` of `size` bytes is verified on the archive remote (false without one). */
  archived(id: string, size: number): boolean {
    return this.#archiver?.isArchived(id, size) ?? false;
  }

  /** Whether recording was asked for (it may be blocked: see {@linkcode status}). */
  get recording(): boolean {
    return this.#wantRecording;
  }

  /** Starts the camera, loop recording, and recording when the config says so. */
  start(): Promise<void> {
    return this.#serial.run(async () => {
      // Clips a power cut left open are repaired in the background: recording and the page
      // must not wait for hundreds of remuxes.
      void this.#pipeline.recorder.recover();
      // Tracks a power cut left open: closed before a new clip may take their number.
      await this.#tracks.recover();
      this.#gps.start();
      this.#gpio.start();
      this.#pipeline.camera.start();
      this.#guard.start();
      await this.#guard.check(); // limits first: a full card must not start a clip
      this.#archiver?.start();
      if (this.#config.record) await this.#startRecording();
    });
  }

  startRecording(): Promise<void> {
    return this.#serial.run(() => this.#startRecording());
  }

  stopRecording(): Promise<void> {
    return this.#serial.run(async () => {
      this.#wantRecording = false;
      this.#resumeAtKeyOn = false; // stopped on purpose: the key coming back does not undo it
      await this.#pipeline.recorder.stop();
    });
  }

  /**
   * Applies validated settings: restarts the camera (and with it the recorder and preview,
   * whose input changes), or only the recorder, or only the preview, or only the retention
   * limits, as the changed keys require. Returns the parts restarted. The new camera is
   * resolved before the old one stops, so a setting the system cannot satisfy throws and
   * changes nothing.
   */
  applySettings(changes: Partial<Config>): Promise<Part[]> {
    return this.#serial.run(async () => {
      const next = Object.freeze({ ...this.#config, ...changes });
      const changed = (part: Part) =>
        PART_SETTINGS[part].some((key) => next[key] !== this.#config[key]);
      const parts: Part[] = PARTS.filter(changed);
      if (parts.includes("camera")) {
        parts.push("recorder", "preview");
        // Resolved before anything stops: a camera the system cannot give changes nothing.
        const source = await resolveCamera(next, this.#options.probe);
        await this.#stopPipeline();
        this.#pipeline = this.#assemble(next, source);
        this.#pipeline.camera.start();
      } else {
        const { source, hub } = this.#pipeline;
        if (parts.includes("recorder")) {
          await this.#pipeline.recorder.stop();
          this.#pipeline.recorder = this.#buildRecorder(next, source, hub);
        }
        if (parts.includes("preview") && this.#pipeline.preview) {
          await this.#pipeline.preview.stop();
          this.#pipeline.preview = this.#buildPreview(next, source, hub);
        }
      }
      // Live viewers hold the old hub: end their streams, the page reconnects to the new one.
      if (parts.includes("camera") || parts.includes("preview")) await this.streams.closeAll();
      if (parts.includes("clock")) {
        const zone = this.clock.timeZone();
        this.clock.setTimeZone(next.timezone);
        if (!parts.includes("camera")) await this.#zoneChanged(zone);
      }
      if (parts.includes("storage")) {
        await this.#guard.stop();
        this.#guard = this.#buildGuard(next);
        this.#guard.start();
      }
      if (parts.includes("archive")) {
        // Built before the old one stops: a remote that cannot be used changes nothing.
        const archiver = await buildArchiver(this.store, next, this.#options.archive);
        await this.#archiver?.stop();
        this.#archiver = archiver;
        this.#archiver?.start();
      }
      if (parts.includes("gps")) {
        await this.#gps.stop();
        this.#gps = this.#buildGps(next);
        this.#gps.start();
      }
      if (parts.includes("gpio")) {
        // Built before the old one stops: validated settings, but a bad line changes nothing.
        const gpio = this.#buildGpio(next);
        await this.#gpio.stop();
        this.#gpio = gpio;
        this.#gpio.start();
      }
      this.#config = next;
      if (this.#wantRecording && parts.includes("recorder")) await this.#startRecording();
      return [...new Set(parts)];
    });
  }

  /**
   * Takes the phone's time (unless `now` is undefined: the zone alone) and, when given, its
   * IANA zone (used unless the `timezone` setting names one); a burned-in clock is restarted
   * when the zone in use changes.
   *
   * @throws {RangeError} When `now` is no plausible time or `timeZone` no known zone.
   */
  setClock(now: number | undefined, timeZone?: string): Promise<ClockStatus> {
    return this.#serial.run(async () => {
      const zone = this.clock.timeZone();
      if (now === undefined && timeZone !== undefined) this.clock.setPhoneTimeZone(timeZone);
      else this.clock.set(Number(now), timeZone);
      await this.#zoneChanged(zone);
      return this.clock.status();
    });
  }

  /** Restarts a camera that draws a clock when the zone in use is no longer `before`. */
  async #zoneChanged(before: string): Promise<void> {
    if (this.clock.timeZone() === before) return;
    const { source, camera } = this.#pipeline;
    // ffmpeg reads $TZ once: its %{localtime} keeps the zone it started with.
    if (source.argv.some((arg) => arg.includes("%{localtime"))) await camera.restart();
  }

  /** Stops everything in reverse order: the current clip is closed properly first. */
  stop(): Promise<void> {
    return this.#serial.run(async () => {
      await this.#gpio.stop();
      await this.#archiver?.stop();
      await this.#gps.stop();
      await this.#guard.stop();
      await this.#stopPipeline();
      await this.#tracks.stop(); // after the last clip's save: its track is beside it
      await this.streams.closeAll();
      await this.mp4.closeAll();
    });
  }

  /** State of every part, for `/api/status`. */
  status(): DashcamStatus {
    const { source, camera, recorder, preview } = this.#pipeline;
    return {
      source,
      camera: camera.status(),
      recorder: recorder.status(),
      recording: { wanted: this.#wantRecording, blocked: this.#blocked },
      preview: preview?.status() ?? null,
      storage: this.#guard.status(),
      clock: this.clock.status(),
      archive: this.#archiver?.status() ?? null,
      gps: { ...this.#gps.status(), track: this.#tracks.status() },
      audio: recorder.audioStatus(),
      gpio: this.#gpio.status(),
    };
  }

  /**
   * What the record indicator may say (see {@linkcode RecordStateTracker}): looks at the
   * current clip's size on disk, so "recording" means footage is being written.
   */
  async recordState(): Promise<RecordState> {
    const status = this.status();
    const { camera, recorder } = status;
    let clip = null;
    if (recorder.current) {
      try {
        const info = await stat(join(this.#config.output, recorder.current.file));
        clip = { seq: recorder.current.seq, bytes: info.size };
      } catch {
        clip = { seq: recorder.current.seq, bytes: 0 }; // not created yet, or the card is away
      }
    }
    return this.#recordState.update(clip, {
      wanted: this.#wantRecording,
      blocked: this.#blocked,
      storage: status.storage,
      camera,
      recorder,
      now: this.clock.now(), // the camera's frame times are on this clock
    });
  }

  async #startRecording(): Promise<void> {
    this.#wantRecording = true;
    if (this.#blocked) return;
    await this.#pipeline.recorder.start();
  }

  async #stopPipeline(): Promise<void> {
    const { recorder, preview, camera, hub } = this.#pipeline;
    await recorder.stop();
    await preview?.stop();
    await camera.stop();
    hub.close();
  }

  #clipSaved(seq: number): void {
    void this.store.settled(seq);
    // A clip closed and the next one began: make room for it.
    void this.#guard.check();
    this.#archiver?.notify();
    void this.#tracks.clipSaved(seq);
  }

  /**
   * The lock button and ignition a config asks for. Their actions go through the queue
   * (`#serial`) like the page's; a lock is not queued, as lock-now is not.
   */
  #buildGpio(config: Config): CarGpio {
    return new CarGpio(config, {
      ...this.#options.gpio,
      echoStderr: this.#options.verbose,
      lockNow: async () => {
        const seq = this.#pipeline.recorder.status().current?.seq;
        if (seq === undefined) {
          throw new Error("Cannot lock now: not recording, so there is no current clip");
        }
        return { seq, clips: await this.store.lockEvent(seq) };
      },
      keyOff: () =>
        this.#serial.run(async () => {
          if (!this.#wantRecording) return;
          console.error("Ignition off: closing the current clip");
          this.#resumeAtKeyOn = true;
          this.#wantRecording = false;
          await this.#pipeline.recorder.stop();
        }),
      keyOn: () =>
        this.#serial.run(async () => {
          if (!this.#resumeAtKeyOn) return;
          this.#resumeAtKeyOn = false;
          console.error("Ignition on: recording again");
          await this.#startRecording();
        }),
    });
  }

  /** The GPS a config asks for: its fixes go into the clips' tracks and set the clock. */
  #buildGps(config: Config): Gps {
    return new Gps(config.gps, {
      backoff: this.#options.gpsBackoff,
      onFix: (fix) => {
        this.clock.setFromGps(fix.time);
        this.#tracks.add(fix);
      },
    });
  }

  #assemble(config: Config, source: ResolvedSource): Pipeline {
    const hub = new FrameHub();
    const camera = new Camera({
      argv: source.argv,
      codec: source.codec,
      hub,
      now: this.clock.now,
      echoStderr: this.#options.verbose,
      backoff: this.#options.backoff,
      // The burned-in clock (test pattern, a user's drawtext) in the zone of the clip names.
      env: () => clockEnv(this.clock.timeZone()),
    });
    return {
      source,
      hub,
      camera,
      recorder: this.#buildRecorder(config, source, hub),
      preview: this.#buildPreview(config, source, hub),
    };
  }

  #buildRecorder(config: Config, source: ResolvedSource, hub: FrameHub): SegmentRecorder {
    const { verbose, backoff } = this.#options;
    return new SegmentRecorder({
      hub,
      output: config.output,
      segmentSeconds: config.segment,
      codec: source.codec,
      // Clips are cut at the keyframe nearest each boundary when our encoder keeps the interval.
      fps: config.fps,
      keyframeInterval: source.encodes ? source.h264?.intra : undefined,
      audio: this.#buildAudio(config),
      echoStderr: verbose,
      // A missing or full card: retry every few seconds, not every 30.
      backoff: { maxMs: 5_000, ...backoff },
      clipFolder: (seq) => this.store.destinationFor(seq),
      timeZone: this.clock.timeZone,
      onClip: (clip) => {
        if (verbose) console.error(`Saved ${clip.file}`);
        this.#clipSaved(clip.seq);
      },
    });
  }

  /** The microphone when sound is on, stamped on the camera's clock. */
  #buildAudio(config: Config): { source: AudioSource; bitrate: number } | undefined {
    const input = parseAudioDevice(config.audioDevice);
    if (config.audio !== "on" || !input) return undefined;
    const source = new AudioSource({
      input,
      device: config.audioDevice,
      now: this.clock.now,
      echoStderr: this.#options.verbose,
      backoff: this.#options.backoff,
    });
    return { source, bitrate: config.audioBitrate };
  }

  /** The H.264 live-view decoder; none in MJPEG mode, where frames are served as they are. */
  #buildPreview(config: Config, source: ResolvedSource, hub: FrameHub): H264Preview | undefined {
    if (!source.h264) return undefined;
    return new H264Preview({
      source: hub,
      width: config.previewWidth,
      height: config.previewHeight,
      fps: config.previewFps,
      cameraFps: config.fps,
      intra: source.h264.intra,
      echoStderr: this.#options.verbose,
      backoff: this.#options.backoff,
    });
  }

  #buildGuard(config: Config): RetentionGuard {
    return new RetentionGuard(this.store, {
      limits: retentionLimits(config),
      // Archived clips go first: they are safe on the remote.
      archived: (id, size) => this.#archiver?.isArchived(id, size) ?? false,
      onBlocked: (plan) => {
        this.#blocked = {
          reason: plan.reason ?? "Storage limits cannot be met",
          since: Date.now(),
        };
        console.error(`WARNING: recording stopped: ${this.#blocked.reason}`);
        void this.#serial.run(() => this.#pipeline.recorder.stop());
      },
      onCleared: () => {
        if (!this.#blocked) return;
        this.#blocked = null;
        console.error("Storage limits hold again: recording resumes");
        if (this.#wantRecording) void this.#serial.run(() => this.#startRecording());
      },
    });
  }
}

/** What {@linkcode Dashcam.status} reports. */
export interface DashcamStatus {
  source: ResolvedSource;
  camera: CameraStatus;
  recorder: RecorderStatus;
  recording: { wanted: boolean; blocked: RecordingBlock | null };
  preview: PreviewStatus | null;
  storage: RetentionStatus;
  clock: ClockStatus;
  /** Null without an archive remote. */
  archive: ArchiveStatus | null;
  gps: GpsStatus & { track: ClipTracksStatus };
  /** The microphone: `off` (with device null) when sound is off. */
  audio: AudioStatus;
  gpio: GpioReport;
}

/** The retention limits a config asks for. */
export function retentionLimits(config: Pick<Config, "maxStorage" | "minFree">): RetentionLimits {
  return {
    maxBytes: config.maxStorage ? parseByteSize(config.maxStorage) : undefined,
    minFree: parseFreeSpaceFloor(config.minFree),
  };
}

/** The archiver a config asks for (`archive` set, or a remote in `options`), else null. */
async function buildArchiver(
  store: ClipStore,
  config: Config,
  options: Partial<ArchiverOptions> = {},
): Promise<Archiver | null> {
  const remote = options.remote ?? config.archive;
  if (!remote) return null;
  return await Archiver.create(store, {
    folder: config.archiveFolder || undefined,
    clips: config.archiveClips,
    bwlimit: config.archiveBwlimit,
    after: config.archiveAfter,
    ...options,
    remote,
  });
}

/** The camera a config asks for, found on this system. */
function resolveCamera(config: Config, probe?: SystemProbe): Promise<ResolvedSource> {
  const { bitrate, intra, profile, level } = config;
  return resolveSource({ ...config, h264: { bitrate, intra, profile, level } }, probe);
}
