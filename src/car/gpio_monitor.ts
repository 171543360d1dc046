/**
 * One GPIO input line watched through libgpiod's `gpiomon`, which Debian packages as `gpiod`:
 * Bookworm has libgpiod 1.6 and Trixie 2.x, whose command lines differ (1.6 takes the chip as
 * the first operand and `-b` is --line-buffered; 2.x takes `--chip` and `-b` is --bias) and
 * whose event lines differ. The version is read from `gpiomon --version` before each start,
 * so an OS upgrade under a running recorder is followed.
 *
 * @module
 */

import { messageOf } from "../errors.ts";
import {
  type BackoffOptions,
  type ProcessStatus,
  sleep,
  SupervisedProcess,
} from "../process/supervised_process.ts";
import { runtime } from "../runtime/current.ts";
import { type ChildProcess, type Runtime, SpawnError } from "../runtime/runtime.ts";

/** libgpiod's major version: 1 (Bookworm's 1.6) or 2 (Trixie's 2.x). */
export type GpiomonMajor = 1 | 2;

/** A line's pull resistor; "as-is" leaves it as the kernel has it. */
export type GpioBias = "as-is" | "pull-up" | "pull-down" | "disable";

/** The biases a setting may name. */
export const GPIO_BIASES: readonly GpioBias[] = ["as-is", "pull-up", "pull-down", "disable"];

/** Which gpiomon is installed. */
export interface GpiomonVersion {
  major: GpiomonMajor;
  /** E.g. "1.6.3". */
  version: string;
}

/** One edge gpiomon reported. */
export interface GpioEdge {
  offset: number;
  /** The line went high (before any active-low inversion). */
  rising: boolean;
  /** The kernel's event time (CLOCK_MONOTONIC) in seconds, when printed. */
  timestamp: number | null;
}

/**
 * Reads the version from `gpiomon --version`'s first line, "gpiomon (libgpiod) v1.6.3".
 *
 * @throws {Error} When it is not a libgpiod 1.x or 2.x version line.
 */
export function parseGpiomonVersion(text: string): GpiomonVersion {
  const match = /\(libgpiod\) v?((\d+)\.\d+(?:[.\w-]*))/.exec(text);
  const major = Number(match?.[2]);
  if (!match || (major !== 1 && major !== 2)) {
    const first = text.trim().split("\n")[0] ?? "";
    throw new Error(
      `Cannot use gpiomon: its --version printed ${JSON.stringify(first)}, not libgpiod 1.x or 2.x`,
    );
  }
  return { major: major as GpiomonMajor, version: match[1] };
}

/**
 * Runs `program --version` and tells which gpiomon it is.
 *
 * @throws {Error} "Cannot use gpiomon: ..." when it is missing, fails or is no libgpiod tool.
 */
export async function detectGpiomon(
  program = "gpiomon",
  options: { runtime?: Runtime } = {},
): Promise<GpiomonVersion> {
  let output;
  try {
    output = await (options.runtime ?? runtime()).output(program, {
      args: ["--version"],
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    const reason = error instanceof SpawnError ? error.reason : messageOf(error);
    const hint = error instanceof SpawnError && error.code === "ENOENT"
      ? " (install it with: sudo apt install gpiod)"
      : "";
    throw new Error(`Cannot use gpiomon: ${program}: ${reason}${hint}`, { cause: error });
  }
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    const said = new TextDecoder().decode(output.stderr).trim().split("\n").at(-1);
    throw new Error(
      `Cannot use gpiomon: ${program} --version exited with code ${output.code}${
        said ? `: ${said}` : ""
      }`,
    );
  }
  return parseGpiomonVersion(text);
}

/** What {@linkcode gpiomonArgs} watches. */
export interface GpiomonArgsOptions {
  /** The chip by name, number or path: "gpiochip0", "0", "/dev/gpiochip0". */
  chip: string;
  /** The line's offset on the chip (the BCM number on a Pi's gpiochip0). */
  line: number;
  bias?: GpioBias;
  /** Kernel debounce (2.x only; 1.6 has none, so the monitor debounces too). */
  debounceMs?: number;
}

/** The event line format asked for: offset, edge, time. */
const FORMAT: Record<GpiomonMajor, string> = { 1: "%o %e %s %n", 2: "%o %e %S" };

/**
 * gpiomon's arguments (without the program) for one line, in the version's own syntax.
 * Polarity is not passed (`--active-low`): the monitor inverts in software, the same way for
 * both versions.
 */
export function gpiomonArgs(major: GpiomonMajor, options: GpiomonArgsOptions): string[] {
  const { chip, line, bias = "as-is", debounceMs = 0 } = options;
  if (major === 1) {
    // 1.6 block-buffers a pipe: without --line-buffered an edge would wait for 4 KiB more.
    return [
      "--line-buffered",
      `--format=${FORMAT[1]}`,
      ...(bias === "as-is" ? [] : [`--bias=${bias}`]),
      chip,
      String(line),
    ];
  }
  return [
    "--chip",
    chip,
    "--format",
    FORMAT[2],
    ...(bias === "as-is" ? [] : ["--bias", bias === "disable" ? "disabled" : bias]),
    ...(debounceMs > 0 ? ["--debounce-period", `${Math.round(debounceMs)}ms`] : []),
    String(line),
  ];
}

/**
 * One gpiomon output line as an edge: the `--format` this module asks for, or either
 * version's default line (1.6 "event:  RISING EDGE offset: 17 timestamp: [  1234.567890123]",
 * 2.x "1234.567890123\trising\tgpiochip0 17 \"GPIO17\""). Undefined for anything else.
 */
export function parseGpiomonLine(line: string, major: GpiomonMajor): GpioEdge | undefined {
  const text = line.trim();
  let match = /^(\d+) (\d) (\d+)(?:\.(\d+)| (\d+))$/.exec(text);
  if (match) {
    const [, offset, edge, seconds, fraction, nanos] = match;
    // 1.6's %e: 1 rising, 0 falling; 2.x's: 1 rising, 2 falling.
    const rising = edge === "1";
    if (!rising && edge !== (major === 1 ? "0" : "2")) return undefined;
    const timestamp = fraction !== undefined
      ? Number(`${seconds}.${fraction}`)
      : Number(seconds) + Number(nanos) / 1e9;
    return { offset: Number(offset), rising, timestamp };
  }
  match = /^event:\s+(RISING|FALLING) EDGE offset: (\d+) timestamp: \[\s*(\d+)\.(\d+)\]$/
    .exec(text);
  if (match) {
    return {
      offset: Number(match[2]),
      rising: match[1] === "RISING",
      timestamp: Number(`${match[3]}.${match[4]}`),
    };
  }
  // 2.x: the line id is "chip offset", `chip offset "name"` or `"name"` (then no offset).
  match = /^(\S+)\t(rising|falling)\t\S+ (\d+)(?: ".*")?$/.exec(line.replace(/\r?\n$/, ""));
  if (match) {
    const timestamp = Number(match[1]);
    return {
      offset: Number(match[3]),
      rising: match[2] === "rising",
      timestamp: Number.isFinite(timestamp) ? timestamp : null,
    };
  }
  return undefined;
}

/** A line's logical state: "active" (pressed, key on); "unknown" until its first edge. */
export type GpioLineState = "active" | "inactive" | "unknown";

/** Options for {@linkcode GpioMonitor}. */
export interface GpioMonitorOptions extends GpiomonArgsOptions {
  /** For messages, e.g. "lock button". */
  name: string;
  /** Active when the line is low (a button to ground with a pull-up). Default false. */
  activeLow?: boolean;
  /**
   * Edges closer than this to the last reported change are bounces: the state settles to the
   * line's value when the period ends. Default 50 ms.
   */
  debounceMs?: number;
  /** Called when the (debounced) state changes; `at` in ms since the epoch. */
  onChange: (active: boolean, at: number) => void;
  /** The gpiomon program. Default "gpiomon". */
  program?: string;
  backoff?: BackoffOptions;
  echoStderr?: boolean;
  runtime?: Runtime;
  /** Ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** {@linkcode GpioMonitor.status}. */
export interface GpioMonitorStatus {
  chip: string;
  line: number;
  activeLow: boolean;
  state: GpioLineState;
  /** When the state last changed (ms since the epoch). */
  changedAt: number | null;
  /** The gpiomon in use, e.g. "2.1.3"; null until found. */
  gpiomon: string | null;
  /** The gpiomon child: running, backoff (restarting), ... */
  process: ProcessStatus["state"] | "idle";
  restarts: number;
  /** Why the line is not watched, as a sentence; null while it is. */
  lastError: string | null;
}

/**
 * Watches one line with gpiomon, restarted with backoff when it fails or is missing (found
 * again when installed later); reports debounced, polarity-corrected state changes.
 *
 * @example
 * ```ts
 * declare function lockNow(): Promise<void>;
 *
 * const button = new GpioMonitor({
 *   name: "lock button", chip: "gpiochip0", line: 17, activeLow: true, bias: "pull-up",
 *   onChange: (pressed) => { if (pressed) void lockNow(); },
 * });
 * button.start();
 * await button.stop();
 * ```
 */
export class GpioMonitor {
  readonly #options: GpioMonitorOptions;
  readonly #now: () => number;
  #version: GpiomonVersion | null = null;
  #process: SupervisedProcess | undefined;
  #state: GpioLineState = "unknown";
  #changedAt: number | null = null;
  /** The line's last reported value (logical), before debouncing. */
  #raw: boolean | null = null;
  #settle: ReturnType<typeof setTimeout> | undefined;
  #detectError: string | null = null;
  #detectRestarts = 0;
  #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: GpioMonitorOptions) {
    if (!Number.isInteger(options.line) || options.line < 0) {
      throw new RangeError(`Invalid GPIO line for the ${options.name}: ${options.line}`);
    }
    if (options.chip.trim() === "") {
      throw new RangeError(`Invalid GPIO chip for the ${options.name}: it is empty`);
    }
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Finds gpiomon and starts watching; does nothing when already started. */
  start(): void {
    if (this.#loop) return;
    this.#stop = new AbortController();
    this.#loop = this.#run(this.#stop.signal);
  }

  /** Stops gpiomon and waits until it has exited. */
  async stop(): Promise<void> {
    if (!this.#loop) return;
    this.#stop.abort();
    clearTimeout(this.#settle);
    this.#settle = undefined;
    await this.#loop;
    await this.#process?.stop();
    this.#loop = undefined;
  }

  status(): GpioMonitorStatus {
    const process = this.#process?.status();
    return {
      chip: this.#options.chip,
      line: this.#options.line,
      activeLow: this.#options.activeLow ?? false,
      state: this.#state,
      changedAt: this.#changedAt,
      gpiomon: this.#version?.version ?? null,
      process: process?.state ?? "idle",
      restarts: (process?.restarts ?? 0) + this.#detectRestarts,
      lastError: this.#lastError(process),
    };
  }

  #lastError(process: ProcessStatus | undefined): string | null {
    if (this.#detectError) return this.#detectError;
    if (!process || process.state === "running") return null;
    if (process.state === "stopped" || process.state === "stopping") return null;
    // gpiomon's own words ("gpiomon: cannot find GPIO chip ...") say more than its exit code.
    const said = process.stderr.at(-1);
    return process.lastError && said ? `${process.lastError}: ${said}` : process.lastError;
  }

  /** Finds gpiomon (retrying with backoff while it is missing), then supervises it. */
  async #run(stop: AbortSignal): Promise<void> {
    const { initialMs = 1000, maxMs = 30_000 } = this.#options.backoff ?? {};
    let delay = initialMs;
    while (!stop.aborted && !this.#version) {
      try {
        this.#version = await detectGpiomon(this.#options.program, this.#options);
        this.#detectError = null;
      } catch (error) {
        this.#detectError = `Cannot watch the ${this.#options.name}: ${messageOf(error)}`;
        this.#detectRestarts++;
        await sleep(delay, stop);
        delay = Math.min(delay * 2, maxMs);
      }
    }
    if (stop.aborted) return;
    this.#process = new SupervisedProcess({
      name: "gpiomon",
      argv: () => [
        this.#options.program ?? "gpiomon",
        ...gpiomonArgs(this.#version!.major, this.#options),
      ],
      stdout: "piped",
      session: (child, signal) => this.#read(child, signal),
      onExit: () => this.#exited(),
      echoStderr: this.#options.echoStderr,
      backoff: this.#options.backoff,
      stderrLines: 5,
      runtime: this.#options.runtime,
    });
    this.#process.start();
  }

  async #read(child: ChildProcess, signal: AbortSignal): Promise<void> {
    const major = this.#version!.major;
    let rest = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const cancel = () => void reader.cancel().catch(() => {});
    signal.addEventListener("abort", cancel, { once: true });
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        const lines = (rest + value).split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          const edge = parseGpiomonLine(line, major);
          if (edge && edge.offset === this.#options.line) this.#edge(edge.rising);
        }
      }
    } catch {
      // The pipe broke with the child.
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  }

  /** gpiomon exited: the line's state is no longer known; an upgrade may have changed it. */
  async #exited(): Promise<void> {
    this.#raw = null;
    this.#setState("unknown");
    try {
      this.#version = await detectGpiomon(this.#options.program, this.#options);
      this.#detectError = null;
    } catch {
      // Keep the old version: the restart's own failure will say what is wrong.
    }
  }

  #edge(rising: boolean): void {
    const active = rising !== (this.#options.activeLow ?? false);
    this.#raw = active;
    if (this.#settle !== undefined) return; // within the debounce period: settles at its end
    this.#report();
  }

  #report(): void {
    if (this.#raw === null) return;
    const active = this.#raw;
    if (this.#state === (active ? "active" : "inactive")) return;
    this.#setState(active ? "active" : "inactive");
    this.#options.onChange(active, this.#changedAt!);
    const debounceMs = this.#options.debounceMs ?? 50;
    if (debounceMs <= 0) return;
    this.#settle = setTimeout(() => {
      this.#settle = undefined;
      if (!this.#stop.signal.aborted) this.#report();
    }, debounceMs);
  }

  #setState(state: GpioLineState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#changedAt = state === "unknown" ? null : this.#now();
  }
}
