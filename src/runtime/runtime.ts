/**
 * What differs between the runtimes the recorder runs on, behind one small interface: Deno
 * (`deno.ts`, the first-class runtime, one binary on aarch64 and x86_64) and Node.js >= 18.19
 * (`node.ts`, for the Pi Zero's ARMv6 and every 32-bit Raspberry Pi OS, where Deno does not
 * run: denoland/deno#26423).
 *
 * Only the hot or runtime-shaped paths are here: child processes with Web streams (the camera
 * and ffmpeg pipes), the HTTP server, unref'd timers. Cold paths (files, env, signals, exit)
 * use the `node:` modules both runtimes have. Each entry point picks one implementation and
 * passes it down; the frame path (parsers, hub, recorder, MJPEG) stays plain Web streams.
 *
 * @module
 */

/** Where a child's stdin, stdout or stderr goes. */
export type Stdio = "piped" | "null" | "inherit";

/** A signal the recorder sends to its children. */
export type ChildSignal = "SIGTERM" | "SIGKILL" | "SIGINT" | "SIGHUP";

/** Options for {@linkcode Runtime.spawn} and {@linkcode Runtime.output}. */
export interface SpawnOptions {
  args?: string[];
  /** Added to (not instead of) this process's environment. */
  env?: Record<string, string>;
  /** Default "null". */
  stdin?: Stdio;
  /** Default "null" for spawn, "piped" for output. */
  stdout?: Stdio;
  /** Default "null" for spawn, "piped" for output. */
  stderr?: Stdio;
  /**
   * Runs the child in a process group of its own, so that {@linkcode ChildProcess.killGroup}
   * also ends what it started (the commands of an `sh -c` pipeline). Default false.
   */
  detached?: boolean;
  /** Sends SIGTERM to the child when it aborts (e.g. `AbortSignal.timeout(5000)`). */
  signal?: AbortSignal;
}

/** How a child ended, as `Deno.CommandStatus` has it. */
export interface ChildStatus {
  /** Exited with code 0. */
  success: boolean;
  /** The exit code; 128 + the signal's number when a signal ended the child. */
  code: number;
  /** The signal that ended the child, e.g. "SIGTERM"; null when it exited by itself. */
  signal: string | null;
}

/** A running child process. */
export interface ChildProcess {
  readonly pid: number;
  /** The child's stdin; throws a TypeError unless spawned with `stdin: "piped"`. */
  readonly stdin: WritableStream<Uint8Array>;
  /** The child's stdout; throws a TypeError unless spawned with `stdout: "piped"`. */
  readonly stdout: ReadableStream<Uint8Array>;
  /** The child's stderr; throws a TypeError unless spawned with `stderr: "piped"`. */
  readonly stderr: ReadableStream<Uint8Array>;
  /** Resolves once the child has exited (its pipes may still hold data to read). */
  readonly status: Promise<ChildStatus>;
  /** Signals the child; does nothing once it has exited. Default SIGTERM. */
  kill(signal?: ChildSignal): void;
  /**
   * Signals the child's whole process group (spawned with `detached: true`, else a
   * TypeError); a group already gone is fine, so it may be called after the child exited, to
   * end what it left behind.
   */
  killGroup(signal: ChildSignal): void;
}

/** What {@linkcode Runtime.output} collected. */
export interface ChildOutput extends ChildStatus {
  /** Empty unless stdout was piped. */
  stdout: Uint8Array;
  /** Empty unless stderr was piped. */
  stderr: Uint8Array;
}

/** Options for {@linkcode Runtime.serve}. */
export interface ServeOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
}

/** Answers one HTTP request, as `Hono#fetch` does. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A listening HTTP server. */
export interface HttpServer {
  /** The port it listens on (the one picked when asked for 0). */
  readonly port: number;
  /**
   * Resolves when the server has stopped after {@linkcode shutdown}; rejects when it failed
   * while serving (e.g. Deno's accept failing with "Too many open files").
   */
  readonly finished: Promise<void>;
  /**
   * Stops accepting, closes idle connections, and resolves when the requests in progress
   * have finished (a streamed response ends when its body ends or its client goes away).
   */
  shutdown(): Promise<void>;
}

/**
 * Why a child could not be started, worded the same on both runtimes: the message is
 * "Cannot start PROGRAM: REASON", `reason` alone for callers that name the program themselves
 * ("Cannot start camera: rpicam-vid: No such file or directory").
 */
export class SpawnError extends Error {
  /** The system's error name: "ENOENT" (no such program), "EACCES" (not executable), ... */
  readonly code: string;
  /** E.g. "No such file or directory". */
  readonly reason: string;

  constructor(program: string, code: string, reason: string, options?: ErrorOptions) {
    super(`Cannot start ${program}: ${reason}`, options);
    this.name = "SpawnError";
    this.code = code;
    this.reason = reason;
  }
}

/** The operations that differ between Deno and Node.js. */
export interface Runtime {
  /** "deno" or "node", for messages and status. */
  readonly name: "deno" | "node";
  /** The runtime's executable (`deno` or `node`), to start another copy of the recorder. */
  readonly execPath: string;
  /**
   * Starts `program`; resolves once it runs.
   *
   * @throws {SpawnError} When it cannot be started (e.g. no such program).
   */
  spawn(program: string, options?: SpawnOptions): Promise<ChildProcess>;
  /**
   * Runs `program` to the end and collects what it printed.
   *
   * @throws {SpawnError} When it cannot be started.
   */
  output(program: string, options?: SpawnOptions): Promise<ChildOutput>;
  /**
   * Serves `handler` on `options.hostname`:`options.port`; resolves once listening.
   *
   * @throws {Error} When it cannot listen ("Cannot listen on HOST:PORT: the address is
   * already in use").
   */
  serve(handler: FetchHandler, options: ServeOptions): Promise<HttpServer>;
  /** Lets the process exit while `timer` (from `setTimeout`/`setInterval`) is pending. */
  unrefTimer(timer: ReturnType<typeof setTimeout>): void;
}

/** The words of the common spawn failures, the same on both runtimes. */
const SPAWN_REASONS: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  ENOEXEC: "Exec format error",
  EMFILE: "Too many open files",
  EAGAIN: "Resource temporarily unavailable",
};

/** A {@linkcode SpawnError} for `code`, worded the same on both runtimes. */
export function spawnError(program: string, code: string, cause: unknown): SpawnError {
  const reason = SPAWN_REASONS[code] ?? (cause instanceof Error ? cause.message : String(cause));
  return new SpawnError(program, code, reason, { cause });
}

/** The "Cannot listen" sentence both runtimes throw. */
export function listenError(options: ServeOptions, error: unknown): Error {
  const code = (error as { code?: unknown })?.code;
  const reason = code === "EADDRINUSE"
    ? "the address is already in use"
    : code === "EADDRNOTAVAIL"
    ? "the address is not available on this machine"
    : error instanceof Error
    ? error.message
    : String(error);
  return new Error(`Cannot listen on ${options.hostname}:${options.port}: ${reason}`, {
    cause: error,
  });
}

/** Reads `stream` to the end into one array (empty for none). */
export async function readAll(stream: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (!stream) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    length += chunk.length;
  }
  if (chunks.length === 1) return chunks[0];
  const all = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}
