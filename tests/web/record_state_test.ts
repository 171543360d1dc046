/**
 * The control page's record indicator against the real program in the states a driver meets:
 * recorder killed or hung, camera failing from the start or after a while, disk full. Only
 * "recording" may look like recording.
 */
import assert from "node:assert/strict";
import type { Page } from "../_playwright.ts";
import { launchBrowser, TEST_OUTPUT } from "../_browser.ts";
import { waitFor } from "../_helpers.ts";
import {
  LIVE_PLAYING,
  makeWorkspace,
  PILL_STATE,
  type RunningRecorder,
  startRecorder,
  waitInPage,
} from "./_page_helpers.ts";

const SMALL = { width: 320, height: 240, fps: 10, segment: 2 };

/** What the top of the page says, for assertions and failure messages. */
async function top(page: Page) {
  return await page.evaluate(`({
    pill: document.querySelector("#rec-pill").dataset.state,
    pillText: document.querySelector("#rec-pill").textContent.trim(),
    banner: document.querySelector("#rec-banner").hidden ? "" :
      document.querySelector("#rec-banner").textContent,
    button: document.querySelector("#record").dataset.state,
    buttonText: document.querySelector("#record").textContent.replace(/\\s+/g, " ").trim(),
    badge: !document.querySelector("#rec-badge").hidden,
    current: document.querySelector("#current").textContent,
    note: document.querySelector("#live-note").hidden ? "" :
      document.querySelector("#live-note").textContent,
  })`) as {
    pill: string;
    pillText: string;
    banner: string;
    button: string;
    buttonText: string;
    badge: boolean;
    current: string;
    note: string;
  };
}

/** Asserts that nothing on the page claims recording. */
async function assertNotRecording(page: Page) {
  const shown = await top(page);
  assert.notEqual(shown.pill, "recording", JSON.stringify(shown));
  assert.doesNotMatch(shown.pillText, /REC/, JSON.stringify(shown));
  assert.notEqual(shown.button, "recording", JSON.stringify(shown));
  assert.doesNotMatch(shown.buttonText, /^Recording|Recording paused/, JSON.stringify(shown));
  assert.equal(shown.badge, false, "no REC badge on the picture");
  assert.doesNotMatch(shown.current, /Clip #\d+ · \d/, "no clip timer");
  assert.ok(await page.isDisabled("#lock-now"), "Lock now is disabled");
  return shown;
}

async function openPage(recorder: RunningRecorder) {
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
  page.setDefaultTimeout(10_000);
  // The load event comes at once, whatever the camera does (the phone's loading bar stops).
  await page.goto(`${recorder.url}/`, { waitUntil: "load", timeout: 10_000 });
  return { browser, page };
}

Deno.test("Control page says the recorder is unreachable with the last contact when it hangs or is killed", async () => {
  await using workspace = await makeWorkspace(SMALL);
  await using recorder = await startRecorder([
    "--source",
    "test",
    ...workspace.args,
  ]);
  const { browser, page } = await openPage(recorder);
  await using _browser = browser;
  await waitInPage(page, `${PILL_STATE} === "recording"`, 15_000);
  await waitInPage(page, LIVE_PLAYING);

  // Hung (SIGSTOP): the status request times out.
  recorder.signal("SIGSTOP");
  try {
    await waitInPage(page, `${PILL_STATE} === "unreachable"`, 15_000);
    const shown = await assertNotRecording(page);
    assert.equal(shown.pillText, "Offline");
    assert.match(shown.banner, /^Recorder unreachable — last contact \d\d:\d\d:\d\d/);
    assert.match(shown.buttonText, /^Unknown Last contact \d\d:\d\d:\d\d/);
    assert.ok(await page.isDisabled("#record"));
  } finally {
    recorder.signal("SIGCONT");
  }
  await waitInPage(page, `${PILL_STATE} === "recording"`, 15_000);

  // The state stays in sight at the top when the page is scrolled to the end.
  await page.evaluate(`scrollTo(0, document.body.scrollHeight)`);
  const pill = await page.evaluate(`(() => {
    const box = document.querySelector("#rec-pill").getBoundingClientRect();
    return { top: box.top, bottom: box.bottom, scrolled: scrollY };
  })()`) as { top: number; bottom: number; scrolled: number };
  assert.ok(pill.scrolled > 500, `scrolled ${pill.scrolled} px`);
  assert.ok(pill.top >= 0 && pill.bottom <= 60, `pill at ${pill.top}–${pill.bottom}`);

  // Killed (SIGKILL): the connection is refused.
  await recorder.kill("SIGKILL");
  await waitInPage(page, `${PILL_STATE} === "unreachable"`, 10_000);
  const shown = await assertNotRecording(page);
  assert.match(shown.banner, /^Recorder unreachable — last contact \d\d:\d\d:\d\d/);
  assert.equal(shown.note, "Recorder unreachable");
  // And stays so: no timer ticking on, nothing turning red again.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  await assertNotRecording(page);
  await Deno.mkdir(TEST_OUTPUT, { recursive: true });
  await page.evaluate(`scrollTo(0, 0)`);
  await page.screenshot({ path: `${TEST_OUTPUT}state-unreachable-360x740.png` });
});

Deno.test("Control page shows a camera that cannot start, with its own message, and loads at once", async () => {
  await using workspace = await makeWorkspace(SMALL);
  await using recorder = await startRecorder([
    "--source",
    "command",
    "--command",
    "sh -c 'echo boom >&2; exit 1'",
    ...workspace.args,
  ]);
  const { browser, page } = await openPage(recorder);
  await using _browser = browser;
  await waitInPage(page, `${PILL_STATE} === "camera"`, 15_000);
  const shown = await assertNotRecording(page);
  assert.match(shown.banner, /boom/, "the camera's own words");
  assert.equal(shown.pillText, "Not recording");
  assert.match(shown.buttonText, /^Not recording/);
  // The live view says there is no picture instead of "Connecting…" forever.
  await waitInPage(
    page,
    `/No new picture/.test(document.querySelector("#live-note").textContent)`,
    10_000,
  );
  await Deno.mkdir(TEST_OUTPUT, { recursive: true });
  await page.screenshot({ path: `${TEST_OUTPUT}state-camera-failing-360x740.png` });
});

Deno.test("Control page stops showing REC when the camera fails after recording, and dims the old picture", async () => {
  await using workspace = await makeWorkspace(SMALL);
  const flag = `${workspace.dir}/ran`;
  // Delivers 5 s of frames once, then fails as an unplugged camera would, in backoff.
  const command = `sh -c 'if [ -e ${flag} ]; then echo "camera unplugged" >&2; exit 3; fi; ` +
    `touch ${flag}; exec ffmpeg -hide_banner -loglevel error -re -f lavfi ` +
    `-i testsrc=size=320x240:rate=10 -t 5 -c:v mjpeg -f mjpeg -'`;
  await using recorder = await startRecorder([
    "--source",
    "command",
    "--command",
    command,
    ...workspace.args,
  ]);
  const { browser, page } = await openPage(recorder);
  await using _browser = browser;
  await waitInPage(page, `${PILL_STATE} === "recording"`, 15_000);
  await waitInPage(page, LIVE_PLAYING);
  assert.ok(await page.isVisible("#rec-badge"));
  await waitInPage(page, `${PILL_STATE} === "camera"`, 20_000);
  const shown = await assertNotRecording(page);
  await waitFor(
    "the camera's message",
    async () => /camera unplugged/.test((await top(page)).banner),
    10_000,
  );
  // The last picture stays, dimmed, saying it is old: not a frozen "live" view.
  await waitInPage(page, `document.querySelector("#live-view").matches(".old")`, 10_000);
  assert.match((await top(page)).note, /since \d\d:\d\d:\d\d|Picture from \d\d:\d\d:\d\d/);
  assert.equal((await recorder.get("api/status")).camera.state, "backoff", JSON.stringify(shown));
});

Deno.test({
  name: "Control page on a full disk: not recording, one sentence, Lock now disabled, resumes",
  ignore: Deno.uid() !== 0, // mounting a small tmpfs needs root
  async fn() {
    await using workspace = await makeWorkspace({ ...SMALL, minFree: "2M" });
    await Deno.mkdir(workspace.output, { recursive: true });
    const mount = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=8m", "tmpfs", workspace.output],
    }).output();
    assert.ok(mount.success, new TextDecoder().decode(mount.stderr));
    try {
      // Something else filled the card: 7 MiB of 8, under the 2 MiB to keep free.
      const filler = `${workspace.output}/filler.bin`;
      await Deno.writeFile(filler, new Uint8Array(7 * 1024 * 1024));
      await using recorder = await startRecorder([
        "--source",
        "test",
        ...workspace.args,
      ]);
      const { browser, page } = await openPage(recorder);
      await using _browser = browser;
      await waitInPage(page, `${PILL_STATE} === "blocked"`, 15_000);
      const shown = await assertNotRecording(page);
      assert.ok(shown.banner.length > 0 && shown.banner.length < 160, `banner: ${shown.banner}`);
      assert.match(shown.buttonText, /^Not recording/);
      assert.match(await page.textContent("#lock-hint") ?? "", /not recording|nothing is being/i);
      // The numbers shown are the same everywhere: each size in the banner is in the disk tile.
      const disk = await page.textContent("#fact-disk") ?? "";
      for (const size of shown.banner.match(/\d+(?:\.\d+)? [KMGT]?i?B\b/g) ?? []) {
        assert.ok(
          disk.includes(size),
          `"${size}" of the banner (${shown.banner}) is not in the disk tile: ${disk}`,
        );
      }
      await Deno.mkdir(TEST_OUTPUT, { recursive: true });
      await page.screenshot({ path: `${TEST_OUTPUT}state-disk-full-360x740.png` });

      // The way out: make room. Recording resumes by itself and the page says so.
      await Deno.remove(filler);
      await waitInPage(page, `${PILL_STATE} === "recording"`, 30_000);
      assert.ok(await page.isVisible("#rec-badge"));
      assert.ok(await page.isHidden("#rec-banner"));
    } finally {
      await new Deno.Command("umount", { args: ["-l", workspace.output] }).output();
    }
  },
});
