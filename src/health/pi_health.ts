/**
 * The health of the board the recorder runs on: SoC temperature, throttling and
 * under-voltage (Raspberry Pi), memory and load, plus warnings a person should act on.
 *
 * Everything is read from `/sys` and `/proc` (roots configurable, so tests use a fake tree),
 * and from `vcgencmd get_throttled` when it is installed. Off a Pi the Pi-only parts are null.
 *
 * @module
 */

import { readdir, readFile, stat } from "node:fs/promises";
import process from "node:process";
import { runtime } from "../runtime/current.ts";
import { SpawnError } from "../runtime/runtime.ts";
import type { HealthReport } from "../server/api_documents.ts";

/** The throttling flags of `vcgencmd get_throttled`; "now" flags first, then "since boot". */
export interface ThrottledState {
  /** The raw bit field, e.g. `0x50005`. */
  raw: number;
  /** Bit 0: the supply voltage is below 4.63 V now. */
  underVoltage: boolean;
  /** Bit 1: the ARM frequency is capped now. */
  frequencyCapped: boolean;
  /** Bit 2: the CPU is throttled now. */
  throttled: boolean;
  /** Bit 3: the soft temperature limit is active now. */
  softTempLimit: boolean;
  /** Bit 16: under-voltage has occurred since boot. */
  underVoltageOccurred: boolean;
  /** Bit 17: frequency capping has occurred since boot. */
  frequencyCappedOccurred: boolean;
  /** Bit 18: throttling has occurred since boot. */
  throttledOccurred: boolean;
  /** Bit 19: the soft temperature limit has been reached since boot. */
  softTempLimitOccurred: boolean;
}

/** A reading of the board's health. */
export interface PiHealth {
  /** SoC temperature in °C (one decimal), or null without a thermal zone. */
  temperatureC: number | null;
  /** Throttling flags, or null without `vcgencmd` (not a Pi, or not in group `video`). */
  throttled: ThrottledState | null;
  /** From `/proc/meminfo`, or null when unreadable. */
  memory: { totalBytes: number; availableBytes: number } | null;
  /** Load averages over 1, 5 and 15 minutes, or null when unreadable. */
  load: [number, number, number] | null;
  /** Sentences for the person looking at the page; empty when all is well. */
  warnings: string[];
  /** When this was read, ms since the epoch. */
  readAt: number;
}

/** Options for {@linkcode readPiHealth}. */
export interface PiHealthOptions {
  /** Where sysfs is. Default `"/sys"`. */
  sysRoot?: string;
  /** Where procfs is. Default `"/proc"`. */
  procRoot?: string;
  /**
   * The `vcgencmd` program, or null to skip it. Default: `vcgencmd` when it is on PATH or in
   * `/usr/bin` (Raspberry Pi OS) or `/opt/vc/bin` (older Raspbian).
   */
  vcgencmd?: string | null;
  /** Warn at or above this SoC temperature, °C. Default 80 (where a Pi starts throttling). */
  hotC?: number;
}

const VCGENCMD_DIRS = ["/usr/bin", "/opt/vc/bin"];
const VCGENCMD_TIMEOUT_MS = 2_000;
/** Thermal zone types of the SoC, best first; otherwise thermal_zone0 is used. */
const SOC_ZONE_TYPES = ["cpu-thermal", "cpu_thermal", "soc_thermal", "x86_pkg_temp"];

/**
 * Reads the board's health once. Never throws for a missing file or tool: that part is null.
 *
 * @example
 * ```ts ignore
 * const health = await readPiHealth();
 * for (const warning of health.warnings) console.error(warning);
 * ```
 */
export async function readPiHealth(options: PiHealthOptions = {}): Promise<PiHealth> {
  const sysRoot = options.sysRoot ?? "/sys";
  const procRoot = options.procRoot ?? "/proc";
  const [temperatureC, throttled, underVoltageAlarm, meminfo, loadavg] = await Promise.all([
    readTemperature(sysRoot),
    readThrottled(options.vcgencmd),
    readUnderVoltageAlarm(sysRoot),
    readText(`${procRoot}/meminfo`),
    readText(`${procRoot}/loadavg`),
  ]);
  const memory = meminfo === undefined ? null : parseMeminfo(meminfo);
  const load = loadavg === undefined ? null : parseLoadavg(loadavg);
  return {
    temperatureC,
    throttled,
    memory,
    load,
    warnings: healthWarnings({ temperatureC, throttled, memory, underVoltageAlarm }, options),
    readAt: Date.now(),
  };
}

/** Options for {@linkcode PiHealthReader}. */
export interface PiHealthReaderOptions extends PiHealthOptions {
  /** How long a reading is reused. Default 2 s. */
  maxAgeMs?: number;
}

/**
 * {@linkcode readPiHealth} with a cache, for `/api/status`: pages poll it, and each reading
 * may spawn `vcgencmd`. Concurrent calls share one reading.
 *
 * @example
 * ```ts ignore
 * const health = new PiHealthReader();
 * app.get("/api/health", async (c) => c.json(piHealthReport(await health.read())));
 * ```
 */
export class PiHealthReader {
  readonly #options: PiHealthReaderOptions;
  #latest: PiHealth | null = null;
  #pending: Promise<PiHealth> | undefined;

  /** Creates a reader; nothing is read until {@linkcode PiHealthReader.read}. */
  constructor(options: PiHealthReaderOptions = {}) {
    this.#options = options;
  }

  /** The last reading, or null before the first one finished. */
  get latest(): PiHealth | null {
    return this.#latest;
  }

  /** A reading no older than `maxAgeMs`. */
  read(): Promise<PiHealth> {
    const latest = this.#latest;
    if (latest !== null && Date.now() - latest.readAt < (this.#options.maxAgeMs ?? 2_000)) {
      return Promise.resolve(latest);
    }
    this.#pending ??= readPiHealth(this.#options).then((health) => {
      this.#latest = health;
      return health;
    }).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }
}

/** The `/api/status` form of a reading: snake_case keys, like the rest of the document. */
export function piHealthReport(health: PiHealth): HealthReport {
  const t = health.throttled;
  return {
    temperature_c: health.temperatureC,
    throttled: t === null ? null : {
      raw: `0x${t.raw.toString(16)}`,
      under_voltage: t.underVoltage,
      frequency_capped: t.frequencyCapped,
      throttled: t.throttled,
      soft_temp_limit: t.softTempLimit,
      under_voltage_occurred: t.underVoltageOccurred,
      frequency_capped_occurred: t.frequencyCappedOccurred,
      throttled_occurred: t.throttledOccurred,
      soft_temp_limit_occurred: t.softTempLimitOccurred,
    },
    memory: health.memory === null ? null : {
      total_bytes: health.memory.totalBytes,
      available_bytes: health.memory.availableBytes,
    },
    load: health.load,
    warnings: health.warnings,
    read_at: health.readAt,
  };
}

/**
 * Parses the output of `vcgencmd get_throttled`, e.g. `throttled=0x50005`.
 *
 * @returns The flags, or null when the text is not of that form.
 */
export function parseThrottled(text: string): ThrottledState | null {
  const match = /^throttled=0x([0-9a-f]+)\s*$/i.exec(text.trim());
  if (!match) return null;
  const raw = parseInt(match[1], 16);
  const bit = (n: number) => (raw & (1 << n)) !== 0;
  return {
    raw,
    underVoltage: bit(0),
    frequencyCapped: bit(1),
    throttled: bit(2),
    softTempLimit: bit(3),
    underVoltageOccurred: bit(16),
    frequencyCappedOccurred: bit(17),
    throttledOccurred: bit(18),
    softTempLimitOccurred: bit(19),
  };
}

interface WarningInputs {
  temperatureC: number | null;
  throttled: ThrottledState | null;
  memory: PiHealth["memory"];
  underVoltageAlarm: boolean;
}

function healthWarnings(inputs: WarningInputs, options: PiHealthOptions): string[] {
  const { temperatureC, throttled: t, memory } = inputs;
  const warnings: string[] = [];
  const weakSupply = "the power supply is too weak (use a 5 V supply rated for the board, " +
    "and a short, thick cable); clips and the SD card may get corrupted";
  if (t?.underVoltage || (t === null && inputs.underVoltageAlarm)) {
    warnings.push(`Under-voltage now: ${weakSupply}`);
  } else if (t?.underVoltageOccurred) {
    warnings.push(`Under-voltage has occurred since boot: ${weakSupply}`);
  }
  if (t?.throttled) {
    warnings.push("Throttled now: the CPU is slowed down, so frames may be dropped");
  } else if (t?.throttledOccurred) {
    warnings.push("Throttling has occurred since boot: frames may have been dropped");
  }
  if (t?.frequencyCapped && !t.throttled) {
    warnings.push("ARM frequency capped now: the CPU runs below its full speed");
  }
  if (t?.softTempLimit) {
    warnings.push("Soft temperature limit active: the CPU is slowed down to cool off");
  }
  const hotC = options.hotC ?? 80;
  if (temperatureC !== null && temperatureC >= hotC) {
    warnings.push(
      `SoC at ${temperatureC} °C: a Pi throttles from ${hotC} °C; give it air or a heatsink`,
    );
  }
  if (memory !== null && memory.availableBytes < memory.totalBytes * 0.1) {
    const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
    warnings.push(
      `Low memory: ${mib(memory.availableBytes)} MiB available of ${mib(memory.totalBytes)} MiB`,
    );
  }
  return warnings;
}

async function readTemperature(sysRoot: string): Promise<number | null> {
  const base = `${sysRoot}/class/thermal`;
  const zones: { path: string; type: string }[] = [];
  try {
    for (const name of await readdir(base)) {
      if (!name.startsWith("thermal_zone")) continue;
      const path = `${base}/${name}`;
      zones.push({ path, type: (await readText(`${path}/type`))?.trim() ?? "" });
    }
  } catch {
    return null;
  }
  zones.sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path, "en", { numeric: true }));
  for (const zone of zones) {
    const millidegrees = Number((await readText(`${zone.path}/temp`))?.trim() || NaN);
    if (Number.isFinite(millidegrees)) return Math.round(millidegrees / 100) / 10;
  }
  return null;
}

function rank(zone: { type: string }): number {
  const index = SOC_ZONE_TYPES.indexOf(zone.type);
  return index === -1 ? SOC_ZONE_TYPES.length : index;
}

/** The Pi's hwmon under-voltage alarm (`rpi_volt`), for when vcgencmd is not installed. */
async function readUnderVoltageAlarm(sysRoot: string): Promise<boolean> {
  const base = `${sysRoot}/class/hwmon`;
  try {
    for (const name of await readdir(base)) {
      const path = `${base}/${name}`;
      if ((await readText(`${path}/name`))?.trim() !== "rpi_volt") continue;
      return (await readText(`${path}/in0_lcrit_alarm`))?.trim() === "1";
    }
  } catch {
    // No hwmon: not a Pi, or a container.
  }
  return false;
}

/** Programs found missing, so they are not looked for at every reading. */
const missingPrograms = new Set<string>();

async function readThrottled(vcgencmd: string | null | undefined): Promise<ThrottledState | null> {
  if (vcgencmd === null) return null;
  const program = vcgencmd ?? await findVcgencmd();
  if (program === undefined || missingPrograms.has(program)) return null;
  try {
    const output = await runtime().output(program, {
      args: ["get_throttled"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(VCGENCMD_TIMEOUT_MS),
    });
    if (!output.success) return null;
    return parseThrottled(new TextDecoder().decode(output.stdout));
  } catch (error) {
    if (error instanceof SpawnError && error.code === "ENOENT") missingPrograms.add(program);
    return null;
  }
}

let foundVcgencmd: Promise<string | undefined> | undefined;

function findVcgencmd(): Promise<string | undefined> {
  foundVcgencmd ??= (async () => {
    const path = (process.env.PATH ?? "").split(":").filter((dir) => dir !== "");
    for (const dir of [...path, ...VCGENCMD_DIRS]) {
      const candidate = `${dir.replace(/\/+$/, "")}/vcgencmd`;
      try {
        const info = await stat(candidate);
        if (info.isFile() && (info.mode & 0o111) !== 0) return candidate;
      } catch {
        // Not in this directory.
      }
    }
    return undefined;
  })();
  return foundVcgencmd;
}

function parseMeminfo(text: string): PiHealth["memory"] {
  const kib = (key: string) => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(text);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  const totalBytes = kib("MemTotal");
  // MemAvailable is missing before Linux 3.14; free + page cache is the old estimate.
  const availableBytes = kib("MemAvailable") ??
    ((kib("MemFree") ?? NaN) + (kib("Buffers") ?? 0) + (kib("Cached") ?? 0));
  if (totalBytes === undefined || !Number.isFinite(availableBytes)) return null;
  return { totalBytes, availableBytes };
}

function parseLoadavg(text: string): PiHealth["load"] {
  const values = text.trim().split(/\s+/).slice(0, 3).map(Number);
  if (values.length < 3 || !values.every(Number.isFinite)) return null;
  return [values[0], values[1], values[2]];
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}
