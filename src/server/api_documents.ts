/**
 * The JSON documents of the HTTP API that the control page (`web/`) reads, as types both
 * sides use: the server builds them (`statusReport` in `app.ts` is checked against
 * {@linkcode StatusReport}), the page types its state with them
 * (`@typedef {import("../../src/server/api_documents.ts").StatusDocument}`).
 *
 * Types only, from modules that import little: the page's type check (with the DOM library)
 * takes in this file and what it imports, not the whole server.
 *
 * @module
 */

import type { AudioStatus } from "../audio/audio_status.ts";
import type { GpioReport } from "../car/gpio_report.ts";
import type { GpsReport } from "../car/gps_report.ts";
import type { ClockStatus } from "../clock.ts";
import type { PageSettingSchema } from "../config/page_settings.ts";
import type { Config, EditableSetting, Part } from "../config/settings_schema.ts";
import type { RecordState } from "../record_state.ts";
import type { ClipInfo, LockResult } from "../storage/clip_store.ts";

/** A supervised process's state (see `ProcessState` in `src/process/supervised_process.ts`). */
export type ProcessStateName = "idle" | "running" | "backoff" | "stopping" | "stopped";

/** How a supervised process last exited. */
export interface ExitReport {
  code: number;
  signal: string | null;
  at: number;
}

/** `status.camera`. */
export interface CameraReport {
  source: "rpicam" | "v4l2" | "test" | "command";
  description: string;
  codec: "mjpeg" | "h264";
  state: ProcessStateName;
  pid: number | null;
  frames: number;
  /** Frames in the last whole second. */
  fps: number;
  bitrate: number;
  keyframe_interval: number | null;
  /** What the latest H.264 SPS says; the page does not read it. */
  h264: object | null;
  restarts: number;
  /** ms since the epoch, recorder's clock. */
  last_frame_at: number | null;
  garbage_bytes: number;
  truncated: number;
  oversized: number;
  last_exit: ExitReport | null;
  last_error: string | null;
  restart_at: number | null;
  stderr: string[];
}

/** `status.recorder`, and the answer of `POST /api/recording/start` and `/stop`. */
export interface RecorderReport {
  /** Whether recording is wanted (the button), not whether it happens (`record`). */
  recording: boolean;
  blocked: { reason: string; since: number } | null;
  state: ProcessStateName;
  frames: number;
  dropped: number;
  segments: number;
  current: { seq: number; file: string; start: number | null } | null;
  last_clip: { seq: number; file: string; start: number; duration: number | null } | null;
  saving: unknown;
  repairing: unknown;
  fault: unknown;
  restarts: number;
  last_exit: ExitReport | null;
  last_error: string | null;
  restart_at: number | null;
  stderr: string[];
}

/** `status.preview`: the H.264 live-view decoder. */
export interface PreviewReport {
  state: ProcessStateName;
  keyframes_only: boolean;
  /** `h264_v4l2m2m` (the Pi's hardware decoder) or `h264` (software). */
  decoder: string;
  /** Why that decoder and rate. */
  decoder_reason: string;
  width: number;
  height: number;
  fps: number;
  frames: number;
  restarts: number;
  last_error: string | null;
  stderr: string[];
}

/** `status.storage`: loop recording's last check, with the numbers its warning speaks of. */
export interface StorageReport {
  ok: boolean;
  warning: string | null;
  total_bytes: number | null;
  free_bytes: number | null;
  used_bytes: number | null;
  floor_bytes: number | null;
  max_bytes: number | null;
  deleted: number;
  last_check_at: number | null;
  last_error: string | null;
}

/** `status.health`: the board's health (`piHealthReport` in `src/health/pi_health.ts`). */
export interface HealthReport {
  /** SoC temperature in °C, or null without a thermal zone. */
  temperature_c: number | null;
  /** `vcgencmd get_throttled`'s flags, or null without it (not a Pi). */
  throttled: {
    /** The bit field in hex, e.g. `0x50005`. */
    raw: string;
    under_voltage: boolean;
    frequency_capped: boolean;
    throttled: boolean;
    soft_temp_limit: boolean;
    under_voltage_occurred: boolean;
    frequency_capped_occurred: boolean;
    throttled_occurred: boolean;
    soft_temp_limit_occurred: boolean;
  } | null;
  memory: { total_bytes: number; available_bytes: number } | null;
  /** Load averages over 1, 5 and 15 minutes. */
  load: [number, number, number] | null;
  /** Sentences for the person looking at the page; empty when all is well. */
  warnings: string[];
  read_at: number;
}

/** `status.http`: the HTTP server, when it is served by `listen`. */
export interface HttpReport {
  state: "listening" | "retrying" | "stopped";
  restarts: number;
  last_error: string | null;
  since: number;
  retry_at: number | null;
  connections: number;
  max_connections: number;
  evicted: number;
  refused: number;
  timed_out: number;
  accept_errors: number;
}

/** The archive: where to, whether it answers, what waits, what is being sent. */
export interface ArchiveReport {
  /** The target with a connection string's secrets masked (`pass=***`). */
  remote: string;
  folder: string;
  clips: "locked" | "all";
  after: "keep" | "delete";
  bwlimit: string | null;
  state: "idle" | "probing" | "uploading" | "waiting" | "stopped";
  /** Null before the first probe. */
  reachable: boolean | null;
  checked_at: number | null;
  /** Clips waiting, and their bytes. */
  queue: number;
  queue_bytes: number;
  /** The clip being sent: bytes so far, of total, at rate bytes per second. */
  current:
    | { clip: string; phase: "uploading" | "verifying"; bytes: number; total: number; rate: number }
    | null;
  last_error: string | null;
  last_error_at: number | null;
  retry_at: number | null;
  /** Clips verified on the remote (the card's record). */
  archived: number;
  uploaded: number;
  deleted: number;
  last_archived: { clip: string; verified: string; at: number } | null;
}

/** What `statusReport` builds: the status without the parts read separately. */
export interface StatusReport {
  camera: CameraReport;
  recorder: RecorderReport;
  preview: PreviewReport | null;
  storage: StorageReport;
  clock: ClockStatus;
  /** Null without an archive remote. */
  archive: ArchiveReport | null;
  /** The GPS through gpsd: connection, fix, position, satellites; the track being written. */
  gps: GpsReport;
  /** The lock button and ignition lines (null each when not set), gpiomon's version, errors. */
  gpio: GpioReport;
  /** The microphone: `off` with device null when sound is off. */
  audio: AudioStatus;
  /**
   * The date and time burned into the footage: whether it is, by what (`annotate_cv`,
   * `drawtext`), or why not (a missing package, a copied stream, off).
   */
  overlay: { active: boolean; format: string; method: string | null; reason: string | null };
  viewers: { count: number; clients: { fps: number; frames: number; since: number }[] };
  uptime_s: number;
}

/** `GET /api/status`. */
export interface StatusDocument extends StatusReport {
  /** The recorder's own word on whether it records. */
  record: RecordState;
  health: HealthReport | null;
  http: HttpReport | null;
}

/** The settings the page edits, as the server has them. */
export type EditableSettings = Pick<Config, EditableSetting>;

/** `GET /api/settings`. */
export interface SettingsDocument {
  settings: EditableSettings;
  /** How to build the form: one entry per editable setting, in form order. */
  schema: Record<EditableSetting, PageSettingSchema>;
  /** The file the settings are saved to. */
  file: string;
}

/** The answer of `PUT /api/settings`. */
export interface SettingsSaved {
  settings: EditableSettings;
  /** The parts restarted to apply the change. */
  applied: Part[];
}

/** `GET /api/clips`: newest first. */
export interface ClipsDocument {
  /** Each with whether it is verified on the archive remote. */
  clips: (ClipInfo & { archived: boolean })[];
}

/** The answer of `POST /api/clips/lock-now`: the clips around the current one. */
export interface LockNowDocument {
  seq: number;
  clips: LockResult[];
}
