/**
 * The car's GPS, through gpsd: the `gps` setting, the newest fix for the status and the page,
 * and one fix a second for whoever records the track and sets the clock.
 *
 * @module
 */
import { messageOf } from "../errors.ts";
import { GpsdClient, type GpsdSky, type GpsdTpv } from "./gpsd_client.ts";
import type { GpsFix, GpsStatus } from "./gps_report.ts";
import { type GpsSetting, type GpsTarget, parseGpsSetting } from "./gps_setting.ts";

export type { GpsFix, GpsStatus } from "./gps_report.ts";
export { type GpsSetting, type GpsTarget, parseGpsSetting } from "./gps_setting.ts";

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
 * Follows gpsd for the recorder. Never throws after construction: gpsd missing, restarting
 * or without a receiver is a state in {@linkcode status}, and reconnecting is automatic.
 *
 * @example
 * ```ts
 * import type { ClipTracks } from "./clip_tracks.ts";
 * declare const tracks: ClipTracks;
 *
 * const gps = new Gps("auto", { onFix: (fix) => tracks.add(fix) });
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
