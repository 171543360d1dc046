/**
 * The systemd side of the service's life: `READY=1` once the service is up, then `WATCHDOG=1`
 * every half `WatchdogSec` but only while it is healthy, and `STATUS=` whenever its summary
 * changes. A stalled camera or recorder stops the pings, so systemd restarts the service.
 *
 * @module
 */

import process from "node:process";
import { runtime } from "../runtime/current.ts";
import type { NotifyValue } from "./systemd_notifier.ts";

/** What {@linkcode startWatchdog} needs of a notifier; a {@linkcode SystemdNotifier} fits. */
export interface Notifier {
  readonly enabled: boolean;
  notify(fields: Readonly<Record<string, NotifyValue>>): Promise<boolean>;
}

/** Options for {@linkcode startWatchdog}. */
export interface WatchdogOptions {
  /** True while the service does its job; `WATCHDOG=1` is sent only then. */
  healthy: () => boolean;
  /**
   * True once start-up is done (e.g. the camera delivered a frame); `READY=1` is sent then,
   * and pings start. Default: ready at once.
   */
  ready?: () => boolean;
  /** The `STATUS=` line; sent whenever it changes. */
  status?: () => string;
  /**
   * `WatchdogSec` in microseconds. Default `$WATCHDOG_USEC` (see {@linkcode readWatchdogUsec});
   * null, or no such variable, means no watchdog: only `READY=1` and `STATUS=` are sent.
   */
  watchdogUsec?: number | null;
  /** Time between checks. Default half the watchdog time, or 10 s without a watchdog. */
  intervalMs?: number;
  /** How often `ready()` is asked until it is true. Default 100 ms. */
  readyPollMs?: number;
  /** Stops the watchdog when aborted. */
  signal?: AbortSignal;
}

/** A running watchdog. */
export interface Watchdog {
  /** True once `READY=1` was sent. */
  readonly ready: boolean;
  /** `WATCHDOG=1` messages sent. */
  readonly pings: number;
  /** Checks at which the service was unhealthy, so no ping was sent. */
  readonly missed: number;
  /** Stops the timer; sends nothing more. */
  stop(): void;
}

/** The environment variables {@linkcode readWatchdogUsec} reads. */
export interface WatchdogEnv {
  get(name: string): string | undefined;
}

/**
 * The watchdog timeout systemd set for this process, from `$WATCHDOG_USEC`, or undefined when
 * there is none or `$WATCHDOG_PID` names another process (an inherited environment).
 */
export function readWatchdogUsec(
  env: WatchdogEnv = { get: (name) => process.env[name] },
  pid: number = process.pid,
): number | undefined {
  const usec = Number(env.get("WATCHDOG_USEC") ?? "");
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  const owner = env.get("WATCHDOG_PID");
  if (owner !== undefined && owner !== "" && Number(owner) !== pid) return undefined;
  return usec;
}

/**
 * Sends `READY=1` once `ready()` holds, then checks every `intervalMs`: `WATCHDOG=1` when
 * `healthy()`, and the `status()` line when it changed. Does nothing when the notifier is
 * disabled (no `$NOTIFY_SOCKET`).
 *
 * @example
 * ```ts ignore
 * const watchdog = startWatchdog(new SystemdNotifier(), {
 *   ready: () => camera.status().lastFrameAt !== null,
 *   healthy: () => liveness.healthy(),
 *   status: () => liveness.summary(),
 * });
 * // on shutdown:
 * watchdog.stop();
 * ```
 */
export function startWatchdog(notifier: Notifier, options: WatchdogOptions): Watchdog {
  const usec = options.watchdogUsec === undefined
    ? readWatchdogUsec()
    : options.watchdogUsec ?? undefined;
  const intervalMs = options.intervalMs ??
    (usec !== undefined ? Math.max(1, Math.floor(usec / 2000)) : 10_000);
  const readyPollMs = options.readyPollMs ?? 100;
  let ready = false;
  let pings = 0;
  let missed = 0;
  let lastStatus: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let busy = false;

  const schedule = (ms: number) => {
    if (stopped) return;
    const id = setTimeout(tick, ms);
    // The watchdog alone must not keep the process alive.
    runtime().unrefTimer(id);
    timer = id;
  };

  const tick = async () => {
    if (stopped || busy) return;
    busy = true;
    let next = intervalMs;
    try {
      const fields: Record<string, NotifyValue> = {};
      if (!ready) {
        if (attempt(() => options.ready?.() ?? true) !== true) {
          next = readyPollMs;
          return;
        }
        fields.READY = 1;
      }
      if (usec !== undefined) {
        // A check that throws counts as unhealthy: systemd restarts the service.
        if (attempt(options.healthy) === true) fields.WATCHDOG = 1;
        else if (ready) missed++;
      }
      const status = attempt(() => options.status?.())?.replace(/[\r\n\0]+/g, " ");
      if (status !== undefined && status !== lastStatus) fields.STATUS = status;
      // A failed send (already reported by the notifier) is retried at the next interval.
      if (Object.keys(fields).length > 0 && await notifier.notify(fields)) {
        if (fields.READY) ready = true;
        if (fields.WATCHDOG) pings++;
        if (fields.STATUS !== undefined) lastStatus = status;
      }
    } finally {
      busy = false;
      schedule(next);
    }
  };

  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  options.signal?.addEventListener("abort", stop, { once: true });

  if (notifier.enabled && !options.signal?.aborted) void tick();
  return {
    get ready() {
      return ready;
    },
    get pings() {
      return pings;
    },
    get missed() {
      return missed;
    },
    stop,
  };
}

function attempt<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
