/**
 * rclone as the archive's storage engine: argv builders (pure), the parsers of its output,
 * and {@linkcode Rclone}, which runs it through the runtime seam. The remote's syntax is in
 * `rclone_remote.ts`.
 *
 * Only rclone talks to the remote (SFTP, SMB, WebDAV, S3, ...): this module writes no
 * uploader, it builds command lines and reads what rclone prints.
 *
 * @module
 */
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import process from "node:process";
import { runtime } from "../runtime/current.ts";
import { readAll } from "../runtime/runtime.ts";
import { redactRemote } from "./rclone_remote.ts";

/** Flags every rclone run gets: our own retries, JSON logs, no waiting on a dead network. */
export interface CommonFlags {
  /** rclone.conf to use instead of rclone's default (`--config`). */
  config?: string;
  /** Seconds to wait for a connection (`--contimeout`). Default 10. */
  connectTimeoutS?: number;
  /** Seconds of no data before giving up (`--timeout`). Default 30. */
  ioTimeoutS?: number;
}

function commonArgs(flags: CommonFlags): string[] {
  return [
    ...(flags.config ? ["--config", flags.config] : []),
    "--use-json-log",
    "--contimeout",
    `${flags.connectTimeoutS ?? 10}s`,
    "--timeout",
    `${flags.ioTimeoutS ?? 30}s`,
    // The archiver retries with its own backoff; rclone's 3 × 10 low-level retries would
    // keep a dead connection busy for minutes.
    "--retries",
    "1",
    "--low-level-retries",
    "2",
  ];
}

/** Argv of the reachability probe: lists the car's folder (exit 3 = not made yet = fine). */
export function probeArgs(target: string, flags: CommonFlags = {}): string[] {
  return ["lsf", "--max-depth", "1", "--files-only", ...commonArgs(flags), target];
}

/**
 * Argv of one upload: `rclone copyto LOCAL TARGET` with the bandwidth limit and one-line
 * JSON stats every second (the progress the status shows).
 */
export function copyArgs(
  local: string,
  target: string,
  options: CommonFlags & { bwlimit?: string } = {},
): string[] {
  return [
    "copyto",
    ...commonArgs(options),
    ...(options.bwlimit ? ["--bwlimit", options.bwlimit] : []),
    "--stats",
    "1s",
    "--stats-one-line",
    "-v",
    local,
    target,
  ];
}

/** Argv that prints one remote file's size and hashes as JSON (`lsjson --stat --hash`). */
export function statArgs(target: string, flags: CommonFlags = {}): string[] {
  return ["lsjson", "--stat", "--hash", ...commonArgs(flags), target];
}

/** Argv of the local file's hash (`rclone hashsum md5 FILE`), under the same nice. */
export function hashsumArgs(type: string, local: string, flags: CommonFlags = {}): string[] {
  return ["hashsum", type, ...commonArgs(flags), local];
}

/** Which low-priority wrappers exist on this system. */
export interface Niceness {
  /** `nice -n 19`: least CPU priority. */
  nice: boolean;
  /** `ionice -c3`: disk I/O only when the disk is idle (the recorder's writes first). */
  ionice: boolean;
}

/**
 * The program and argv that run `rclone ARGS` at the lowest priority there is: under
 * `nice -n 19 ionice -c3` when those exist (each execs the next, so the pid is rclone's).
 */
export function niceCommand(
  rclone: string,
  args: readonly string[],
  niceness: Niceness,
): { program: string; args: string[] } {
  const chain: string[] = [];
  if (niceness.nice) chain.push("nice", "-n", "19");
  if (niceness.ionice) chain.push("ionice", "-c3");
  chain.push(rclone, ...args);
  return { program: chain[0], args: chain.slice(1) };
}

/** Whether `program` is an executable file on `PATH`. */
export async function onPath(program: string, path = process.env.PATH ?? ""): Promise<boolean> {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** Progress of one upload, from rclone's stats line. */
export interface TransferProgress {
  bytes: number;
  total: number;
  /** Bytes per second, rclone's current rate. */
  rate: number;
}

/** What one line of rclone's stderr (with `--use-json-log`) says. */
export interface LogLine {
  level: string;
  message: string;
  progress?: TransferProgress;
}

/**
 * Reads one stderr line: a JSON log record (its level, message, and for a stats record the
 * transfer's bytes, total and rate), or a plain line (fatal errors are printed plain even
 * with `--use-json-log`: "2026/12/02 16:45:36 Failed to create file system ...").
 */
export function parseLogLine(line: string): LogLine | null {
  const text = line.trim();
  if (!text) return null;
  if (text.startsWith("{")) {
    try {
      const json = JSON.parse(text);
      const level = typeof json.level === "string" ? json.level : "info";
      const object = typeof json.object === "string" && json.object ? `${json.object}: ` : "";
      const message = `${object}${String(json.msg ?? "").trim()}`;
      const stats = json.stats;
      if (stats && typeof stats === "object") {
        const one = Array.isArray(stats.transferring) ? stats.transferring[0] : undefined;
        const progress = one
          ? { bytes: num(one.bytes), total: num(one.size), rate: num(one.speed) }
          : { bytes: num(stats.bytes), total: num(stats.totalBytes), rate: num(stats.speed) };
        return { level, message, progress };
      }
      return { level, message };
    } catch {
      // not JSON after all
    }
  }
  const plain = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d (?:([A-Z]+)\s*: )?(.*)$/.exec(text);
  if (plain) {
    const level = plain[1]?.toLowerCase() ?? (plain[2].startsWith("Failed") ? "error" : "info");
    return { level, message: plain[2].trim() };
  }
  return { level: "error", message: text };
}

function num(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : 0;
}

/** Messages rclone prints that are noise, not the error (an inline remote cannot save). */
const NOISE = /Can't save config|Config file .* not found|Starting bandwidth limiter/;

/** The sentence that says why rclone failed: its last error, else its last notice. */
export function failureOf(lines: readonly LogLine[]): string | null {
  const errors = lines.filter((line) =>
    (line.level === "error" || line.level === "critical" || line.level === "fatal") &&
    !NOISE.test(line.message)
  );
  const pick = errors.at(-1) ??
    lines.filter((line) => line.level !== "info" && !NOISE.test(line.message)).at(-1);
  // "Attempt 1/1 failed with 1 errors and: REASON" says REASON once more, wrapped.
  return pick ? pick.message.replace(/^Attempt \d+\/\d+ failed with \d+ errors? and: /, "") : null;
}

/** A remote file as `lsjson --stat --hash` describes it. */
export interface RemoteFile {
  size: number;
  /** Hash type → lowercase hex, for the types the backend has (`md5`, `sha1`, ...). */
  hashes: Record<string, string>;
}

/** Reads `lsjson --stat --hash` output; null when it is not one file. */
export function parseStat(stdout: string): RemoteFile | null {
  try {
    const json = JSON.parse(stdout);
    if (!json || typeof json !== "object" || json.IsDir || !Number.isSafeInteger(json.Size)) {
      return null;
    }
    const hashes: Record<string, string> = {};
    for (const [type, value] of Object.entries(json.Hashes ?? {})) {
      if (typeof value === "string" && /^[0-9a-f]+$/i.test(value)) {
        hashes[type] = value.toLowerCase();
      }
    }
    return { size: json.Size, hashes };
  } catch {
    return null;
  }
}

/** The hash types to verify with, in order of preference. */
export const HASH_PREFERENCE = ["md5", "sha1", "sha256", "crc32", "dropbox", "quickxor"];

/** An rclone run that failed; `code` is rclone's exit code (3 directory not found, ...). */
export class RcloneError extends Error {
  readonly code: number;
  readonly signal: string | null;
  constructor(message: string, code: number, signal: string | null) {
    super(message);
    this.name = "RcloneError";
    this.code = code;
    this.signal = signal;
  }
}

/** Options for {@linkcode Rclone}. */
export interface RcloneOptions extends CommonFlags {
  /** The rclone binary. Default `rclone`. */
  rclone?: string;
  /** Run under `nice`/`ionice` when found. Default true. */
  lowPriority?: boolean;
  /** Masked wherever rclone echoes them. */
  secrets?: readonly string[];
}

/** What a finished rclone run left. */
interface RunResult {
  stdout: string;
  lines: LogLine[];
}

/**
 * Runs rclone, one command at a time per instance, at the lowest priority the system has.
 * Every method rejects with an {@linkcode RcloneError} whose message is rclone's own reason
 * (secrets masked).
 */
export class Rclone {
  readonly #options: RcloneOptions;
  #niceness: Promise<Niceness> | null = null;
  #pid: number | null = null;
  #found: Promise<boolean> | null = null;

  constructor(options: RcloneOptions = {}) {
    this.#options = options;
  }

  /** The pid of the rclone running now, or null. */
  get pid(): number | null {
    return this.#pid;
  }

  /** Whether the remote answers: lists `target` (a folder not made yet counts as an answer). */
  async probe(target: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#run(probeArgs(target, this.#options), { signal });
    } catch (error) {
      if (error instanceof RcloneError && error.code === 3) return; // directory not found
      throw error;
    }
  }

  /** Uploads `local` to `target`, calling `onProgress` with each stats line. */
  async copy(
    local: string,
    target: string,
    options: { bwlimit?: string; signal?: AbortSignal; onProgress?: (p: TransferProgress) => void },
  ): Promise<void> {
    await this.#run(copyArgs(local, target, { ...this.#options, bwlimit: options.bwlimit }), {
      signal: options.signal,
      onLine: (line) => {
        if (line.progress) options.onProgress?.(line.progress);
      },
    });
  }

  /** The remote file's size and hashes; null when there is no such file. */
  async stat(target: string, signal?: AbortSignal): Promise<RemoteFile | null> {
    try {
      const { stdout } = await this.#run(statArgs(target, this.#options), { signal });
      return parseStat(stdout);
    } catch (error) {
      if (error instanceof RcloneError && (error.code === 3 || error.code === 4)) return null;
      throw error;
    }
  }

  /** The local file's hash of `type`, lowercase hex. */
  async hashsum(type: string, local: string, signal?: AbortSignal): Promise<string> {
    const { stdout } = await this.#run(hashsumArgs(type, local, this.#options), { signal });
    const hash = /^([0-9a-f]+)\s/i.exec(stdout)?.[1];
    if (!hash) throw new RcloneError(`rclone hashsum ${type} printed no hash`, 0, null);
    return hash.toLowerCase();
  }

  async #run(
    args: string[],
    options: { signal?: AbortSignal; onLine?: (line: LogLine) => void },
  ): Promise<RunResult> {
    const rclone = this.#options.rclone ?? "rclone";
    this.#niceness ??= this.#options.lowPriority === false
      ? Promise.resolve({ nice: false, ionice: false })
      : Promise.all([onPath("nice"), onPath("ionice")]).then(([nice, ionice]) => ({
        nice,
        ionice,
      }));
    const redact = (text: string) => redactRemote(text, this.#options.secrets);
    // Looked for first: under nice, a missing rclone would be nice's error.
    this.#found ??= rclone.includes("/")
      ? access(rclone, constants.X_OK).then(() => true, () => false)
      : onPath(rclone);
    if (!await this.#found) {
      this.#found = null; // installed later: found on the next try
      throw new RcloneError(
        `Cannot run rclone: ${rclone}: No such file or directory (install it: apt install rclone)`,
        -1,
        null,
      );
    }
    const command = niceCommand(rclone, args, await this.#niceness);
    let child;
    try {
      child = await runtime().spawn(command.program, {
        args: command.args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: options.signal,
      });
    } catch (error) {
      throw new RcloneError(
        redact(`Cannot run rclone: ${(error as Error).message ?? error}`),
        -1,
        null,
      );
    }
    this.#pid = child.pid;
    const lines: LogLine[] = [];
    const take = (text: string) => {
      const line = parseLogLine(text);
      if (!line) return;
      if (!line.progress) lines.push(line);
      if (lines.length > 50) lines.shift();
      options.onLine?.(line);
    };
    const stderr = (async () => {
      const decoder = new TextDecoderStream();
      let rest = "";
      for await (const text of child.stderr.pipeThrough(decoder)) {
        const parts = (rest + text).split("\n");
        rest = parts.pop() ?? "";
        for (const part of parts) take(part);
      }
      take(rest);
    })();
    const [stdout, status] = await Promise.all([
      readAll(child.stdout),
      child.status,
      stderr.catch(() => {}),
    ]);
    this.#pid = null;
    if (!status.success) {
      const verb = args[0];
      const why = status.signal
        ? `rclone ${verb} was stopped by ${status.signal}`
        : failureOf(lines) ?? `rclone ${verb} exited with code ${status.code}`;
      throw new RcloneError(redact(why), status.code, status.signal);
    }
    return { stdout: new TextDecoder().decode(stdout), lines };
  }
}
