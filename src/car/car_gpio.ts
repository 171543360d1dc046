/**
 * The car's two GPIO inputs: a lock button (press = lock the current clip and the ones either
 * side, as `POST /api/clips/lock-now`) and the ignition (key off closes the current clip and,
 * when enabled, powers the Pi off after a delay). Each is optional: absent, a missing gpiomon,
 * a missing chip or a crashing gpiomon show in the status and never touch the recording.
 *
 * @module
 */

import { messageOf } from "../errors.ts";
import type { BackoffOptions } from "../process/supervised_process.ts";
import { runtime } from "../runtime/current.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { type GpioBias, GpioMonitor, type GpioMonitorStatus } from "./gpio_monitor.ts";
import { type GpioLine, parseGpioLine } from "./gpio_line.ts";
import type { GpioReport } from "./gpio_report.ts";
import { Ignition, type Timers } from "./ignition.ts";

export { type GpioLine, parseGpioLine } from "./gpio_line.ts";
export type { GpioReport } from "./gpio_report.ts";

/** The settings {@linkcode CarGpio} is built from (the config's rows of the same names). */
export interface CarGpioSettings {
  /** The lock button's line, "" for none. */
  lockButton: string;
  /** "low": pressed pulls the line to ground (pull-up on); "high": to 3.3 V (pull-down on). */
  lockButtonActive: "low" | "high";
  /** The ignition sense line, "" for none. */
  ignition: string;
  /** The level with the key on; the other level's pull resistor holds it when unpowered. */
  ignitionActive: "low" | "high";
  /** Power the Pi off when the key stays off for `ignitionPoweroffDelay` seconds. */
  ignitionPoweroff: boolean;
  ignitionPoweroffDelay: number;
}

/** What the inputs do; the recorder provides it. */
export interface CarGpioOptions {
  /** Locks the current clip (throws "Cannot lock now: ..." when nothing records). */
  lockNow: () => Promise<unknown>;
  /** The key went off: close the current clip. */
  keyOff: () => Promise<void>;
  /** The key came back: record again if the key off stopped it. */
  keyOn: () => Promise<void>;
  /** The power-off command. Default `systemctl poweroff`. */
  poweroffCommand?: string[];
  /** The gpiomon program. Default "gpiomon". */
  program?: string;
  backoff?: BackoffOptions;
  /** For the power-off delay (tests). */
  timers?: Timers;
  echoStderr?: boolean;
  runtime?: Runtime;
}

/** The button is ignored this long after a press: a held or bouncing button locks once. */
const LOCK_DEBOUNCE_MS = 50;
/** The ignition line settles this long: a crank's voltage dip is no key off. */
const IGNITION_DEBOUNCE_MS = 500;

/**
 * The lock button and the ignition, each watched by its own gpiomon.
 *
 * @example
 * ```ts
 * declare const settings: CarGpioSettings;
 * declare const actions: Pick<CarGpioOptions, "lockNow" | "keyOff" | "keyOn">;
 *
 * const gpio = new CarGpio(settings, {
 *   lockNow: () => actions.lockNow(),
 *   keyOff: () => actions.keyOff(),
 *   keyOn: () => actions.keyOn(),
 * });
 * gpio.start();
 * ```
 */
export class CarGpio {
  readonly #settings: CarGpioSettings;
  readonly #options: CarGpioOptions;
  readonly #lock: GpioMonitor | undefined;
  readonly #ignitionLine: GpioMonitor | undefined;
  readonly #ignition: Ignition | undefined;
  #lastPress: number | null = null;
  #lastResult: string | null = null;
  #lastError: string | null = null;
  /** The lock, key off or power-off in progress: the next one waits for it. */
  #queue: Promise<unknown> = Promise.resolve();

  /** @throws {RangeError} For a line setting that is not "CHIP:LINE". */
  constructor(settings: CarGpioSettings, options: CarGpioOptions) {
    this.#settings = settings;
    this.#options = options;
    const { program, backoff, echoStderr, runtime } = options;
    const lock = line(settings.lockButton, "lock button");
    if (lock) {
      const activeLow = settings.lockButtonActive === "low";
      this.#lock = new GpioMonitor({
        name: "lock button",
        ...lock,
        activeLow,
        bias: bias(activeLow),
        debounceMs: LOCK_DEBOUNCE_MS,
        onChange: (pressed, at) => {
          if (pressed) this.#pressed(at);
        },
        program,
        backoff,
        echoStderr,
        runtime,
      });
    }
    const ignition = line(settings.ignition, "ignition");
    if (ignition) {
      const activeLow = settings.ignitionActive === "low";
      this.#ignition = new Ignition({
        poweroffDelayMs: settings.ignitionPoweroff ? settings.ignitionPoweroffDelay * 1000 : null,
        onKeyOff: () => this.#run("close the clip at key off", options.keyOff),
        onKeyOn: () => this.#run("record again at key on", options.keyOn),
        onPoweroff: () => this.#run("power off", () => this.#poweroff()),
        timers: options.timers,
      });
      this.#ignitionLine = new GpioMonitor({
        name: "ignition",
        ...ignition,
        activeLow,
        bias: bias(activeLow),
        debounceMs: IGNITION_DEBOUNCE_MS,
        onChange: (on) => this.#ignition!.update(on),
        program,
        backoff,
        echoStderr,
        runtime,
      });
    }
  }

  /** Whether any input is set. */
  get enabled(): boolean {
    return this.#lock !== undefined || this.#ignitionLine !== undefined;
  }

  start(): void {
    this.#lock?.start();
    this.#ignitionLine?.start();
  }

  /** Stops both gpiomons and cancels a scheduled power-off; waits for a lock in progress. */
  async stop(): Promise<void> {
    this.#ignition?.stop();
    await Promise.all([this.#lock?.stop(), this.#ignitionLine?.stop()]);
    await this.#queue;
  }

  status(): GpioReport {
    const lock = this.#lock?.status();
    const line = this.#ignitionLine?.status();
    const ignition = this.#ignition?.status();
    const monitors = [lock, line].filter((s): s is GpioMonitorStatus => s !== undefined);
    const watchError = monitors.map((s) => s.lastError).find((error) => error !== null) ?? null;
    const { ignitionPoweroff, ignitionPoweroffDelay } = this.#settings;
    return {
      lock: lock
        ? {
          chip: lock.chip,
          line: lock.line,
          active_low: lock.activeLow,
          state: lock.state === "active"
            ? "pressed"
            : lock.state === "inactive"
            ? "released"
            : "unknown",
          last_press: this.#lastPress,
          last_result: this.#lastResult,
        }
        : null,
      ignition: line && ignition
        ? {
          chip: line.chip,
          line: line.line,
          active_low: line.activeLow,
          // The state machine keeps the last known state when gpiomon restarts.
          state: ignition.state,
          since: ignition.since,
          poweroff_at: ignition.poweroffAt,
          poweroff_requested_at: ignition.poweroffRequestedAt,
          poweroff_delay_s: ignitionPoweroff ? ignitionPoweroffDelay : null,
        }
        : null,
      gpiomon: monitors.map((s) => s.gpiomon).find((v) => v !== null) ?? null,
      last_error: watchError ?? this.#lastError,
    };
  }

  #pressed(at: number): void {
    this.#lastPress = at;
    this.#run("lock now", async () => {
      try {
        const result = await this.#options.lockNow() as { seq?: number } | undefined;
        this.#lastResult = result?.seq === undefined ? "Locked" : `Locked clip ${result.seq}`;
      } catch (error) {
        this.#lastResult = messageOf(error);
        throw error;
      }
    });
  }

  async #poweroff(): Promise<void> {
    const [program, ...args] = this.#options.poweroffCommand ?? ["systemctl", "poweroff"];
    console.error(`Ignition off for ${this.#settings.ignitionPoweroffDelay} s: powering off`);
    const output = await (this.#options.runtime ?? runtime()).output(program, {
      args,
      signal: AbortSignal.timeout(30_000),
    });
    if (!output.success) {
      const said = new TextDecoder().decode(output.stderr).trim().split("\n").at(-1);
      throw new Error(
        `${[program, ...args].join(" ")} exited with code ${output.code}${said ? `: ${said}` : ""}`,
      );
    }
  }

  /** Runs `step` after the ones before it; a failure is kept for the status, never thrown. */
  #run(what: string, step: () => Promise<unknown>): void {
    this.#queue = this.#queue.then(step).then(
      () => {
        // The same step worked this time: its old failure is over.
        if (this.#lastError?.startsWith(`Cannot ${what}`)) this.#lastError = null;
      },
      (error) => {
        const message = messageOf(error);
        this.#lastError = message.startsWith("Cannot ") ? message : `Cannot ${what}: ${message}`;
        console.error(`WARNING: ${this.#lastError}`);
      },
    );
  }
}

function line(text: string, name: string): GpioLine | undefined {
  if (text.trim() === "") return undefined;
  const parsed = parseGpioLine(text);
  if (!parsed) {
    throw new RangeError(
      `Invalid GPIO line for the ${name}: ${JSON.stringify(text)} (expected CHIP:LINE like ` +
        "gpiochip0:17)",
    );
  }
  return parsed;
}

/** The pull resistor that holds a line inactive while nothing drives it. */
function bias(activeLow: boolean): GpioBias {
  return activeLow ? "pull-up" : "pull-down";
}
