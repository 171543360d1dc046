/** Helpers for the control-page tests: the real program in a child process, page probes. */
import type { Page } from "../_playwright.ts";
import {
  recorderCommand,
  type RunningRecorder,
  startRecorder as startRecorderProcess,
  type StartRecorderOptions,
} from "../_recorder_process.ts";

export type { RunningRecorder, StartRecorderOptions };

/**
 * Starts the program under test (see tests/_recorder_process.ts: mod.ts, or the Node bundle
 * with `VIDEORECORDER_TEST_RUNTIME=node`) on 127.0.0.1 with `args` and waits until it prints
 * its URL. Adds `--no-auth` when the program knows the flag, so the browser needs no password.
 */
export async function startRecorder(
  args: string[],
  options: StartRecorderOptions = {},
): Promise<RunningRecorder> {
  const noAuth = (await supportsNoAuth()) ? ["--no-auth"] : [];
  return await startRecorderProcess([...noAuth, ...args], options);
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
