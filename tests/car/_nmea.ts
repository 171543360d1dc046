/**
 * An NMEA 0183 log of a drive, as a GPS receiver prints it at 1 Hz: RMC, GGA, VTG, GSA and two
 * GSV sentences an epoch, each with its checksum; and the points it describes, to compare
 * with what gpsd and the recorder make of it. Also gpsfake, run on a port of 127.0.0.1.
 */
import { join } from "node:path";

/** One epoch of the drive, as the log says it. */
export interface RoutePoint {
  /** ms since the epoch (whole seconds). */
  time: number;
  lat: number;
  lon: number;
  /** m/s. */
  speed: number;
  /** Degrees from true north. */
  heading: number;
  /** Metres above mean sea level. */
  alt: number;
}

/** Options for {@linkcode nmeaLog}. */
export interface NmeaLogOptions {
  /** UTC time of the first epoch. Default 2031-05-04T10:00:00Z (years off any test box). */
  start?: number;
  /** Epochs (seconds). Default 60. */
  epochs?: number;
  /** Where the drive starts. Default Berlin, Alexanderplatz. */
  lat?: number;
  lon?: number;
  /** Satellites used (of 8 seen). Default 7. */
  used?: number;
}

/** `$body*hh\r\n` with the XOR checksum of `body`. */
export function sentence(body: string): string {
  let sum = 0;
  for (const char of body) sum ^= char.charCodeAt(0);
  return `$${body}*${sum.toString(16).toUpperCase().padStart(2, "0")}\r\n`;
}

/** A drive north-east then east, speeding up from 5 to about 20 m/s, and its NMEA log. */
export function nmeaLog(options: NmeaLogOptions = {}): { text: string; points: RoutePoint[] } {
  const start = options.start ?? Date.UTC(2031, 4, 4, 10, 0, 0);
  const epochs = options.epochs ?? 60;
  const used = options.used ?? 7;
  let lat = options.lat ?? 52.5219;
  let lon = options.lon ?? 13.4132;
  const points: RoutePoint[] = [];
  let text = "";
  for (let i = 0; i < epochs; i++) {
    const time = start + i * 1000;
    const speed = Math.min(20, 5 + i * 0.5);
    const heading = i < epochs / 2 ? 45 : 90;
    const alt = 34.5 + (i % 10) * 0.3;
    points.push({ time, lat, lon, speed, heading, alt });
    const d = new Date(time);
    const hms = `${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}.00`;
    const dmy = `${two(d.getUTCDate())}${two(d.getUTCMonth() + 1)}${two(d.getUTCFullYear() % 100)}`;
    const position = `${degMin(lat, 2)},${lat >= 0 ? "N" : "S"},${degMin(lon, 3)},${
      lon >= 0 ? "E" : "W"
    }`;
    const knots = (speed / 0.514444).toFixed(2);
    const kmh = (speed * 3.6).toFixed(2);
    text += sentence(`GPRMC,${hms},A,${position},${knots},${heading.toFixed(1)},${dmy},,,A`);
    text += sentence(`GPGGA,${hms},${position},1,${two(used)},0.9,${alt.toFixed(1)},M,39.2,M,,`);
    text += sentence(`GPVTG,${heading.toFixed(1)},T,,M,${knots},N,${kmh},K,A`);
    const prns = [2, 5, 7, 9, 13, 15, 20, 30];
    const usedPrns = prns.slice(0, used).map(two);
    while (usedPrns.length < 12) usedPrns.push("");
    text += sentence(`GPGSA,A,3,${usedPrns.join(",")},1.6,0.9,1.3`);
    for (const part of [0, 1]) {
      const sats = prns.slice(part * 4, part * 4 + 4)
        .map((prn, k) => `${two(prn)},${30 + k * 10},${(prn * 37) % 360},${35 + k}`);
      text += sentence(`GPGSV,2,${part + 1},08,${sats.join(",")}`);
    }
    // Move on: metres to degrees, roughly, at this latitude.
    const metres = speed;
    lat += (metres * Math.cos(heading * Math.PI / 180)) / 111_320;
    lon += (metres * Math.sin(heading * Math.PI / 180)) / (111_320 * Math.cos(lat * Math.PI / 180));
  }
  return { text, points };
}

/** A free TCP port on 127.0.0.1 (free when asked; nobody else here takes ports at random). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A running gpsfake (and the gpsd it started) replaying `log` on 127.0.0.1:`port`. */
export interface GpsFake extends AsyncDisposable {
  port: number;
  /** Ends gpsfake and its gpsd (SIGTERM: gpsfake takes its gpsd down). */
  stop(): Promise<void>;
  /** Kills the gpsd alone, with SIGKILL, as a crash would. */
  killGpsd(): Promise<void>;
}

/**
 * Starts Debian's gpsfake: `-P port` (gpsd listens on 127.0.0.1 there), `-1` the log once,
 * `-c 0.1` a sentence every 0.1 s, `-q`. gpsfake waits for the first client before feeding,
 * and gpsd spends the first sentences on finding out what the device speaks.
 */
export async function startGpsfake(
  log: string,
  options: { port?: number; dir: string; cycle?: number },
): Promise<GpsFake> {
  const port = options.port ?? freePort();
  const path = join(options.dir, `drive-${port}-${Date.now()}.nmea`);
  await Deno.writeTextFile(path, log);
  const child = new Deno.Command("gpsfake", {
    args: ["-P", String(port), "-1", "-c", String(options.cycle ?? 0.1), "-q", path],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const status = child.status;
  try {
    await waitListening(port, status);
    await waitDevice(port);
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited already
    }
    await status;
    throw error;
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch {
      // exited already
    }
    await status;
    await waitClosed(port);
  };
  return {
    port,
    stop,
    async killGpsd() {
      for (const pid of await childPids(child.pid)) {
        const name = (await Deno.readTextFile(`/proc/${pid}/comm`).catch(() => "")).trim();
        if (name === "gpsd") Deno.kill(pid, "SIGKILL");
      }
      await waitClosed(port);
    },
    [Symbol.asyncDispose]: stop,
  };
}

async function childPids(pid: number): Promise<number[]> {
  const text = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`).catch(() => "");
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

async function waitListening(port: number, exited: Promise<Deno.CommandStatus>): Promise<void> {
  let done = false;
  void exited.then(() => done = true);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !done) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`gpsfake did not listen on port ${port}${done ? ": it exited" : ""}`);
}

/**
 * Waits until gpsd lists gpsfake's pty among its devices (`?DEVICES;`): before that a client
 * gets no reports, and a gpsfake that failed to add it never will.
 */
async function waitDevice(port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(new TextEncoder().encode("?DEVICES;\n"));
        const buffer = new Uint8Array(65536);
        let text = "";
        const until = Date.now() + 2_000;
        while (Date.now() < until && !/"class":"DEVICES"[^\n]*\n/.test(text)) {
          const n = await conn.read(buffer);
          if (n === null) break;
          text += new TextDecoder().decode(buffer.subarray(0, n));
        }
        last = /\{"class":"DEVICES".*/.exec(text)?.[0] ?? text;
        if (/"class":"DEVICES","devices":\[\{/.test(text)) return;
      } finally {
        conn.close();
      }
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`gpsd on port ${port} never listed gpsfake's device (last: ${last})`);
}

async function waitClosed(port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
    } catch {
      return;
    }
  }
  throw new Error(`gpsd still listens on port ${port}`);
}

function two(value: number): string {
  return String(value).padStart(2, "0");
}

/** `ddmm.mmmm` (or `dddmm.mmmm`) of a coordinate, as NMEA writes it. */
function degMin(value: number, digits: number): string {
  const abs = Math.abs(value);
  const degrees = Math.floor(abs);
  const minutes = (abs - degrees) * 60;
  return `${String(degrees).padStart(digits, "0")}${minutes.toFixed(5).padStart(8, "0")}`;
}
