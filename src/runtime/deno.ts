/**
 * The {@linkcode Runtime} on Deno: `Deno.Command` and `Deno.serve`, kept on purpose (measured:
 * `node:child_process` through `Readable.toWeb` costs Deno 48% more CPU on the camera read
 * path, `node:http` 17% more on a streamed body).
 *
 * @module
 */

import {
  type ChildOutput,
  type ChildProcess,
  type ChildSignal,
  type ChildStatus,
  type FetchHandler,
  type HttpServer,
  listenError,
  type Runtime,
  type ServeOptions,
  spawnError,
  type SpawnOptions,
} from "./runtime.ts";

/** Deno's {@linkcode Runtime}. */
export const denoRuntime: Runtime = {
  name: "deno",
  get execPath() {
    return Deno.execPath();
  },
  spawn(program, options = {}) {
    let child: Deno.ChildProcess;
    try {
      child = command(program, options, "null").spawn();
    } catch (error) {
      return Promise.reject(toSpawnError(program, error));
    }
    return Promise.resolve(new DenoChildProcess(child, options.detached ?? false));
  },
  async output(program, options = {}): Promise<ChildOutput> {
    let output: Deno.CommandOutput;
    try {
      output = await command(program, options, "piped").output();
    } catch (error) {
      throw toSpawnError(program, error);
    }
    const empty = new Uint8Array(0);
    return {
      ...toStatus(output),
      stdout: (options.stdout ?? "piped") === "piped" ? output.stdout : empty,
      stderr: (options.stderr ?? "piped") === "piped" ? output.stderr : empty,
    };
  },
  // async: Deno.serve throws at once, a Runtime rejects.
  async serve(handler, options) {
    return await Promise.resolve(serve(handler, options));
  },
  unrefTimer(timer) {
    // Deno 2.9's setTimeout returns a Node-style Timeout, which Deno.unrefTimer(Number(timer))
    // leaves ref'd (measured: the process then waits for the timer); older ones return a number.
    const handle = timer as unknown as { unref?: () => void };
    if (typeof handle.unref === "function") handle.unref();
    else Deno.unrefTimer(timer as unknown as number);
  },
};

function command(program: string, options: SpawnOptions, output: "null" | "piped"): Deno.Command {
  return new Deno.Command(program, {
    args: options.args ?? [],
    env: options.env,
    stdin: options.stdin ?? "null",
    stdout: options.stdout ?? output,
    stderr: options.stderr ?? output,
    detached: options.detached ?? false,
    signal: options.signal,
  });
}

class DenoChildProcess implements ChildProcess {
  readonly #child: Deno.ChildProcess;
  readonly #detached: boolean;
  readonly status: Promise<ChildStatus>;
  #exited = false;

  constructor(child: Deno.ChildProcess, detached: boolean) {
    this.#child = child;
    this.#detached = detached;
    this.status = child.status.then((status) => {
      this.#exited = true;
      return toStatus(status);
    });
  }

  get pid(): number {
    return this.#child.pid;
  }

  get stdin(): WritableStream<Uint8Array> {
    return this.#child.stdin;
  }

  get stdout(): ReadableStream<Uint8Array> {
    return this.#child.stdout;
  }

  get stderr(): ReadableStream<Uint8Array> {
    return this.#child.stderr;
  }

  kill(signal: ChildSignal = "SIGTERM"): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // It exited since: "Child process has already terminated".
    }
  }

  killGroup(signal: ChildSignal): void {
    if (!this.#detached) {
      throw new TypeError("Cannot signal the process group: the child was not spawned detached");
    }
    try {
      Deno.kill(-this.#child.pid, signal);
    } catch {
      // ESRCH: nothing left in the group.
    }
  }
}

function toStatus(status: Deno.CommandStatus): ChildStatus {
  return { success: status.success, code: status.code, signal: status.signal };
}

function toSpawnError(program: string, error: unknown) {
  const code = (error as { code?: unknown })?.code;
  return spawnError(program, typeof code === "string" ? code : "EUNKNOWN", error);
}

function serve(handler: FetchHandler, options: ServeOptions): HttpServer {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname: options.hostname, port: options.port, onListen: () => {} },
      (request) => handler(request),
    );
  } catch (error) {
    throw listenError(options, error);
  }
  return {
    port: server.addr.port,
    finished: server.finished,
    shutdown: () => server.shutdown(),
  };
}
