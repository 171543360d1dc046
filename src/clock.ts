import { statSync } from "node:fs";

/** Options for {@linkcode RecorderClock}. */
export interface RecorderClockOptions {
  /** The system clock. Default `Date.now`. */
  systemNow?: () => number;
  /** Whether the system clock is synchronized (NTP). Default: systemd-timesyncd's flag file. */
  systemSynchronized?: () => boolean;
  /** The `timezone` setting: an IANA zone that overrides the phone's; "" for none. */
  timeZone?: string;
  /** The system's zone. Default: the process's (`$TZ`, else `/etc/localtime`). */
  systemTimeZone?: () => string;
  /** A monotonic clock in ms, to tell how old the last GPS time is. Default `performance.now`. */
  monotonicNow?: () => number;
}

/**
 * GPS time counts as valid (a phone cannot override it) this long after the last fix gave it:
 * a tunnel or a garage keeps it, a receiver unplugged for good does not.
 */
export const GPS_TIME_VALID_MS = 60_000;
/** GPS times within this of the recorder's are left alone: NMEA arrives a few 100 ms late. */
const GPS_TOLERANCE_MS = 1_000;

/** Whose zone the recorder's local time is in. */
export type TimeZoneSource = "setting" | "phone" | "system";

/** The clock's state for `/api/status`. */
export interface ClockStatus {
  /** The recorder's time, ms since the epoch. */
  now: number;
  /** How far the recorder's time is ahead of the system clock. */
  offset_ms: number;
  /** True when the time came from NTP, GPS or a phone; false at boot without any. */
  trusted: boolean;
  /** Who set the time; trusted in this order: NTP (the system's), GPS, a phone. */
  source: "ntp" | "gps" | "phone" | "system";
  /** The IANA zone clip names, the burned-in clock and the page use, e.g. "Europe/Berlin". */
  tz: string;
  /** Where `tz` comes from: the `timezone` setting, the phone that set the time, the system. */
  tz_source: TimeZoneSource;
  /** The zone the phone last sent, or null. */
  phone_tz: string | null;
}

/**
 * Whether `zone` is an IANA time zone name this runtime knows ("Europe/Berlin", "UTC").
 * `Intl.DateTimeFormat` is the judge: the same tables format clip names and the page.
 */
export function isTimeZone(zone: unknown): zone is string {
  if (typeof zone !== "string" || zone === "" || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The process's own zone: what `$TZ` or `/etc/localtime` says, "UTC" when neither does. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC";
}

/**
 * The recorder's notion of time, used for clip names and timestamps. A Pi has no real-time
 * clock: it boots with a wrong time until NTP, which in a car often never comes. The control
 * page sends the phone's time ({@linkcode set}); the recorder keeps it as an offset over the
 * system clock (setting the system clock needs privileges a user service does not have).
 * Clip names stay ordered through any jump: their sequence number comes first. A GPS
 * receiver's time ({@linkcode setFromGps}) is taken over the phone's when NTP has not set the
 * system clock, and while it keeps coming the phone's is ignored.
 *
 * It also keeps the one local time zone that clip names, the burned-in clock and the page
 * use: the `timezone` setting when there is one, else the zone of the phone that set the time
 * (a Pi's system zone is often UTC while its driver lives in another), else the system's.
 */
export class RecorderClock {
  readonly #systemNow: () => number;
  readonly #synchronized: () => boolean;
  readonly #systemZone: () => string;
  readonly #monotonic: () => number;
  #offset = 0;
  #source: "gps" | "phone" | null = null;
  /** When GPS time last came (monotonic ms), or null. */
  #gpsAt: number | null = null;
  #settingZone: string;
  #phoneZone: string | null = null;

  constructor(options: RecorderClockOptions = {}) {
    this.#systemNow = options.systemNow ?? Date.now;
    this.#synchronized = options.systemSynchronized ?? timesyncdSynchronized;
    this.#systemZone = options.systemTimeZone ?? systemTimeZone;
    this.#monotonic = options.monotonicNow ?? (() => performance.now());
    this.#settingZone = checkedZone(options.timeZone ?? "", true);
  }

  /** The recorder's time in ms since the epoch (bound: pass it around as a function). */
  readonly now = (): number => this.#systemNow() + this.#offset;

  /** The zone in use (bound: pass it around as a function). */
  readonly timeZone = (): string => this.#settingZone || this.#phoneZone || this.#systemZone();

  /**
   * Takes `now` (ms since the epoch, from a trusted device) as the current time, and `timeZone`
   * (the device's IANA zone), when given, as the zone to use unless the setting names one.
   * While GPS time is valid the phone's time is ignored (its zone is still taken): the status
   * then says `source: "gps"`.
   *
   * @throws {RangeError} When `now` is no plausible time or `timeZone` no known zone; then
   * nothing changes.
   */
  set(now: number, timeZone?: string): ClockStatus {
    if (!Number.isFinite(now) || now < Date.UTC(2000, 0, 1) || now > Date.UTC(2200, 0, 1)) {
      throw new RangeError(`Invalid time: expected ms since the epoch, got ${now}`);
    }
    if (timeZone !== undefined) this.#phoneZone = checkedZone(timeZone, false);
    if (this.gpsValid()) return this.status();
    this.#offset = Math.round(now - this.#systemNow());
    this.#source = "phone";
    return this.status();
  }

  /**
   * Takes `time` (ms since the epoch, from a GPS fix) as the current time unless NTP set the
   * system clock; a difference under a second is left alone, so the clock does not wobble
   * with the serial line's delay. Returns whether the clock moved. Never throws: an
   * implausible time (a receiver's week-number rollover) is ignored.
   */
  setFromGps(time: number): boolean {
    if (!Number.isFinite(time) || time < Date.UTC(2000, 0, 1) || time > Date.UTC(2200, 0, 1)) {
      return false;
    }
    if (this.#synchronized()) return false;
    this.#gpsAt = this.#monotonic();
    const moved = this.#source !== "gps" || Math.abs(time - this.now()) >= GPS_TOLERANCE_MS;
    if (moved) this.#offset = Math.round(time - this.#systemNow());
    this.#source = "gps";
    return moved;
  }

  /** Whether GPS time came in the last {@linkcode GPS_TIME_VALID_MS}. */
  gpsValid(): boolean {
    return this.#gpsAt !== null && this.#monotonic() - this.#gpsAt <= GPS_TIME_VALID_MS;
  }

  /**
   * Takes `timeZone` as the phone's zone without touching the time (a clock that is right
   * already, e.g. from NTP, keeps its source).
   *
   * @throws {RangeError} When `timeZone` is no known zone.
   */
  setPhoneTimeZone(timeZone: string): ClockStatus {
    this.#phoneZone = checkedZone(timeZone, false);
    return this.status();
  }

  /**
   * Sets the `timezone` setting ("" for none: the phone's zone, else the system's).
   *
   * @throws {RangeError} When `timeZone` is not "" and no known zone.
   */
  setTimeZone(timeZone: string): void {
    this.#settingZone = checkedZone(timeZone, true);
  }

  status(): ClockStatus {
    const source = this.#source ?? (this.#synchronized() ? "ntp" : "system");
    const tzSource: TimeZoneSource = this.#settingZone
      ? "setting"
      : this.#phoneZone
      ? "phone"
      : "system";
    return {
      now: this.now(),
      offset_ms: this.#offset,
      trusted: source !== "system",
      source,
      tz: this.timeZone(),
      tz_source: tzSource,
      phone_tz: this.#phoneZone,
    };
  }
}

/** `zone` in Intl's case ("europe/berlin" → "Europe/Berlin": `$TZ` is case-sensitive). */
function checkedZone(zone: string, emptyAllowed: boolean): string {
  if (emptyAllowed && zone === "") return zone;
  if (isTimeZone(zone)) {
    // Only the case: ICU would also turn "Asia/Kolkata" into its old name "Asia/Calcutta",
    // which a system's zone files may not have.
    const spelled = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
    return spelled.toLowerCase() === zone.toLowerCase() ? spelled : zone;
  }
  throw new RangeError(
    `Invalid time zone: expected an IANA name like "Europe/Berlin", got ${JSON.stringify(zone)}`,
  );
}

function timesyncdSynchronized(): boolean {
  try {
    statSync("/run/systemd/timesync/synchronized");
    return true;
  } catch {
    return false;
  }
}
