/** Headless Debian Chromium driven by playwright-core, for tests of what a phone shows. */
import { type Browser, chromium } from "./_playwright.ts";

export const CHROMIUM = "/usr/bin/chromium";

/** Launches Chromium the way this sandbox allows (no network beyond localhost, root). */
export async function launchBrowser(): Promise<Browser & AsyncDisposable> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

/** Where tests write screenshots for people to look at. */
export const TEST_OUTPUT = new URL("../test-output/", import.meta.url).pathname;
