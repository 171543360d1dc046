/**
 * A client of gpsd's JSON protocol over TCP: connects, asks for reports with
 * `?WATCH={"enable":true,"json":true}`, and turns TPV (time-position-velocity) and SKY
 * (satellites) lines into plain objects. gpsd restarting, absent or talking nonsense is a
 * state to report and a reconnect with backoff, never an exception in the caller.
 *
 * @module
 */
import { connect, type Socket } from "node:net";
import { messageOf } from "../errors.ts";
import { GPSD_PORT } from "./gps_setting.ts";

export { GPSD_PORT };

/** What gpsd asks for: JSON reports from every device, no raw NMEA. */
const WATCH = '?WATCH={"enable":true,"json":true}\n';

/** A line longer than this is no gpsd report (SKY with 100 satellites is ~10 KB): dropped. */
const MAX_LINE_CHARS = 256 * 1024;

/** gpsd's fix mode: 0 unknown, 1 no fix, 2 2D, 3 3D. */
export type GpsdMode = 0 | 1 | 2 | 3;

/** A TPV report: what the receiver says of time, position and motion; null where it says nothing. */
export interface GpsdTpv {
  /** Device path, e.g. `/dev/ttyACM0`. */
  device: string | null;
  mode: GpsdMode;
  /** UTC time of the fix, ms since the epoch. */
  time: number | null;
  /** Degrees, WGS84. */
  lat: number | null;
  lon: number | null;
  /** Metres above mean sea level. */
  alt: number | null;
  /** Metres per second over ground. */
  speed: number | null;
  /** Course over ground, degrees from true north. */
  track: number | null;
}

/** A SKY report: the satellites the receiver sees. */
export interface GpsdSky {
  device: string | null;
  /** Satellites seen. */
  seen: number;
  /** Satellites used in the fix. */
  used: number;
  /** Horizontal dilution of precision, or null. */
  hdop: number | null;
}

/** Options for {@linkcode GpsdClient}. */
export interface GpsdClientOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 2947. */
  port?: number;
  /** Reconnect delays: doubling from `initialMs` (default 1 s) up to `maxMs` (default 10 s). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** How long a connect may take. Default 5 s. */
  connectTimeoutMs?: number;
  onTpv?: (tpv: GpsdTpv) => void;
  onSky?: (sky: GpsdSky) => void;
  /** The connection went away (gpsd stopped): whatever it said is now old. */
  onDisconnect?: () => void;
}

/** {@linkcode GpsdClient.status}. */
export interface GpsdClientStatus {
  /**
   * `connecting`; `connected` (gpsd answered); `waiting` to reconnect after a failure or a
   * disconnect (see `refused` and `lastError`); `stopped`.
   */
  state: "stopped" | "connecting" | "connected" | "waiting";
  /** `host:port`. */
  address: string;
  /** The last attempt found nothing listening (gpsd not running). */
  refused: boolean;
  /** gpsd's release, from its VERSION report. */
  version: string | null;
  /** Devices gpsd reads, from DEVICES/DEVICE reports; null until it says. */
  devices: number | null;
  /** Successful connections so far. */
  connects: number;
  /** When the next attempt is due (ms since the epoch), while waiting. */
  retryAt: number | null;
  lastError: string | null;
}

/**
 * Follows a gpsd: connects, watches, reconnects. Callbacks that throw are caught: a bug in
 * what consumes the reports must not end the connection.
 *
 * @example
 * ```ts
 * const client = new GpsdClient({ onTpv: (tpv) => console.log(tpv.lat, tpv.lon) });
 * client.start();
 * // …
 * await client.stop();
 * ```
 */
export class GpsdClient {
  readonly #options: GpsdClientOptions;
  readonly #host: string;
  readonly #port: number;
  #socket: Socket | null = null;
  #state: GpsdClientStatus["state"] = "stopped";
  #refused = false;
  #version: string | null = null;
  #devices = new Set<string>();
  #devicesKnown = false;
  #connects = 0;
  #failures = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryAt: number | null = null;
  #lastError: string | null = null;
  #closed: Promise<void> = Promise.resolve();

  constructor(options: GpsdClientOptions = {}) {
    this.#options = options;
    this.#host = options.host ?? "127.0.0.1";
    this.#port = options.port ?? GPSD_PORT;
  }

  /** `host:port` (IPv6 in brackets). */
  get address(): string {
    return `${this.#host.includes(":") ? `[${this.#host}]` : this.#host}:${this.#port}`;
  }

  /** Starts connecting (no-op when started). */
  start(): void {
    if (this.#state !== "stopped") return;
    this.#connect();
  }

  /** Closes the connection and stops reconnecting; resolves once the socket is closed. */
  async stop(): Promise<void> {
    this.#state = "stopped";
    clearTimeout(this.#retryTimer);
    this.#retryAt = null;
    this.#socket?.destroy();
    await this.#closed;
  }

  status(): GpsdClientStatus {
    return {
      state: this.#state,
      address: this.address,
      refused: this.#refused,
      version: this.#version,
      devices: this.#devicesKnown ? this.#devices.size : null,
      connects: this.#connects,
      retryAt: this.#retryAt,
      lastError: this.#lastError,
    };
  }

  #connect(): void {
    this.#state = "connecting";
    this.#retryAt = null;
    let socket: Socket;
    try {
      socket = connect({ host: this.#host, port: this.#port });
    } catch (error) {
      // A malformed host throws synchronously on some runtimes.
      this.#lastError = `Cannot connect to gpsd at ${this.address}: ${messageOf(error)}`;
      this.#retry();
      return;
    }
    this.#socket = socket;
    let answered = false;
    let buffered = "";
    const decoder = new TextDecoder();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    socket.setTimeout(this.#options.connectTimeoutMs ?? 5_000);
    this.#closed = new Promise<void>((resolve) => {
      socket.on("close", () => {
        this.#socket = null;
        if (answered) this.#options.onDisconnect?.();
        this.#devices.clear();
        this.#devicesKnown = false;
        resolve();
        if (this.#state !== "stopped") this.#retry();
      });
    });
    socket.on("timeout", () => {
      // Only while connecting: once gpsd answered, silence is fine (no receiver, no reports).
      if (answered) return;
      this.#lastError = `Cannot connect to gpsd at ${this.address}: no answer in ${
        (this.#options.connectTimeoutMs ?? 5_000) / 1000
      } s`;
      socket.destroy();
    });
    socket.on("error", (error) => {
      const code = (error as { code?: string }).code;
      this.#refused = code === "ECONNREFUSED";
      this.#lastError = answered
        ? `Lost gpsd at ${this.address}: ${messageOf(error)}`
        : `Cannot connect to gpsd at ${this.address}: ${describeConnectError(error)}`;
    });
    socket.on("connect", () => {
      socket.write(WATCH);
    });
    socket.on("data", (chunk: Uint8Array) => {
      buffered += decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line) continue;
        if (!answered) {
          answered = true;
          socket.setTimeout(0);
          this.#state = "connected";
          this.#refused = false;
          this.#failures = 0;
          this.#connects++;
          this.#lastError = null;
        }
        this.#line(line);
      }
      if (buffered.length > MAX_LINE_CHARS) buffered = "";
    });
    socket.on("end", () => {
      if (answered) this.#lastError = `Lost gpsd at ${this.address}: it closed the connection`;
      else this.#lastError = `Cannot connect to gpsd at ${this.address}: it closed at once`;
    });
  }

  #retry(): void {
    if (this.#state === "stopped") return;
    this.#state = "waiting";
    const initial = this.#options.backoff?.initialMs ?? 1_000;
    const max = this.#options.backoff?.maxMs ?? 10_000;
    const delay = Math.min(max, initial * 2 ** Math.min(this.#failures, 20));
    this.#failures++;
    this.#retryAt = Date.now() + delay;
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #line(line: string): void {
    let report;
    try {
      report = JSON.parse(line);
    } catch {
      return; // not JSON: a gpsd that prints NMEA too, or line noise
    }
    if (typeof report !== "object" || report === null) return;
    try {
      switch (report.class) {
        case "VERSION":
          this.#version = typeof report.release === "string" ? report.release : null;
          break;
        case "DEVICES":
          this.#devicesKnown = true;
          this.#devices = new Set(
            (Array.isArray(report.devices) ? report.devices : [])
              .map((device: { path?: unknown }) => String(device?.path ?? "")),
          );
          break;
        case "DEVICE":
          this.#devicesKnown = true;
          // `activated: 0` is gpsd's way of saying the device went away.
          if (report.activated === 0) this.#devices.delete(String(report.path));
          else if (typeof report.path === "string") this.#devices.add(report.path);
          break;
        case "ERROR":
          this.#lastError = `gpsd: ${String(report.message ?? "unknown error")}`;
          break;
        case "TPV":
          this.#options.onTpv?.(parseTpv(report));
          break;
        case "SKY": {
          const sky = parseSky(report);
          if (sky) this.#options.onSky?.(sky);
          break;
        }
      }
    } catch (error) {
      this.#lastError = `Cannot use gpsd's ${report.class} report: ${messageOf(error)}`;
    }
  }
}

/** A TPV report's fields, each checked; anything else is null. */
export function parseTpv(report: Record<string, unknown>): GpsdTpv {
  const mode = [0, 1, 2, 3].includes(report.mode as number) ? report.mode as GpsdMode : 0;
  const time = typeof report.time === "string" ? Date.parse(report.time) : NaN;
  // gpsd 3.20+ says altMSL (and alt, deprecated); older ones only alt.
  const alt = finite(report.altMSL) ?? finite(report.alt);
  return {
    device: typeof report.device === "string" ? report.device : null,
    mode,
    time: Number.isFinite(time) ? time : null,
    lat: inRange(report.lat, 90),
    lon: inRange(report.lon, 180),
    alt,
    speed: finite(report.speed),
    track: finite(report.track),
  };
}

/**
 * A SKY report's satellite counts; null for a SKY without them (gpsd 3.22 also sends SKY with
 * only dilutions, from GSA).
 */
export function parseSky(report: Record<string, unknown>): GpsdSky | null {
  const satellites = Array.isArray(report.satellites) ? report.satellites : null;
  const seen = finite(report.nSat) ?? satellites?.length ?? null;
  if (seen === null) return null;
  const used = finite(report.uSat) ??
    satellites?.filter((sat: { used?: unknown }) => sat?.used === true).length ?? 0;
  return {
    device: typeof report.device === "string" ? report.device : null,
    seen,
    used,
    hdop: finite(report.hdop),
  };
}

function finite(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function inRange(value: unknown, limit: number): number | null {
  const number = finite(value);
  return number !== null && Math.abs(number) <= limit ? number : null;
}

function describeConnectError(error: unknown): string {
  switch ((error as { code?: string }).code) {
    case "ECONNREFUSED":
      return "nothing listens there (is gpsd running?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "unknown host";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable";
    default:
      return messageOf(error);
  }
}
