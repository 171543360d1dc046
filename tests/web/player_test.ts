/**
 * The control page's MJPEG clip player in headless Chromium against the real program: play,
 * pause (the stream and its ffmpeg end, the picture stays), seek, the position shown, and the
 * clip being recorded (played from its start, downloaded as written so far).
 */
import assert from "node:assert/strict";
import { axe } from "./_axe.ts";
import type { Page } from "../_playwright.ts";
import { launchBrowser } from "../_browser.ts";
import { probeClip, waitFor } from "../_helpers.ts";
import { grabImage, makeWorkspace, startRecorder, waitInPage } from "./_page_helpers.ts";

/** 4 s clips of the test pattern, small and quick. */
// 8 s clips: the last step plays and downloads the clip being recorded, which must not close
// under it on a loaded machine (with 4 s clips it did now and then: "download.path: canceled").
const SMALL = { width: 320, height: 240, fps: 10, segment: 8 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The clip-playing ffmpegs running over `output` (found by their command lines). */
async function clipStreams(output: string): Promise<number> {
  let count = 0;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const argv = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).split("\0");
      if (argv.includes("mpjpeg") && argv.some((arg) => arg.startsWith(output))) count++;
    } catch {
      // exited while listing
    }
  }
  return count;
}

/** What the player shows: its state, position text and the position it computed. */
async function shown(page: Page) {
  return await page.evaluate(`({
    state: document.querySelector("#player").dataset.state,
    position: Number(document.querySelector("#player").dataset.position),
    text: document.querySelector("#player-position").textContent,
    button: document.querySelector("#player-toggle").textContent,
    seek: Number(document.querySelector("#player-seek").value),
  })`) as { state: string; position: number; text: string; button: string; seek: number };
}

/**
 * The time in the clip whose frame looks most like the picture the player shows, among
 * `from`..`to` in 0.1 s steps (frames from `frame.jpg`, compared scaled down, pixel by pixel).
 */
async function matchingTime(page: Page, id: string, from: number, to: number) {
  return await page.evaluate(`(async () => {
    const pixels = async (src) => {
      const image = new Image();
      image.src = src;
      await image.decode();
      const canvas = document.createElement("canvas");
      canvas.width = 80;
      canvas.height = 60;
      const context = canvas.getContext("2d");
      context.drawImage(image, 0, 0, 80, 60);
      return context.getImageData(0, 0, 80, 60).data;
    };
    const still = await pixels(document.querySelector("#player-media").src);
    let best = { t: NaN, diff: Infinity };
    for (let t = ${from}; t <= ${to} + 1e-9; t += 0.1) {
      const frame = await pixels("api/clips/${encodeURIComponent(id)}/frame.jpg?t=" + t.toFixed(1));
      let diff = 0;
      for (let i = 0; i < frame.length; i++) diff += Math.abs(frame[i] - still[i]);
      if (diff < best.diff) best = { t: Number(t.toFixed(1)), diff };
    }
    return best.t;
  })()`) as number;
}

/** axe-core's serious and critical violations, in words. */
async function seriousViolations(page: Page): Promise<string[]> {
  if (!await page.evaluate(`typeof axe !== "undefined"`)) {
    await page.addScriptTag({ content: (axe as unknown as { source: string }).source });
  }
  const results = await page.evaluate(`axe.run(document, { resultTypes: ["violations"] })`) as {
    violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
  };
  return results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .flatMap((violation) =>
      violation.nodes.map((node) => `${violation.impact} ${violation.id} at ${node.target}`)
    );
}

Deno.test("Clip player in Chromium plays, pauses, seeks and shows the position of an MJPEG clip", async (t) => {
  await using workspace = await makeWorkspace(SMALL);
  await using recorder = await startRecorder([
    "--source",
    "test",
    ...workspace.args,
  ]);
  await using browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
  page.setDefaultTimeout(10_000);
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  /** Clip requests the page made: `stream.mjpg?t=…` and `frame.jpg?t=…`. */
  const requests: string[] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (/^\/api\/clips\/[^/]+\/(stream\.mjpg|frame\.jpg)$/.test(url.pathname)) {
      requests.push(`${url.pathname.split("/").pop()}${url.search}`);
    }
  });
  await page.goto(`${recorder.url}/`);

  // A closed clip of about 8 s.
  const id = await waitFor("a closed clip of 7 s or more", async () => {
    const { clips } = await recorder.get("api/clips");
    return clips.find((clip: { recording: boolean; duration: number }) =>
      !clip.recording && clip.duration >= 7
    )?.id as string | undefined;
  }, 30_000);
  const duration = (await recorder.get("api/clips")).clips
    .find((clip: { id: string }) => clip.id === id).duration as number;
  const item = `#clip-list li[data-id="${id}"]`;
  await waitInPage(page, `document.querySelector(${JSON.stringify(item)}) !== null`, 20_000);

  await t.step("it plays: the picture and the position move", async () => {
    await page.click(`${item} .clip-actions [data-action="play"]`);
    await waitInPage(page, `document.querySelector("#player").dataset.state === "playing"`);
    assert.deepEqual(requests, ["stream.mjpg"]);
    assert.equal(await shown(page).then((s) => s.button), "Pause");
    const first = await grabImage(page, "#player-media");
    const before = (await shown(page)).position;
    await waitFor(
      "another picture",
      async () => (await grabImage(page, "#player-media")) !== first,
      5_000,
    );
    await waitFor("the position to move", async () => (await shown(page)).position > before);
    assert.match((await shown(page)).text, /^0:0\d \/ 0:0[78]$/);
    assert.equal(await clipStreams(workspace.output), 1, "one ffmpeg plays it");
  });

  await t.step("the controls are thumb-sized and pass axe", async () => {
    for (const selector of ["#player-toggle", "#player-seek"]) {
      const box = (await page.locator(selector).boundingBox())!;
      assert.ok(box.height >= 44 && box.width >= 44, `${selector}: ${JSON.stringify(box)}`);
    }
    assert.deepEqual(await seriousViolations(page), []);
  });

  await t.step("pause ends the stream, keeps the picture and the position", async () => {
    await sleep(800); // somewhere inside the clip, not at its start
    await page.click("#player-toggle");
    const paused = await shown(page);
    assert.equal(paused.state, "paused");
    assert.equal(paused.button, "Play");
    assert.ok(paused.position > 0 && paused.position < duration, `at ${paused.position}`);
    await waitFor("the ffmpeg to stop", async () => await clipStreams(workspace.output) === 0);
    const picture = await grabImage(page, "#player-media");
    const count = requests.length;
    await sleep(1_500);
    assert.equal(requests.length, count, "no request while paused");
    assert.equal(await grabImage(page, "#player-media"), picture, "the same picture");
    assert.equal((await shown(page)).position, paused.position);
    assert.equal(await page.evaluate(`document.querySelector("#player-media").naturalWidth`), 320);
    // The position shown is the picture's: the frame that looks most like it is within
    // 0.5 s of it (the clock is the time since the stream's first picture, plus its start).
    const from = Math.max(0, paused.position - 1);
    const matched = await matchingTime(page, id, from, Math.min(duration, paused.position + 1));
    assert.ok(
      Math.abs(matched - paused.position) <= 0.5,
      `shown at ${paused.position} s, looks like ${matched} s`,
    );
    requests.length = count; // the frames matchingTime asked for
  });

  await t.step("seeking while paused shows the picture there; play goes on from it", async () => {
    // Every picture the player is given (a frame may come from the browser's cache: no request).
    await page.evaluate(`(() => {
      window.playerSources = [];
      new MutationObserver((records) => {
        for (const record of records) playerSources.push(record.target.getAttribute("src"));
      }).observe(document.querySelector("#player-media"), { attributeFilter: ["src"] });
    })()`);
    await page.focus("#player-seek");
    await page.keyboard.press("Home");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await waitInPage(page, `playerSources.length > 0`);
    await sleep(500);
    assert.deepEqual(
      await page.evaluate(`playerSources`),
      [`api/clips/${encodeURIComponent(id)}/frame.jpg?t=2.0`],
      "three key presses, one picture asked (the seek settles first)",
    );
    const at = await shown(page);
    assert.equal(at.state, "paused");
    assert.equal(at.position, 2);
    assert.match(at.text, /^0:02 \/ 0:0[78]$/);
    await waitInPage(page, `document.querySelector("#player-media").src.includes("frame.jpg")`);
    await waitInPage(page, `document.querySelector("#player-media").complete`);
    assert.ok(Math.abs(await matchingTime(page, id, 1.5, 2.5) - 2) <= 0.2);

    await page.keyboard.press("k"); // the keyboard's play/pause
    await waitInPage(page, `document.querySelector("#player").dataset.state === "playing"`);
    assert.equal(requests.at(-1), "stream.mjpg?t=2.0");
    assert.ok((await shown(page)).position >= 2);
  });

  await t.step(
    "seeking while playing restarts the stream there, and it plays to the end",
    async () => {
      await page.focus("#player-seek");
      await page.keyboard.press("Home");
      await page.keyboard.press("ArrowRight");
      await waitFor("a stream from 1 s", () => requests.at(-1) === "stream.mjpg?t=1.0");
      await waitInPage(page, `document.querySelector("#player").dataset.state === "playing"`);
      const from = (await shown(page)).position;
      assert.ok(from >= 1 && from < 2.5, `at ${from}`);
      await waitInPage(
        page,
        `document.querySelector("#player").dataset.state === "ended"`,
        (duration + 5) * 1000,
      );
      const end = await shown(page);
      assert.equal(end.button, "Play again");
      assert.equal(end.position, Number(duration.toFixed(1)));
      await waitFor("the ffmpeg to end", async () => await clipStreams(workspace.output) === 0);
      await page.click("#player-toggle");
      await waitFor("a stream from the start", () => requests.at(-1) === "stream.mjpg");
      await page.click("#player-close");
      await waitFor("the ffmpeg to stop", async () => await clipStreams(workspace.output) === 0);
    },
  );

  await t.step("the clip being recorded plays from its start and downloads so far", async () => {
    const recording = "#clip-list li.clip.recording";
    const current = () => `document.querySelector(${JSON.stringify(recording)})?.dataset.id`;
    const before = await page.evaluate(current());
    // Start right after a cut, so that the clip stays the one being recorded for this step.
    await waitInPage(
      page,
      `${current()} !== undefined && ${current()} !== ${JSON.stringify(before)}`,
      20_000,
    );
    await page.click(`${recording} .clip-actions [data-action="play"]`);
    await waitInPage(page, `document.querySelector("#player").dataset.state === "playing"`);
    assert.equal(requests.at(-1), "stream.mjpg");
    assert.ok(await page.isVisible("#player-live"), "a way to the live view");
    assert.equal(await page.textContent("#player-download"), "Download so far");
    await waitFor("the position to move", async () => (await shown(page)).position > 0.5);
    await page.click("#player-toggle");
    await waitFor("the ffmpeg to stop", async () => await clipStreams(workspace.output) === 0);
    await page.click("#player-close");

    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 10_000 }),
      page.click(`${recording} [data-action="download"]`),
    ]);
    assert.match(download.suggestedFilename(), /^\d{6}\.recording\.mkv$/);
    const { frames } = await probeClip(await download.path());
    assert.ok(frames > 0, `ffprobe reads ${frames} frames`);
  });

  assert.deepEqual(pageErrors, []);
});
