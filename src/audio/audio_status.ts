/**
 * The microphone's state in `/api/status`, apart from the capture so that the page's type
 * check reads only this.
 *
 * @module
 */

/** The sound's state for `/api/status` (see `AudioSource`). */
export interface AudioStatus {
  /**
   * `off`: not asked for (or not recording); `starting`: the capture runs, no sound yet;
   * `on`: sound arrives; `failing`: the microphone is absent or stopped delivering (the
   * clips get silence meanwhile).
   */
  state: "off" | "starting" | "on" | "failing";
  /** The device setting, or null when sound is off. */
  device: string | null;
  /** Loudness of the last half second, dBFS (RMS; -100 for digital silence); null without sound. */
  levelDb: number | null;
  lastError: string | null;
}
