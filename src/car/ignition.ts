/**
 * The ignition input as a state machine: key off closes the current clip and, when enabled,
 * powers the Pi off after a delay that the key coming back cancels. A car with a hold-up
 * supply or a UPS HAT then gets a clean shutdown instead of a power cut. Pure: the timers and
 * the clock are injectable, and what happens is left to the callbacks.
 *
 * @module
 */

/** What the ignition line says; "unknown" until its first edge. */
export type IgnitionState = "on" | "off" | "unknown";

/** The timer functions {@linkcode Ignition} uses; the global ones by default. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** Options for {@linkcode Ignition}. */
export interface IgnitionOptions {
  /** Power off this long after key off; null: never power off. */
  poweroffDelayMs: number | null;
  /** The key went off: close the current clip. */
  onKeyOff: () => void;
  /** The key came back after being off. */
  onKeyOn: () => void;
  /** The delay passed with the key still off: power off now. */
  onPoweroff: () => void;
  timers?: Timers;
  /** Ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** {@linkcode Ignition.status}. */
export interface IgnitionStatus {
  state: IgnitionState;
  /** When the state last changed (ms since the epoch); null while unknown. */
  since: number | null;
  /** When the Pi powers off unless the key comes back; null when nothing is scheduled. */
  poweroffAt: number | null;
  /** When the power-off was asked for (the delay ran out); null otherwise. */
  poweroffRequestedAt: number | null;
}

const GLOBAL_TIMERS: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/**
 * Follows the ignition line.
 *
 * @example
 * ```ts
 * declare const dashcam: { keyOff(): Promise<void>; keyOn(): Promise<void> };
 * declare function poweroff(): Promise<void>;
 *
 * const ignition = new Ignition({
 *   poweroffDelayMs: 60_000,
 *   onKeyOff: () => void dashcam.keyOff(),
 *   onKeyOn: () => void dashcam.keyOn(),
 *   onPoweroff: () => void poweroff(),
 * });
 * ignition.update(false); // key off: clip closed, power-off in a minute
 * ignition.update(true); // back within the minute: power-off cancelled
 * ```
 */
export class Ignition {
  readonly #options: IgnitionOptions;
  readonly #timers: Timers;
  readonly #now: () => number;
  #state: IgnitionState = "unknown";
  #since: number | null = null;
  #timer: unknown = undefined;
  #poweroffAt: number | null = null;
  #poweroffRequestedAt: number | null = null;

  constructor(options: IgnitionOptions) {
    const delay = options.poweroffDelayMs;
    if (delay !== null && !(Number.isFinite(delay) && delay >= 0)) {
      throw new RangeError(`Invalid power-off delay: ${delay} (expected ms >= 0, or null)`);
    }
    this.#options = options;
    this.#timers = options.timers ?? GLOBAL_TIMERS;
    this.#now = options.now ?? Date.now;
  }

  get state(): IgnitionState {
    return this.#state;
  }

  /** The line's new value: true when the key is on. Repeats of the same value do nothing. */
  update(on: boolean): void {
    const next: IgnitionState = on ? "on" : "off";
    if (next === this.#state) return;
    const before = this.#state;
    this.#state = next;
    this.#since = this.#now();
    if (on) {
      this.#cancel();
      this.#poweroffRequestedAt = null;
      // From "unknown" (the first edge after start) nothing was closed: nothing to resume.
      if (before === "off") this.#options.onKeyOn();
      return;
    }
    this.#options.onKeyOff();
    const delay = this.#options.poweroffDelayMs;
    if (delay === null) return;
    this.#poweroffAt = this.#now() + delay;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#poweroffAt = null;
      if (this.#state !== "off") return;
      this.#poweroffRequestedAt = this.#now();
      this.#options.onPoweroff();
    }, delay);
  }

  /** Cancels a scheduled power-off (the recorder stops); the state stays. */
  stop(): void {
    this.#cancel();
  }

  status(): IgnitionStatus {
    return {
      state: this.#state,
      since: this.#since,
      poweroffAt: this.#poweroffAt,
      poweroffRequestedAt: this.#poweroffRequestedAt,
    };
  }

  #cancel(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#poweroffAt = null;
  }
}
