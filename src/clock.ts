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
}

/** Whose zone the recorder's local time is in. */
export type TimeZoneSource = "setting" | "phone" | "system";

/** The clock's state for `/api/status`. */
export interface ClockStatus {
  /** The recorder's time, ms since the epoch. */
  now: number;
  /** How far the recorder's time is ahead of the system clock. */
  offset_ms: number;
  /** True when the time came from NTP or from a phone; false at boot without either. */
  trusted: boolean;
  source: "ntp" | "phone" | "system";
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
 * Clip names stay ordered through any jump: their sequence number comes first.
 *
 * It also keeps the one local time zone that clip names, the burned-in clock and the page
 * use: the `timezone` setting when there is one, else the zone of the phone that set the time
 * (a Pi's system zone is often UTC while its driver lives in another), else the system's.
 */
export class RecorderClock {
  readonly #systemNow: () => number;
  readonly #synchronized: () => boolean;
  readonly #systemZone: () => string;
  #offset = 0;
  #fromPhone = false;
  #settingZone: string;
  #phoneZone: string | null = null;

  constructor(options: RecorderClockOptions = {}) {
    this.#systemNow = options.systemNow ?? Date.now;
    this.#synchronized = options.systemSynchronized ?? timesyncdSynchronized;
    this.#systemZone = options.systemTimeZone ?? systemTimeZone;
    this.#settingZone = checkedZone(options.timeZone ?? "", true);
  }

  /** The recorder's time in ms since the epoch (bound: pass it around as a function). */
  readonly now = (): number => this.#systemNow() + this.#offset;

  /** The zone in use (bound: pass it around as a function). */
  readonly timeZone = (): string => this.#settingZone || this.#phoneZone || this.#systemZone();

  /**
   * Takes `now` (ms since the epoch, from a trusted device) as the current time, and `timeZone`
   * (the device's IANA zone), when given, as the zone to use unless the setting names one.
   *
   * @throws {RangeError} When `now` is no plausible time or `timeZone` no known zone; then
   * nothing changes.
   */
  set(now: number, timeZone?: string): ClockStatus {
    if (!Number.isFinite(now) || now < Date.UTC(2000, 0, 1) || now > Date.UTC(2200, 0, 1)) {
      throw new RangeError(`Invalid time: expected ms since the epoch, got ${now}`);
    }
    if (timeZone !== undefined) this.#phoneZone = checkedZone(timeZone, false);
    this.#offset = Math.round(now - this.#systemNow());
    this.#fromPhone = true;
    return this.status();
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
    const source = this.#fromPhone ? "phone" : this.#synchronized() ? "ntp" : "system";
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
