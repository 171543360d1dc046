/** Helpers for the control-page tests: the real program in a child process, page probes. */
import type { Page } from "../_playwright.ts";
import { waitFor } from "../_helpers.ts";
import { bundle } from "../../scripts/bundle.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

/**
 * `VIDEORECORDER_TEST_RUNTIME=node` runs the program under test as the Node bundle on the
 * host's `node` (built once per test file into a temporary directory), as tests/mod_test.ts
 * does, so a regression on Node fails these tests too.
 */
const ON_NODE = Deno.env.get("VIDEORECORDER_TEST_RUNTIME") === "node";

let bundled: Promise<string> | undefined;

/** The command that runs the program, up to its own flags. */
function recorderCommand(): Promise<string[]> {
  if (!ON_NODE) return Promise.resolve([Deno.execPath(), "run", "--allow-all", MOD]);
  bundled ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "page_test_node_" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const file = `${dir}/videorecorder.mjs`;
    await bundle(new URL("../../src/node_main.ts", import.meta.url).pathname, file);
    return file;
  })();
  return bundled.then((file) => ["node", file]);
}

/** Options for {@linkcode startRecorder}. */
export interface StartRecorderOptions {
  /** Port to listen on; default 0 (a free one). Give the old port to restart "in place". */
  port?: number;
  /** Extra environment variables (e.g. `PATH` with the fake camera tools first). */
  env?: Record<string, string>;
  /** How long to wait for the URL on stderr. Default 20 s. */
  timeoutMs?: number;
}

/** `mod.ts` running in a child process. */
export interface RunningRecorder extends AsyncDisposable {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  /** Everything printed on stderr so far. */
  readonly log: string;
  /** GETs `path` (e.g. `api/status`) and parses the JSON; throws on a non-2xx answer. */
  // deno-lint-ignore no-explicit-any
  get(path: string): Promise<any>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number>;
  /** Sends `signal` to the process (SIGKILL: the recorder dies as in a crash), then waits. */
  kill(signal: Deno.Signal): Promise<number>;
  /** Sends `signal` without waiting (SIGSTOP: the recorder hangs; SIGCONT: it goes on). */
  signal(signal: Deno.Signal): void;
}

/**
 * Starts `mod.ts` on 127.0.0.1 with `args` and waits until it prints its URL. Adds
 * `--no-auth` when the program knows the flag, so the browser needs no password.
 */
export async function startRecorder(
  args: string[],
  options: StartRecorderOptions = {},
): Promise<RunningRecorder> {
  const noAuth = (await supportsNoAuth()) ? ["--no-auth"] : [];
  const [program, ...programArgs] = await recorderCommand();
  const child = new Deno.Command(program, {
    args: [
      ...programArgs,
      "--host",
      "127.0.0.1",
      "--port",
      String(options.port ?? 0),
      ...noAuth,
      ...args,
    ],
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) log += text;
  })();
  let exited = false;
  void child.status.then(() => exited = true);
  const url = await waitFor(
    "the URL",
    () => {
      if (exited) throw new Error(`${program} exited before listening; stderr:\n${log}`);
      return /Open (http:\/\/\S+?)\/?\s/.exec(log)?.[1];
    },
    options.timeoutMs ?? 20_000,
  ).catch(async (error) => {
    if (!exited) child.kill("SIGKILL");
    await reading;
    throw new Error(`${error.message}; stderr so far:\n${log}`);
  });
  let stopped: Promise<number> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      if (!exited) child.kill("SIGTERM");
      const { code } = await child.status;
      await reading;
      return code;
    })();
  return {
    url,
    port: Number(new URL(url).port),
    get log() {
      return log;
    },
    async get(path: string) {
      const response = await fetch(`${url}/${path}`);
      const body = await response.json();
      if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(body)}`);
      return body;
    },
    stop,
    signal(signal: Deno.Signal) {
      if (!exited) child.kill(signal);
    },
    kill(signal: Deno.Signal) {
      return stopped ??= (async () => {
        if (!exited) child.kill(signal);
        const { code } = await child.status;
        await reading;
        return code;
      })();
    },
    async [Symbol.asyncDispose]() {
      // A test that failed half-way must not leave the recorder running.
      const timer = setTimeout(() => !exited && child.kill("SIGKILL"), 15_000);
      await stop();
      clearTimeout(timer);
    },
  };
}

let noAuthFlag: Promise<boolean> | undefined;

/** Whether this version of mod.ts has `--no-auth` (it lists it in `--help`). */
function supportsNoAuth(): Promise<boolean> {
  return noAuthFlag ??= recorderCommand().then(([program, ...args]) =>
    new Deno.Command(program, { args: [...args, "--help"], env: { NO_COLOR: "1" } }).output()
  ).then((output) => new TextDecoder().decode(output.stdout).includes("--no-auth"));
}

/** Waits until `expression` (page code, as a string) is truthy in the page. */
export async function waitInPage(page: Page, expression: string, timeoutMs = 10_000) {
  try {
    await page.waitForFunction(expression, undefined, { timeout: timeoutMs, polling: 100 });
  } catch (error) {
    throw new Error(
      `Timed out after ${timeoutMs} ms waiting in the page for: ${expression}\n${
        error instanceof Error ? error.message.split("\n")[0] : error
      }`,
    );
  }
}

/** The picture an `<img>` or `<canvas>` shows now, as a PNG data URL. */
export async function grabImage(page: Page, selector: string): Promise<string> {
  return await page.evaluate(`(() => {
    const element = document.querySelector(${JSON.stringify(selector)});
    if (element instanceof HTMLCanvasElement) return element.toDataURL("image/png");
    const canvas = document.createElement("canvas");
    canvas.width = element.naturalWidth;
    canvas.height = element.naturalHeight;
    canvas.getContext("2d").drawImage(element, 0, 0);
    return canvas.toDataURL("image/png");
  })()`) as string;
}

/** Page code: whether the live view has drawn a frame. */
export const LIVE_PLAYING =
  `document.querySelector("#live-view").dataset.frameSeq !== undefined && document.querySelector("#live-view").width > 0`;

/** Page code: the record state the sticky pill shows. */
export const PILL_STATE = `document.querySelector("#rec-pill").dataset.state`;

/**
 * Makes the page believe it was hidden or shown (tab in the background, screen off). Headless
 * Chromium keeps every page "visible" whatever is done to tabs or windows (switching tabs,
 * minimizing through CDP and freezing were tried), so `document.hidden` is overridden and the
 * event the browser would send is dispatched.
 */
export async function setPageHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate(`(() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => ${hidden} });
    Object.defineProperty(document, "visibilityState", {
      configurable: true,
      get: () => ${JSON.stringify(hidden ? "hidden" : "visible")},
    });
    document.dispatchEvent(new Event("visibilitychange"));
  })()`);
}

/** A temp dir with a recordings folder and a config file holding `settings`. */
export async function makeWorkspace(settings: Record<string, unknown>) {
  const dir = await Deno.makeTempDir({ prefix: "page_test_" });
  const config = `${dir}/config.json`;
  await Deno.writeTextFile(config, JSON.stringify(settings, null, 2));
  return {
    dir,
    output: `${dir}/recordings`,
    config,
    /** `--output` and `--config` for {@linkcode startRecorder}: the recorder of this workspace. */
    args: ["--output", `${dir}/recordings`, "--config", config],
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
