/**
 * The one launcher of the recorder program in a child process for tests: `mod.ts` on Deno,
 * or, with `VIDEORECORDER_TEST_RUNTIME=node` (`deno task test:node`), the Node bundle on the
 * host's `node` (built once per test file into a temporary directory), so a regression on
 * either runtime fails the same tests. It waits until the program prints its URL.
 *
 * @module
 */
import { join } from "node:path";
import { waitFor } from "./_helpers.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const NODE_MAIN = new URL("../src/node_main.ts", import.meta.url).pathname;

/** Whether the tests run the Node bundle instead of mod.ts (`VIDEORECORDER_TEST_RUNTIME=node`). */
export const ON_NODE = Deno.env.get("VIDEORECORDER_TEST_RUNTIME") === "node";

/** `mod.ts` on this Deno with every permission, whatever the runtime under test. */
export const DENO_RECORDER: readonly string[] = [Deno.execPath(), "run", "--allow-all", MOD];

let bundled: Promise<string> | undefined;

/** The command that runs the program under test, up to its own flags. */
export function recorderCommand(): Promise<string[]> {
  if (!ON_NODE) return Promise.resolve([...DENO_RECORDER]);
  bundled ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "recorder_node_" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const file = join(dir, "videorecorder.mjs");
    // Loaded only here: esbuild is not needed (nor perhaps there, as under qemu) for Deno runs.
    const { bundle } = await import("../scripts/bundle.ts");
    await bundle(NODE_MAIN, file);
    return file;
  })();
  return bundled.then((file) => ["node", file]);
}

/** Options for {@linkcode startRecorder}. */
export interface StartRecorderOptions {
  /** Address to listen on (`--host`). Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; default 0 (a free one). Give the old port to restart "in place". */
  port?: number;
  /** Extra environment variables (e.g. `PATH` with the fake camera tools first). */
  env?: Record<string, string>;
  /** How long to wait for the URL on stderr. Default 20 s. */
  timeoutMs?: number;
  /** What runs the program, up to its flags. Default {@linkcode recorderCommand}. */
  command?: readonly string[];
  /** Changes the whole argv before it is spawned (e.g. to run it under `bash -c 'ulimit'`). */
  wrap?: (argv: string[]) => string[];
}

/** The recorder running in a child process. */
export interface RunningRecorder extends AsyncDisposable {
  /** Base URL as printed, without a trailing slash, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  /** The child's pid (the recorder's own, also under a `wrap` that execs it). */
  readonly pid: number;
  /** Everything printed on stderr so far. */
  readonly log: string;
  /** The exit code, or null while it runs. */
  readonly exitCode: number | null;
  /** Settles when the child has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  /** GETs `path` (e.g. `api/status`) and parses the JSON; throws on a non-2xx answer. */
  // deno-lint-ignore no-explicit-any
  get(path: string): Promise<any>;
  /** SIGTERM (once, however often called), then the exit code. */
  stop(): Promise<number>;
  /**
   * Sends `signal` to the process (SIGKILL: the recorder dies as in a crash) unless it has
   * exited, then waits for the exit code.
   */
  kill(signal: Deno.Signal): Promise<number>;
  /** Sends `signal` without waiting (SIGSTOP: the recorder hangs; SIGCONT: it goes on). */
  signal(signal: Deno.Signal): void;
}

/**
 * Starts the recorder listening on `--host`/`--port` with `args` after them, and waits until
 * it prints `Open http://…/`. Rejects with its stderr when it exits first or stays silent.
 */
export async function startRecorder(
  args: string[],
  options: StartRecorderOptions = {},
): Promise<RunningRecorder> {
  const command = options.command ? [...options.command] : await recorderCommand();
  const listen = ["--host", options.host ?? "127.0.0.1", "--port", String(options.port ?? 0)];
  const argv = (options.wrap ?? ((argv) => argv))([...command, ...listen, ...args]);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) log += text;
  })();
  let exitCode: number | null = null;
  const status = child.status.then((status) => {
    exitCode = status.code;
    return status;
  });
  const url = await waitFor(
    "the URL",
    () => {
      if (exitCode !== null) {
        throw new Error(`${command[0]} exited with ${exitCode} before listening`);
      }
      return /Open (http:\/\/\S+?)\/?\s/.exec(log)?.[1];
    },
    options.timeoutMs ?? 20_000,
  ).catch(async (error) => {
    if (exitCode === null) child.kill("SIGKILL");
    await reading;
    throw new Error(`${error.message}; stderr so far:\n${log}`);
  });
  let exited: Promise<number> | undefined;
  const wait = () =>
    exited ??= (async () => {
      const { code } = await status;
      await reading;
      return code;
    })();
  const kill = (signal: Deno.Signal) => {
    try {
      if (exitCode === null) child.kill(signal);
    } catch {
      // Exited meanwhile.
    }
    return wait();
  };
  // Once: a second SIGTERM may cut the recorder's orderly stop short.
  let stopped: Promise<number> | undefined;
  const stop = () => stopped ??= kill("SIGTERM");
  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid,
    get log() {
      return log;
    },
    get exitCode() {
      return exitCode;
    },
    status,
    async get(path: string) {
      const response = await fetch(`${url}/${path}`);
      const body = await response.json();
      if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(body)}`);
      return body;
    },
    stop,
    kill,
    signal(signal: Deno.Signal) {
      if (exitCode === null) child.kill(signal);
    },
    async [Symbol.asyncDispose]() {
      // A test that failed half-way must not leave the recorder running.
      const timer = setTimeout(() => void kill("SIGKILL"), 15_000);
      await stop();
      clearTimeout(timer);
    },
  };
}
