/**
 * The car's GPS, through gpsd: the `gps` setting, the newest fix for the status and the page,
 * and one fix a second for whoever records the track and sets the clock.
 *
 * @module
 */
import { messageOf } from "../errors.ts";
import { GPSD_PORT, GpsdClient, type GpsdSky, type GpsdTpv } from "./gpsd_client.ts";

/**
 * The `gps` setting: `auto` (gpsd on this machine when one runs: nothing listening is no
 * error), `off`, or `host[:port]` of a gpsd that should be there.
 */
export type GpsSetting = string;

/** What a `gps` setting asks for. */
export type GpsTarget =
  | { mode: "off" }
  | { mode: "auto" | "on"; host: string; port: number };

/** A fix, at most one per second of GPS time. */
export interface GpsFix {
  /** UTC time of the fix (the receiver's), ms since the epoch. */
  time: number;
  lat: number;
  lon: number;
  /** Metres above mean sea level, or null. */
  alt: number | null;
  /** Metres per second, or null. */
  speed: number | null;
  /** Course over ground, degrees from true north, or null. */
  heading: number | null;
  /** 2D or 3D. */
  mode: 2 | 3;
  /** Satellites used, from the newest SKY report, or null. */
  satellites: number | null;
}

/** The GPS part of `/api/status`. */
export interface GpsStatus {
  /** The setting: `auto`, `off` or `host:port`. */
  setting: string;
  /**
   * `off` (setting); `absent` (auto, and no gpsd runs); `connecting`; `connected`;
   * `disconnected` (a gpsd that was asked for is not there or went away: reconnecting).
   */
  state: "off" | "absent" | "connecting" | "connected" | "disconnected";
  /** The gpsd asked: `host:port`, or null when off. */
  server: string | null;
  /** `none` (no fix, or none for a while), `2d`, `3d`. */
  fix: "none" | "2d" | "3d";
  /** The newest position (kept when the fix is lost: where the car was last seen). */
  lat: number | null;
  lon: number | null;
  alt: number | null;
  /** m/s. */
  speed: number | null;
  /** Degrees from true north. */
  heading: number | null;
  /** GPS time of the newest fix, ms since the epoch. */
  time: number | null;
  /** Satellites used in the fix; null before a SKY report. */
  satellites: number | null;
  /** Satellites seen. */
  satellites_seen: number | null;
  /** GPS receivers gpsd reads; null until it says. */
  devices: number | null;
  /** What the page shows, as a sentence. */
  message: string;
  last_error: string | null;
}

/** Options for {@linkcode Gps}. */
export interface GpsOptions {
  /** Reconnect delays (see {@linkcode GpsdClient}). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Called with one fix per second of GPS time (2D or 3D, with a time and a position). */
  onFix?: (fix: GpsFix) => void;
  /** A fix older than this (by the monotonic clock) counts as none. Default 5 s. */
  staleMs?: number;
  /** Monotonic ms. Default `performance.now`. */
  monotonicNow?: () => number;
}

/**
 * Parses the `gps` setting.
 *
 * @throws {RangeError} For anything but `auto`, `off`, a host, or `host:port`.
 *
 * @example
 * ```ts
 * parseGpsSetting("auto"); // { mode: "auto", host: "127.0.0.1", port: 2947 }
 * parseGpsSetting("192.168.1.5:2948"); // { mode: "on", host: "192.168.1.5", port: 2948 }
 * ```
 */
export function parseGpsSetting(value: string): GpsTarget {
  const text = String(value).trim();
  if (text === "off") return { mode: "off" };
  if (text === "auto" || text === "") return { mode: "auto", host: "127.0.0.1", port: GPSD_PORT };
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(text);
  const port = match?.[3] === undefined ? GPSD_PORT : Number(match[3]);
  if (!match || port < 1 || port > 65535) {
    throw new RangeError(
      `Invalid gps setting: expected "auto", "off" or gpsd's host:port like 127.0.0.1:2947, got ${
        JSON.stringify(text.slice(0, 64))
      }`,
    );
  }
  return { mode: "on", host: match[1] ?? match[2], port };
}

/**
 * Follows gpsd for the recorder. Never throws after construction: gpsd missing, restarting
 * or without a receiver is a state in {@linkcode status}, and reconnecting is automatic.
 *
 * @example
 * ```ts
 * const gps = new Gps("auto", { onFix: (fix) => track.add(fix) });
 * gps.start();
 * gps.status(); // { state: "connected", fix: "3d", lat: 52.5, lon: 13.4, … }
 * await gps.stop();
 * ```
 */
export class Gps {
  readonly #setting: string;
  readonly #target: GpsTarget;
  readonly #client: GpsdClient | null;
  readonly #options: GpsOptions;
  readonly #monotonic: () => number;
  #tpv: GpsdTpv | null = null;
  /** When the newest fix arrived (monotonic). */
  #fixAt: number | null = null;
  #sky: GpsdSky | null = null;
  /** The GPS second of the last fix passed on. */
  #lastSecond: number | null = null;
  #lastError: string | null = null;

  /** @throws {RangeError} For a malformed setting (see {@linkcode parseGpsSetting}). */
  constructor(setting: GpsSetting, options: GpsOptions = {}) {
    this.#setting = String(setting).trim() || "auto";
    this.#target = parseGpsSetting(setting);
    this.#options = options;
    this.#monotonic = options.monotonicNow ?? (() => performance.now());
    this.#client = this.#target.mode === "off" ? null : new GpsdClient({
      host: this.#target.host,
      port: this.#target.port,
      // Nobody listening at auto's address is the normal case without a GPS: ask rarely.
      backoff: options.backoff ??
        (this.#target.mode === "auto" ? { initialMs: 2_000, maxMs: 30_000 } : undefined),
      onTpv: (tpv) => this.#onTpv(tpv),
      onSky: (sky) => this.#sky = sky,
      onDisconnect: () => {
        this.#fixAt = null;
        this.#sky = null;
      },
    });
  }

  /** Starts following gpsd (nothing when off). */
  start(): void {
    this.#client?.start();
  }

  async stop(): Promise<void> {
    await this.#client?.stop();
  }

  /** The newest fix while it is fresh (see `staleMs`), else null. */
  get fix(): GpsFix | null {
    const tpv = this.#tpv;
    if (!tpv || !this.#fresh()) return null;
    return toFix(tpv, this.#sky);
  }

  status(): GpsStatus {
    const client = this.#client?.status();
    const tpv = this.#tpv;
    const fresh = this.#fresh();
    const fix = fresh && tpv ? (tpv.mode === 3 ? "3d" : "2d") : "none";
    let state: GpsStatus["state"];
    if (!client) state = "off";
    else if (client.state === "connected") state = "connected";
    else if (client.state === "connecting" && client.connects === 0) state = "connecting";
    else if (this.#target.mode === "auto" && client.refused) state = "absent";
    else if (client.state === "connecting" || client.state === "waiting") state = "disconnected";
    else state = "off";
    const satellites = this.#sky?.used ?? null;
    return {
      setting: this.#setting,
      state,
      server: client?.address ?? null,
      fix,
      lat: tpv?.lat ?? null,
      lon: tpv?.lon ?? null,
      alt: tpv?.alt ?? null,
      speed: tpv?.speed ?? null,
      heading: tpv?.track ?? null,
      time: tpv?.time ?? null,
      satellites,
      satellites_seen: this.#sky?.seen ?? null,
      devices: client?.devices ?? null,
      message: this.#message(state, fix, client?.devices ?? null, client?.address ?? ""),
      last_error: this.#lastError ?? client?.lastError ?? null,
    };
  }

  #message(
    state: GpsStatus["state"],
    fix: GpsStatus["fix"],
    devices: number | null,
    address: string,
  ): string {
    const seen = this.#sky?.seen;
    switch (state) {
      case "off":
        return "GPS is off (setting)";
      case "absent":
        return `No gpsd at ${address}: no GPS (recording goes on without)`;
      case "connecting":
        return `Connecting to gpsd at ${address}`;
      case "disconnected":
        return `gpsd at ${address} is not answering: reconnecting`;
    }
    if (devices === 0) return "gpsd runs but reads no GPS receiver";
    if (fix === "none") {
      return seen ? `Waiting for a fix (${seen} satellites seen)` : "Waiting for a fix";
    }
    const used = this.#sky?.used;
    return `${fix.toUpperCase()} fix${used ? `, ${used} satellites` : ""}`;
  }

  #fresh(): boolean {
    return this.#fixAt !== null &&
      this.#monotonic() - this.#fixAt <= (this.#options.staleMs ?? 5_000);
  }

  #onTpv(tpv: GpsdTpv): void {
    // A TPV without a fix (mode 0/1) says the fix is gone; its time may be a receiver's guess.
    if (tpv.mode < 2 || tpv.lat === null || tpv.lon === null) {
      if (tpv.mode === 1) this.#fixAt = null;
      return;
    }
    this.#tpv = tpv;
    this.#fixAt = this.#monotonic();
    if (tpv.time === null) return;
    // gpsd may report an epoch twice (a 2D TPV after RMC, then 3D after GGA): one per second.
    const second = Math.floor(tpv.time / 1000);
    if (second === this.#lastSecond) return;
    this.#lastSecond = second;
    try {
      this.#options.onFix?.(toFix(tpv, this.#sky));
      this.#lastError = null;
    } catch (error) {
      this.#lastError = `Cannot use a GPS fix: ${messageOf(error)}`;
    }
  }
}

function toFix(tpv: GpsdTpv, sky: GpsdSky | null): GpsFix {
  return {
    time: tpv.time ?? Date.now(),
    lat: tpv.lat!,
    lon: tpv.lon!,
    alt: tpv.alt,
    speed: tpv.speed,
    heading: tpv.track,
    mode: tpv.mode as 2 | 3,
    satellites: sky?.used ?? null,
  };
}
