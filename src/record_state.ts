/**
 * What the record indicator may say. "Recording" is a promise that footage exists, so it is
 * given only while frames arrive and the current clip grows on disk; every other case gets a
 * state of its own and one short sentence with the way out. Plain TypeScript over the parts'
 * status, so it is tested without spawning anything.
 *
 * @module
 */

/** The states, worst-for-the-driver first in {@linkcode describeRecordState}'s order. */
export type RecordStateName =
  | "paused"
  | "blocked"
  | "camera"
  | "stalled"
  | "starting"
  | "recording";

/** The record indicator's truth, as `/api/status` sends it (`record`). */
export interface RecordState {
  state: RecordStateName;
  /** One short sentence, with the way out where there is one. */
  message: string;
  /** When this state began, ms since the epoch. */
  since: number;
}

/** What the state is decided from: the parts' status, trimmed to what matters here. */
export interface RecordStateInput {
  /** Recording was asked for. */
  wanted: boolean;
  /** Storage stopped recording (limits cannot be met). */
  blocked: { reason: string } | null;
  storage: { lastError: string | null };
  camera: {
    state: string;
    lastFrameAt: number | null;
    lastError: string | null;
    stderr: string[];
    restartAt: number | null;
  };
  recorder: {
    state: string;
    lastError: string | null;
    fault: string | null;
    restartAt: number | null;
  };
  /** When the clip on disk last grew (or a new one began), or null when it has not yet. */
  lastGrowthAt: number | null;
  now: number;
}

/** A camera whose last frame is older than this is not delivering. */
export const FRAME_TIMEOUT_MS = 3_000;
/** A clip that did not grow for this long is not being written (clusters flush every 1 s). */
export const GROWTH_TIMEOUT_MS = 5_000;

/**
 * Decides the state and its sentence. The order matters: what the driver must act on (a full
 * card, a failing camera) wins over what only waits (starting).
 */
export function describeRecordState(input: RecordStateInput): Omit<RecordState, "since"> {
  const { camera, recorder, now } = input;
  if (!input.wanted) {
    return { state: "paused", message: "Not recording: tap Record to start" };
  }
  if (input.blocked) {
    // The guard stops recording only when deleting unlocked clips cannot make room.
    return {
      state: "blocked",
      message: `Not recording: ${
        withoutStop(input.blocked.reason)
      }. Unlock or delete clips to make room`,
    };
  }
  const cardError = input.storage.lastError;
  if (cardError && recorder.state !== "running") {
    return { state: "blocked", message: `Not recording: the card cannot be used (${cardError})` };
  }
  const frameAge = camera.lastFrameAt === null ? null : now - camera.lastFrameAt;
  const cameraFailing = camera.state === "backoff" || camera.state === "stopped" ||
    (camera.lastError !== null && (frameAge === null || frameAge > FRAME_TIMEOUT_MS));
  if (cameraFailing) {
    const said = camera.stderr.at(-1) ?? camera.lastError ?? "it stopped";
    return {
      state: "camera",
      message: `Not recording: the camera fails: ${said}${retrying(camera.restartAt, now)}`,
    };
  }
  if (frameAge !== null && frameAge > FRAME_TIMEOUT_MS) {
    return {
      state: "camera",
      message: `Not recording: no picture from the camera for ${Math.round(frameAge / 1000)} s`,
    };
  }
  if (recorder.fault) {
    return { state: "stalled", message: `Not recording: ${recorder.fault}` };
  }
  if (recorder.state === "backoff") {
    return {
      state: "stalled",
      message: `Not recording: ${recorder.lastError ?? "the recorder stopped"}${
        retrying(recorder.restartAt, now)
      }`,
    };
  }
  if (frameAge === null || input.lastGrowthAt === null) {
    return { state: "starting", message: "Starting: waiting for the first frames" };
  }
  const stillFor = now - input.lastGrowthAt;
  if (stillFor > GROWTH_TIMEOUT_MS) {
    return {
      state: "stalled",
      message: `Not recording: the clip has not grown for ${Math.round(stillFor / 1000)} s`,
    };
  }
  return { state: "recording", message: "Recording" };
}

function withoutStop(sentence: string): string {
  return sentence.replace(/[.\s]+$/, "");
}

function retrying(at: number | null, now: number): string {
  return at === null ? "" : `; retrying in ${Math.max(0, Math.ceil((at - now) / 1000))} s`;
}

/** The current clip as the tracker samples it: its number and size on disk. */
export interface ClipSample {
  seq: number;
  bytes: number;
}

/**
 * Follows the state over time: when the current clip last grew, and since when the state
 * holds. Fed one sample of the current clip per status read.
 */
export class RecordStateTracker {
  #last: ClipSample | null = null;
  #lastGrowthAt: number | null = null;
  #state: RecordState | null = null;

  /**
   * Takes a sample of the current clip (null when none is open) and the parts' status;
   * returns the state.
   */
  update(
    clip: ClipSample | null,
    input: Omit<RecordStateInput, "lastGrowthAt">,
  ): RecordState {
    if (clip === null || !input.wanted) {
      this.#last = null;
      this.#lastGrowthAt = null;
    } else if (
      this.#last === null || clip.seq !== this.#last.seq || clip.bytes > this.#last.bytes
    ) {
      // A first look at a clip with footage, a new clip, or more bytes: it is being written.
      if (this.#last !== null || clip.bytes > 0) this.#lastGrowthAt = input.now;
      this.#last = clip;
    }
    const next = describeRecordState({ ...input, lastGrowthAt: this.#lastGrowthAt });
    if (this.#state?.state !== next.state) this.#state = { ...next, since: input.now };
    else this.#state = { ...next, since: this.#state.since };
    return this.#state;
  }
}
