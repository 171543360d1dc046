/** Options for {@linkcode RecorderClock}. */
export interface RecorderClockOptions {
  /** The system clock. Default `Date.now`. */
  systemNow?: () => number;
  /** Whether the system clock is synchronized (NTP). Default: systemd-timesyncd's flag file. */
  systemSynchronized?: () => boolean;
}

/** The clock's state for `/api/status`. */
export interface ClockStatus {
  /** The recorder's time, ms since the epoch. */
  now: number;
  /** How far the recorder's time is ahead of the system clock. */
  offset_ms: number;
  /** True when the time came from NTP or from a phone; false at boot without either. */
  trusted: boolean;
  source: "ntp" | "phone" | "system";
}

/**
 * The recorder's notion of time, used for clip names and timestamps. A Pi has no real-time
 * clock: it boots with a wrong time until NTP, which in a car often never comes. The control
 * page sends the phone's time ({@linkcode set}); the recorder keeps it as an offset over the
 * system clock (setting the system clock needs privileges a user service does not have).
 * Clip names stay ordered through any jump: their sequence number comes first.
 */
export class RecorderClock {
  readonly #systemNow: () => number;
  readonly #synchronized: () => boolean;
  #offset = 0;
  #fromPhone = false;

  constructor(options: RecorderClockOptions = {}) {
    this.#systemNow = options.systemNow ?? Date.now;
    this.#synchronized = options.systemSynchronized ?? timesyncdSynchronized;
  }

  /** The recorder's time in ms since the epoch (bound: pass it around as a function). */
  readonly now = (): number => this.#systemNow() + this.#offset;

  /** Takes `now` (ms since the epoch, from a trusted device) as the current time. */
  set(now: number): ClockStatus {
    if (!Number.isFinite(now) || now < Date.UTC(2000, 0, 1) || now > Date.UTC(2200, 0, 1)) {
      throw new RangeError(`Invalid time: expected ms since the epoch, got ${now}`);
    }
    this.#offset = Math.round(now - this.#systemNow());
    this.#fromPhone = true;
    return this.status();
  }

  status(): ClockStatus {
    const source = this.#fromPhone ? "phone" : this.#synchronized() ? "ntp" : "system";
    return { now: this.now(), offset_ms: this.#offset, trusted: source !== "system", source };
  }
}

function timesyncdSynchronized(): boolean {
  try {
    Deno.statSync("/run/systemd/timesync/synchronized");
    return true;
  } catch {
    return false;
  }
}
