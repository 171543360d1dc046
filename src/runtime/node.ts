/**
 * The {@linkcode Runtime} on Node.js >= 18.19 (Debian bookworm's `nodejs`, the Pi Zero's):
 * `node:child_process` with the child's pipes wrapped in Web streams by hand, and
 * `@hono/node-server` 1.19 for HTTP (2.x needs Node 20).
 *
 * The pipes are wrapped by hand rather than with `Readable.toWeb`/`Writable.toWeb` for what
 * they hand out, not for speed: plain `Uint8Array` chunks (a `Buffer`'s `slice()` does not
 * copy, so a parser written for Deno would keep views into Node's read buffers) and writes
 * that resolve once the pipe took the chunk, as Deno's do. The CPU is the same within the
 * noise (scripts/bench_node_pipes.ts, Node 20 x86_64, CPU ms per MiB, medians of 3: at
 * 10 MiB/s read 1.26 by hand vs 1.23 toWeb, write 1.07 vs 0.79; at 40 MiB/s read 0.76 vs
 * 0.79, write 0.50 vs 0.45), a few hundredths of a millisecond per frame either way.
 *
 * @module
 */

import * as childProcess from "node:child_process";
import { constants } from "node:os";
import process from "node:process";
import type { Readable, Writable } from "node:stream";
import { createAdaptorServer } from "./_hono_node_server.ts";
import {
  type ChildOutput,
  type ChildProcess,
  type ChildSignal,
  type ChildStatus,
  type FetchHandler,
  type HttpServer,
  listenError,
  readAll,
  type Runtime,
  type ServeOptions,
  spawnError,
  type SpawnOptions,
  type Stdio,
} from "./runtime.ts";

/** Node's {@linkcode Runtime}. */
export const nodeRuntime: Runtime = {
  name: "node",
  get execPath() {
    return process.execPath;
  },
  spawn,
  async output(program, options = {}): Promise<ChildOutput> {
    const child = await spawn(program, {
      ...options,
      stdout: options.stdout ?? "piped",
      stderr: options.stderr ?? "piped",
    }) as NodeChildProcess;
    const [stdout, stderr, status] = await Promise.all([
      readAll(child.piped("stdout")),
      readAll(child.piped("stderr")),
      child.status,
    ]);
    return { ...status, stdout, stderr };
  },
  serve,
  unrefTimer(timer) {
    (timer as unknown as { unref?: () => void }).unref?.();
  },
};

const STDIO: Record<Stdio, "pipe" | "ignore" | "inherit"> = {
  piped: "pipe",
  null: "ignore",
  inherit: "inherit",
};

function spawn(program: string, options: SpawnOptions = {}): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    let child: childProcess.ChildProcess;
    try {
      child = childProcess.spawn(program, options.args ?? [], {
        stdio: [
          STDIO[options.stdin ?? "null"],
          STDIO[options.stdout ?? "null"],
          STDIO[options.stderr ?? "null"],
        ],
        env: options.env ? { ...process.env, ...options.env } : undefined,
        detached: options.detached ?? false,
      });
    } catch (error) {
      // Bad arguments (e.g. a NUL in an argument) throw at once.
      reject(spawnError(program, codeOf(error), error));
      return;
    }
    child.once("error", (error) => reject(spawnError(program, codeOf(error), error)));
    child.once("spawn", () => resolve(new NodeChildProcess(child, options)));
  });
}

class NodeChildProcess implements ChildProcess {
  readonly #child: childProcess.ChildProcess;
  readonly #detached: boolean;
  readonly status: Promise<ChildStatus>;
  readonly #stdin: WritableStream<Uint8Array> | null;
  readonly #stdout: ReadableStream<Uint8Array> | null;
  readonly #stderr: ReadableStream<Uint8Array> | null;
  #exited = false;

  constructor(child: childProcess.ChildProcess, options: SpawnOptions) {
    this.#child = child;
    this.#detached = options.detached ?? false;
    // After 'spawn', 'error' only tells of a failed kill: never let it throw.
    child.on("error", () => {});
    const signal = options.signal;
    const abort = () => this.kill("SIGTERM");
    // 'exit', not 'close': a grandchild holding the pipes open must not delay the status.
    this.status = new Promise((resolve) => {
      child.once("exit", (code, name) => {
        this.#exited = true;
        signal?.removeEventListener("abort", abort);
        const number = name ? constants.signals[name as keyof typeof constants.signals] : 0;
        resolve({
          success: code === 0,
          code: name ? 128 + (number ?? 0) : code ?? 1,
          signal: name ?? null,
        });
      });
    });
    if (signal?.aborted) abort();
    else signal?.addEventListener("abort", abort, { once: true });
    this.#stdin = child.stdin ? writableOf(child.stdin) : null;
    this.#stdout = child.stdout ? readableOf(child.stdout) : null;
    this.#stderr = child.stderr ? readableOf(child.stderr) : null;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get stdin(): WritableStream<Uint8Array> {
    if (!this.#stdin) throw new TypeError("Cannot write to stdin: it is not piped");
    return this.#stdin;
  }

  get stdout(): ReadableStream<Uint8Array> {
    return this.piped("stdout") ?? notPiped("stdout");
  }

  get stderr(): ReadableStream<Uint8Array> {
    return this.piped("stderr") ?? notPiped("stderr");
  }

  /** The stream, or null when it is not piped. */
  piped(name: "stdout" | "stderr"): ReadableStream<Uint8Array> | null {
    return name === "stdout" ? this.#stdout : this.#stderr;
  }

  kill(signal: ChildSignal = "SIGTERM"): void {
    if (!this.#exited) this.#child.kill(signal);
  }

  killGroup(signal: ChildSignal): void {
    if (!this.#detached) {
      throw new TypeError("Cannot signal the process group: the child was not spawned detached");
    }
    try {
      process.kill(-this.#child.pid!, signal);
    } catch {
      // ESRCH: nothing left in the group.
    }
  }
}

function notPiped(name: string): never {
  throw new TypeError(`Cannot read ${name}: it is not piped`);
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" ? code : "EUNKNOWN";
}

/**
 * A pipe as a Web stream that holds at most one chunk: the pipe is paused while it is unread,
 * so a slow reader pushes back on the child as Deno's own pipes do. Chunks are handed out as
 * plain `Uint8Array`s (a `Buffer`'s `slice()` would not copy).
 */
function readableOf(stream: Readable): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      stream.on("data", (chunk: Buffer) => {
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) stream.pause();
      });
      stream.once("end", () => {
        try {
          controller.close();
        } catch {
          // Cancelled by the reader.
        }
      });
      stream.once("error", (error) => {
        try {
          controller.error(error);
        } catch {
          // Cancelled by the reader.
        }
      });
    },
    pull() {
      stream.resume();
    },
    cancel() {
      stream.destroy();
    },
  });
}

/**
 * A pipe as a Web stream whose writes resolve once the pipe took the chunk (so the caller may
 * reuse its buffer, as with Deno's pipes) and reject when the child went away (EPIPE).
 */
function writableOf(stream: Writable): WritableStream<Uint8Array> {
  // Errors reach the writes' callbacks; without a listener an EPIPE would end the process.
  stream.on("error", () => {});
  return new WritableStream<Uint8Array>({
    write(chunk) {
      return new Promise<void>((resolve, reject) => {
        stream.write(chunk, (error) => error ? reject(error) : resolve());
      });
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        if (stream.destroyed) return reject(new Error("Cannot close stdin: the pipe is closed"));
        stream.end(resolve);
        stream.once("error", reject);
      });
    },
    abort() {
      stream.destroy();
    },
  });
}

function serve(handler: FetchHandler, options: ServeOptions): Promise<HttpServer> {
  const server = createAdaptorServer({ fetch: (request: Request) => handler(request) });
  return new Promise((resolve, reject) => {
    const refused = (error: Error) => reject(listenError(options, error));
    server.once("error", refused);
    server.listen(options.port, options.hostname, () => {
      server.off("error", refused);
      let failed: (error: Error) => void;
      const finished = new Promise<void>((resolveFinished, rejectFinished) => {
        server.once("close", () => resolveFinished());
        failed = rejectFinished;
      });
      // Node ends the process on a rejection nobody handles; the caller may not watch this.
      finished.catch(() => {});
      // E.g. accept() failing with EMFILE: the caller shuts this server down and listens again.
      server.on("error", (error) => failed(error));
      const address = server.address();
      resolve({
        port: typeof address === "object" && address ? address.port : options.port,
        finished,
        shutdown() {
          return new Promise<void>((resolveShutdown) => {
            if (!server.listening) return resolveShutdown();
            server.close(() => resolveShutdown());
            // Node 18's close() leaves keep-alive connections open; Node 19+ does this itself.
            (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          });
        },
      });
    });
  });
}
