import { messageOf } from "../errors.ts";
import { runtime } from "../runtime/current.ts";
import {
  type ChildProcess,
  type ChildSignal,
  type ChildStatus,
  type Runtime,
  SpawnError,
} from "../runtime/runtime.ts";

/** Where a supervised child is in its life. */
export type ProcessState = "idle" | "running" | "backoff" | "stopping" | "stopped";

/** Restart delays: `initialMs`, doubling up to `maxMs`, back to `initialMs` after a run of `healthyMs`. */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  healthyMs?: number;
}

/** Options for {@linkcode SupervisedProcess}. */
export interface SupervisedProcessOptions {
  /** Name used in messages and status, e.g. "camera". */
  name: string;
  /** The command line, read again at every (re)start. */
  argv: () => string[];
  /**
   * Variables added to the child's environment, read again at every (re)start (e.g. `TZ`,
   * so a camera's burned-in clock follows the zone in use).
   */
  env?: () => Record<string, string>;
  stdin?: "piped" | "null";
  stdout?: "piped" | "null";
  /**
   * Runs while the child lives: reads its stdout or feeds its stdin. It should return when
   * the child's streams end, or soon after `signal` aborts (the child exited or stop() was
   * called). A throw is recorded as the last error and the child is terminated.
   */
  session: (child: ChildProcess, signal: AbortSignal) => Promise<void>;
  /** Called after each run, once the child has exited and its stderr is read to the end. */
  onExit?: (status: ChildStatus) => Promise<void> | void;
  /** Called with each line the child prints on stderr; return true to keep it out of the tail. */
  onStderrLine?: (line: string) => boolean | void;
  /**
   * How `stop()` ends the child: "signal" sends SIGTERM to its process group at once;
   * "session" waits for the session to end (e.g. after closing stdin, so ffmpeg finishes
   * its file) and for the child to exit within `graceMs`, and only then signals.
   */
  stopBy?: "signal" | "session";
  /** How long the child may take to exit by itself once its session ended. Default 10 s. */
  graceMs?: number;
  /** How long after SIGTERM before SIGKILL. Default 3 s. */
  killAfterMs?: number;
  backoff?: BackoffOptions;
  /** Lines of stderr kept for status. Default 20. */
  stderrLines?: number;
  /** Also print the child's stderr lines on our stderr, prefixed with the name. */
  echoStderr?: boolean;
  /** Spawns the child. Default: the runtime the entry point chose (`runtime/current.ts`). */
  runtime?: Runtime;
}

/** A child's state for `/api/status`. */
export interface ProcessStatus {
  state: ProcessState;
  pid: number | null;
  restarts: number;
  /** The last exit: code, or the signal that ended it. */
  lastExit: { code: number; signal: string | null; at: number } | null;
  /** The last failure to start or session error, as a sentence. */
  lastError: string | null;
  /** When the next restart is due (state "backoff"), in ms since the epoch. */
  restartAt: number | null;
  /** The last lines of stderr. */
  stderr: string[];
}

/**
 * Runs a child process and restarts it when it exits, with exponential backoff, until
 * stopped. The child runs in its own process group (`detached: true`) so that stopping it
 * also ends what it started (`sh -c` pipelines), and nothing is orphaned.
 *
 * @example
 * ```ts
 * declare function use(chunk: Uint8Array): void;
 *
 * const camera = new SupervisedProcess({
 *   name: "camera",
 *   argv: () => ["rpicam-vid", "-t", "0", "-o", "-"],
 *   stdout: "piped",
 *   session: async (child) => { for await (const chunk of child.stdout) use(chunk); },
 * });
 * camera.start();
 * await camera.stop();
 * ```
 */
export class SupervisedProcess {
  readonly #options: SupervisedProcessOptions;
  #state: ProcessState = "idle";
  #child: ChildProcess | undefined;
  #restarts = 0;
  #lastExit: ProcessStatus["lastExit"] = null;
  #lastError: string | null = null;
  #restartAt: number | null = null;
  #stderr: string[] = [];
  #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: SupervisedProcessOptions) {
    this.#options = options;
  }

  get state(): ProcessState {
    return this.#state;
  }

  /** Snapshot for status reports. */
  status(): ProcessStatus {
    return {
      state: this.#state,
      pid: this.#child?.pid ?? null,
      restarts: this.#restarts,
      lastExit: this.#lastExit,
      lastError: this.#lastError,
      restartAt: this.#restartAt,
      stderr: [...this.#stderr],
    };
  }

  /** Starts the child and keeps it running; does nothing when already started. */
  start(): void {
    if (this.#loop) return;
    this.#stop = new AbortController();
    this.#loop = this.#run(this.#stop.signal);
  }

  /** Stops the child and starts a new one at once (e.g. to give it a new `env`). */
  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  /** Stops the child (see `stopBy`) and waits until it has exited; no restart follows. */
  async stop(): Promise<void> {
    if (!this.#loop) return;
    this.#state = "stopping";
    this.#stop.abort();
    const child = this.#child;
    if (child && this.#options.stopBy !== "session") void this.#terminate(child);
    await this.#loop;
    this.#loop = undefined;
  }

  async #run(stop: AbortSignal): Promise<void> {
    const { initialMs = 1000, maxMs = 30_000, healthyMs = 60_000 } = this.#options.backoff ?? {};
    let delay = initialMs;
    while (!stop.aborted) {
      const startedAt = performance.now();
      await this.#runOnce(stop);
      if (stop.aborted) break;
      if (performance.now() - startedAt >= healthyMs) delay = initialMs;
      this.#restarts++;
      this.#state = "backoff";
      this.#restartAt = Date.now() + delay;
      await sleep(delay, stop);
      this.#restartAt = null;
      delay = Math.min(delay * 2, maxMs);
    }
    this.#state = "stopped";
  }

  async #runOnce(stop: AbortSignal): Promise<void> {
    const { name, argv, stdin = "null", stdout = "null" } = this.#options;
    const [program, ...args] = argv();
    const env = this.#options.env?.();
    let child: ChildProcess;
    try {
      child = await (this.#options.runtime ?? runtime()).spawn(program, {
        args,
        env,
        stdin,
        stdout,
        stderr: "piped",
        detached: true,
      });
    } catch (error) {
      const reason = error instanceof SpawnError ? error.reason : messageOf(error);
      this.#lastError = `Cannot start ${name}: ${program}: ${reason}`;
      return;
    }
    this.#child = child;
    this.#state = "running";
    const ended = new AbortController();
    const endSession = () => ended.abort();
    stop.addEventListener("abort", endSession, { once: true });
    // stop() came while the child was starting: it had no child to end yet.
    if (stop.aborted) {
      endSession();
      if (this.#options.stopBy !== "session") void this.#terminate(child);
    }
    const stderr = this.#readStderr(child.stderr);
    let failure: string | undefined;
    const session = this.#options.session(child, ended.signal).catch((error) => {
      failure = `${capitalize(name)} failed: ${messageOf(error)}`;
      void this.#terminate(child);
    });
    const exitedFirst = await Promise.race([
      child.status.then(() => true),
      session.then(() => false),
    ]);
    if (!exitedFirst) await this.#waitOrTerminate(child, this.#options.graceMs ?? 10_000);
    const status = await child.status;
    endSession();
    stop.removeEventListener("abort", endSession);
    await session;
    killGroup(child, "SIGKILL"); // whatever the child left behind in its group
    await stderr;
    this.#child = undefined;
    this.#lastExit = { code: status.code, signal: status.signal, at: Date.now() };
    if (!stop.aborted) {
      this.#lastError = failure ?? `${capitalize(name)} exited with ${describeExit(status)}`;
    }
    await this.#options.onExit?.(status);
  }

  async #readStderr(stream: ReadableStream<Uint8Array>): Promise<void> {
    const { name, onStderrLine, echoStderr, stderrLines = 20 } = this.#options;
    let rest = "";
    const take = (line: string) => {
      if (line === "" || onStderrLine?.(line)) return;
      this.#stderr.push(line);
      if (this.#stderr.length > stderrLines) this.#stderr.shift();
      if (echoStderr) console.error(`[${name}] ${line}`);
    };
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        const lines = (rest + text).split(/\r?\n|\r/);
        rest = lines.pop()!;
        lines.forEach(take);
      }
    } catch {
      // The pipe broke with the child: nothing more to read.
    }
    take(rest);
  }

  async #waitOrTerminate(child: ChildProcess, graceMs: number): Promise<void> {
    if (await exitsWithin(child, graceMs)) return;
    await this.#terminate(child);
  }

  async #terminate(child: ChildProcess): Promise<void> {
    killGroup(child, "SIGTERM");
    if (await exitsWithin(child, this.#options.killAfterMs ?? 3000)) return;
    killGroup(child, "SIGKILL");
  }
}

/** Signals a detached child's whole process group; a group already gone is fine. */
function killGroup(child: ChildProcess, signal: ChildSignal): void {
  child.killGroup(signal);
}

async function exitsWithin(child: ChildProcess, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([child.status.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function describeExit(status: ChildStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
