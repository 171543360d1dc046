/**
 * The control page (web/) in headless Chromium against the real program in a child process:
 * real camera processes, real HTTP, real clips on disk. Page code is given as strings: it runs
 * in the browser, not in Deno.
 */
import assert from "node:assert/strict";
import { axe } from "./_axe.ts";
import type { Page } from "../_playwright.ts";
import { launchBrowser, TEST_OUTPUT } from "../_browser.ts";
import { FAKE_BIN, waitFor } from "../_helpers.ts";
import {
  grabImage,
  LIVE_PLAYING,
  makeWorkspace,
  type RunningRecorder,
  setPageHidden,
  startRecorder,
  waitInPage,
} from "./_page_helpers.ts";

/** Small and quick: 2 s clips of the test pattern. In the config file, so the page can edit it. */
const SMALL = { width: 320, height: 240, fps: 10, segment: 2 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** axe-core's serious and critical violations on the page as it is now, in words. */
async function seriousViolations(page: Page): Promise<string[]> {
  if (!await page.evaluate(`typeof axe !== "undefined"`)) {
    await page.addScriptTag({ content: (axe as unknown as { source: string }).source });
  }
  const results = await page.evaluate(`axe.run(document, { resultTypes: ["violations"] })`) as {
    violations: {
      id: string;
      impact: string;
      nodes: { target: string[]; failureSummary: string }[];
    }[];
  };
  return results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .flatMap((violation) =>
      violation.nodes.map((node) =>
        `${violation.impact} ${violation.id} at ${node.target.join(" ")}: ${node.failureSummary}`
      )
    );
}

async function viewers(recorder: RunningRecorder): Promise<number> {
  return (await recorder.get("api/status")).viewers.count;
}

async function clip(recorder: RunningRecorder, id: string) {
  const { clips } = await recorder.get("api/clips");
  return clips.find((candidate: { id: string }) => candidate.id === id);
}

/** Clicks `selector` and returns the answer to the API request it makes. */
async function clickFor(page: Page, selector: string, method: string, path: RegExp) {
  const [response] = await Promise.all([
    page.waitForResponse(
      (r) => r.request().method() === method && path.test(new URL(r.url()).pathname),
      { timeout: 10_000 },
    ),
    page.click(selector, { timeout: 5_000 }),
  ]);
  return response;
}

Deno.test("Control page in Chromium: live view, recording, clips, settings errors, layout", async (t) => {
  await using workspace = await makeWorkspace(SMALL);
  await using recorder = await startRecorder([
    "--source",
    "test",
    ...workspace.args,
  ]);
  await using browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(`${recorder.url}/`);

  await t.step("the live view plays and advances", async () => {
    await waitInPage(page, LIVE_PLAYING);
    assert.equal(await page.evaluate(`document.querySelector("#live-view").width`), 320);
    const first = await grabImage(page, "#live-view");
    await waitFor(
      "a different picture",
      async () => (await grabImage(page, "#live-view")) !== first,
      5_000,
    );
    assert.equal(await viewers(recorder), 1);
  });

  await t.step("the snapshot button downloads a JPEG", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 10_000 }),
      page.click("#snapshot"),
    ]);
    assert.match(download.suggestedFilename(), /^snapshot-\d{8}-\d{6}[+-]\d{4}\.jpg$/);
    const jpeg = await Deno.readFile(await download.path());
    assert.deepEqual([jpeg[0], jpeg[1], jpeg.at(-2), jpeg.at(-1)], [0xff, 0xd8, 0xff, 0xd9]);
  });

  await t.step("the stream and the polling stop while the page is hidden", async () => {
    await setPageHidden(page, true);
    await waitFor("the viewer to leave", async () => (await viewers(recorder)) === 0, 5_000);
    let polls = 0;
    const countPolls = (request: { url(): string }) => {
      if (new URL(request.url()).pathname === "/api/status") polls++;
    };
    page.on("request", countPolls);
    await sleep(4_500); // more than two polling periods
    page.off("request", countPolls);
    assert.equal(polls, 0, "no status polling while hidden");
    assert.equal(await viewers(recorder), 0, "the stream stays off");

    await setPageHidden(page, false);
    await waitFor("the viewer to come back", async () => (await viewers(recorder)) === 1, 5_000);
    await waitInPage(page, LIVE_PLAYING);
  });

  await t.step("the pause button stops the stream and resumes it", async () => {
    await page.click("#live-toggle");
    await waitFor("the viewer to leave", async () => (await viewers(recorder)) === 0, 5_000);
    assert.equal(await page.getAttribute("#live-toggle", "aria-pressed"), "true");
    await page.click("#live-toggle");
    await waitFor("the viewer to come back", async () => (await viewers(recorder)) === 1, 5_000);
    await waitInPage(page, LIVE_PLAYING);
  });

  /** A closed, unlocked clip in the list: its id and its `<li>` selector. */
  const closedClip = async () => {
    const closed = "#clip-list li.clip:not(.recording):not(.locked)";
    await waitInPage(page, `document.querySelector(${JSON.stringify(closed)}) !== null`, 15_000);
    const id = (await page.getAttribute(closed, "data-id"))!;
    return { id, item: `#clip-list li[data-id="${id}"]` };
  };

  await t.step("a clip is listed newest first with its thumbnail and details", async () => {
    const { id, item } = await closedClip();
    assert.ok(await clip(recorder, id), `${id} is in /api/clips`);
    const { clips } = await recorder.get("api/clips");
    const listed = await page.evaluate(
      `[...document.querySelectorAll("#clip-list li")].map((li) => li.dataset.id)`,
    ) as string[];
    const ids: string[] = clips.map((c: { id: string }) => c.id);
    assert.deepEqual(listed.filter((x) => ids.includes(x)), ids.filter((x) => listed.includes(x)));
    assert.match(await page.textContent(`${item} .clip-info`) ?? "", /\d:\d\d · .*B · MJPEG/);
    await waitInPage(
      page,
      `document.querySelector(${JSON.stringify(`${item} .clip-thumb img`)}).naturalWidth > 0`,
    );
  });

  await t.step("an MJPEG clip plays as a stream in the player, the live view pauses", async () => {
    const { item } = await closedClip();
    try {
      await page.click(`${item} .clip-actions [data-action="play"]`);
      await waitInPage(page, `document.querySelector("#player").open`);
      await waitInPage(
        page,
        `document.querySelector("#player-media")?.naturalWidth > 0 ||
          document.querySelector(".player-error") !== null`,
      );
      const failure = await page.$(".player-error");
      if (failure) assert.fail(`The player says: ${await failure.textContent()}`);
      assert.equal(await page.evaluate(`document.querySelector("#player-media").tagName`), "IMG");
      await waitFor("the live view to pause", async () => (await viewers(recorder)) === 0, 5_000);
      await page.click("#player-close");
      await waitInPage(page, `!document.querySelector("#player").open`);
      assert.equal(await page.$("#player-media"), null, "the player's stream is gone");
      await waitFor("the live view to resume", async () => (await viewers(recorder)) === 1, 5_000);
    } finally {
      await page.evaluate(`document.querySelector("#player").close()`); // for the next steps
    }
  });

  await t.step("a clip locks, unlocks and is deleted after confirmation", async () => {
    const { id, item } = await closedClip();
    // Lock, then unlock: the server's state and the list agree.
    const lock = await clickFor(page, `${item} [data-action="lock"]`, "POST", /\/lock$/);
    assert.equal(lock.status(), 200);
    await waitFor("the clip to be locked", async () => (await clip(recorder, id))?.locked, 5_000);
    await waitInPage(page, `document.querySelector(${JSON.stringify(item)}).matches(".locked")`);
    assert.equal(await page.textContent(`${item} [data-action="lock"]`), "Unlock");
    assert.ok(await page.isDisabled(`${item} [data-action="delete"]`), "no deleting locked clips");
    const unlock = await clickFor(page, `${item} [data-action="lock"]`, "POST", /\/unlock$/);
    assert.equal(unlock.status(), 200);
    await waitFor(
      "the clip to be unlocked",
      async () => (await clip(recorder, id))?.locked === false,
      5_000,
    );
    await waitInPage(page, `!document.querySelector(${JSON.stringify(item)}).matches(".locked")`);

    // Delete asks first: dismissed, nothing happens; accepted, the clip is gone.
    const deleteButton = `${item} [data-action="delete"]`;
    await waitInPage(page, `!document.querySelector(${JSON.stringify(deleteButton)}).disabled`);
    let question = "";
    page.once("dialog", (dialog) => {
      question = dialog.message();
      void dialog.dismiss();
    });
    await page.click(deleteButton);
    await waitFor("the confirmation", () => question, 5_000);
    assert.match(question, /Delete the clip from .*cannot be undone/);
    await sleep(500);
    assert.ok(await clip(recorder, id), "still there after Cancel");
    page.once("dialog", (dialog) => void dialog.accept());
    const removed = await clickFor(page, deleteButton, "DELETE", /\/api\/clips\//);
    assert.equal(removed.status(), 200);
    assert.equal(await clip(recorder, id), undefined);
    await waitInPage(page, `document.querySelector(${JSON.stringify(item)}) === null`);
  });

  await t.step("the record button switches recording and shows the true state", async () => {
    await waitInPage(page, `document.querySelector("#record").dataset.state === "recording"`);
    assert.match(await page.textContent("#record") ?? "", /Recording\s*Tap to stop/);
    assert.match(await page.textContent("#rec-pill") ?? "", /REC \d+:\d\d/);
    await page.click("#record");
    await waitFor(
      "recording to stop",
      async () => (await recorder.get("api/status")).recorder.recording === false,
      10_000,
    );
    await waitInPage(
      page,
      `document.querySelector("#record").dataset.state === "paused" &&
        !document.querySelector("#record").disabled`,
    );
    assert.match(await page.textContent("#record") ?? "", /Not recording\s*Tap to start/);
    assert.equal(await page.textContent("#rec-pill-text"), "Paused");
    assert.ok(await page.isDisabled("#lock-now"), "nothing to lock when not recording");
    assert.match(await page.textContent("#lock-hint") ?? "", /not recording|nothing is being/i);
    assert.ok(await page.isHidden("#rec-badge"));
    assert.doesNotMatch(await page.textContent("#current") ?? "", /Clip #/, "no clip timer");

    await page.click("#record");
    await waitFor(
      "recording to start",
      async () => (await recorder.get("api/status")).recorder.recording === true,
      10_000,
    );
    await waitInPage(page, `document.querySelector("#record").dataset.state === "recording"`);
    await waitInPage(
      page,
      `/Clip #\\d{6} · \\d+:\\d\\d/.test(document.querySelector("#current").textContent)`,
    );
    // The clip timer never counts past the clip length (2 s), over a few clips.
    for (let i = 0; i < 12; i++) {
      const text = await page.textContent("#current") ?? "";
      const match = /· (\d+):(\d\d) of (\d+):(\d\d)/.exec(text);
      if (match) {
        const [elapsed, length] = [+match[1] * 60 + +match[2], +match[3] * 60 + +match[4]];
        assert.ok(elapsed <= length, `timer at ${text}`);
      }
      await sleep(400);
    }
  });

  await t.step("lock now protects the clip being recorded", async () => {
    await waitInPage(page, `!document.querySelector("#lock-now").disabled`);
    const response = await clickFor(page, "#lock-now", "POST", /\/api\/clips\/lock-now$/);
    assert.equal(response.status(), 200);
    const { clips } = await recorder.get("api/clips");
    assert.ok(clips.some((c: { locked: boolean }) => c.locked), "a clip is locked");
    await waitInPage(page, `document.querySelector("#clip-list li.locked") !== null`);
    await waitInPage(page, `/Locked/.test(document.querySelector("#toast").textContent)`);
  });

  await t.step(
    "clips are grouped by day; several lock, filter, unlock and delete at once",
    async () => {
      await waitInPage(
        page,
        `document.querySelectorAll("#clip-list li.clip:not(.recording)").length >= 3`,
        20_000,
      );
      // The date once per day, not on every clip.
      const heads = await page.$$eval(".day-head", (list) => list.map((e) => e.textContent));
      assert.ok(
        heads.length >= 1 && heads.every((text) => /· \d+ clips?$/.test(text ?? "")),
        `${heads}`,
      );
      assert.equal(await page.$$eval("#clip-list .clip-date", (list) => list.length), 0);
      const ids = await page.evaluate(`[...document.querySelectorAll(
        "#clip-list li.clip:not(.recording):not(.locked)")].slice(0, 2).map((li) => li.dataset.id)`) as string[];
      for (const id of ids) await page.check(`li[data-id="${id}"] [data-action="select"]`);
      assert.match(await page.textContent("#bulk-count") ?? "", /^2 selected/);
      await clickFor(page, '#bulk [data-bulk="lock"]', "POST", /\/lock$/);
      await waitFor("both locked", async () => {
        const both = await Promise.all(ids.map((id) => clip(recorder, id)));
        return both.every((c) => c?.locked);
      }, 10_000);
      // Locked only, select all, unlock: every locked clip, no confirmation needed.
      await page.click("#clips-locked");
      assert.equal(await page.getAttribute("#clips-locked", "aria-pressed"), "true");
      await waitInPage(
        page,
        `[...document.querySelectorAll("#clip-list li.clip")].every((li) => li.matches(".locked"))`,
      );
      await page.click('#bulk [data-bulk="clear"]');
      await page.click("#clips-select-all");
      const chosen = await page.evaluate(
        `[...document.querySelectorAll("#clip-list li.clip.selected")].map((li) => li.dataset.id)`,
      ) as string[];
      for (const id of ids) assert.ok(chosen.includes(id), `${id} is among the locked selected`);
      await clickFor(page, '#bulk [data-bulk="unlock"]', "POST", /\/unlock$/);
      await waitFor("the selected ones unlocked", async () => {
        const all = await Promise.all(chosen.map((id) => clip(recorder, id)));
        return all.every((c) => c === undefined || !c.locked);
      }, 10_000);
      await waitInPage(
        page,
        `${JSON.stringify(ids)}.every((id) => !document.querySelector(\`li[data-id="\${id}"]\`))`,
      );
      await page.click("#clips-locked");
      // Delete two, one confirmation for both. (The selection outlives an unlock, so that
      // "unlock, then delete" is two taps: start afresh.)
      await page.click('#bulk [data-bulk="clear"]');
      for (const id of ids) await page.check(`li[data-id="${id}"] [data-action="select"]`);
      const questions: string[] = [];
      const accept = (dialog: { message(): string; accept(): Promise<void> }) => {
        questions.push(dialog.message());
        void dialog.accept();
      };
      page.on("dialog", accept);
      await clickFor(page, '#bulk [data-bulk="delete"]', "DELETE", /\/api\/clips\//);
      await waitFor("both deleted", async () => {
        const both = await Promise.all(ids.map((id) => clip(recorder, id)));
        return both.every((c) => c === undefined);
      }, 10_000);
      page.off("dialog", accept);
      assert.deepEqual(questions, ["Delete 2 clips? This cannot be undone."]);
      await waitInPage(page, `document.querySelector("#bulk").hidden`);
    },
  );

  await t.step("a bad setting shows the server's message next to the field", async () => {
    await waitInPage(page, `document.querySelector("#segment").value === "2"`);
    for (const [field, value] of [["segment", "0"], ["minFree", "lots"]]) {
      await page.fill(`#${field}`, value);
      const response = await clickFor(page, "#settings-save", "PUT", /\/api\/settings$/);
      assert.equal(response.status(), 400);
      const body = await response.json();
      assert.equal(body.field, field);
      await waitInPage(page, `document.querySelector("#${field}-error").textContent !== ""`);
      assert.equal(await page.textContent(`#${field}-error`), body.error);
      assert.equal(await page.getAttribute(`#${field}`, "aria-invalid"), "true");
      assert.equal(await page.evaluate(`document.activeElement.id`), field);
      await page.click("#settings-reset"); // back to what the server has
      assert.equal(await page.textContent(`#${field}-error`), "");
    }
    // Two bad fields at once: each shows its own message next to it.
    await page.fill("#fps", "0");
    await page.fill("#segment", "99999");
    const response = await clickFor(page, "#settings-save", "PUT", /\/api\/settings$/);
    assert.equal(response.status(), 400);
    const { errors } = await response.json();
    assert.deepEqual(errors.map((e: { field: string }) => e.field).sort(), ["fps", "segment"]);
    for (const { field, error } of errors) {
      assert.equal(await page.textContent(`#${field}-error`), error);
      assert.equal(await page.getAttribute(`#${field}`, "aria-invalid"), "true");
    }
    assert.equal(await page.textContent("#settings-error"), "", "nothing left over above");
    await page.click("#settings-reset");
    assert.equal(await page.inputValue("#segment"), "2");
    assert.equal((await recorder.get("api/settings")).settings.segment, 2, "nothing was saved");
  });

  await t.step("the page fits a phone and a desktop (screenshots in test-output/)", async () => {
    await Deno.mkdir(TEST_OUTPUT, { recursive: true });
    for (const [width, height] of [[360, 740], [1280, 800]]) {
      await page.setViewportSize({ width, height });
      await page.evaluate(`scrollTo(0, 0)`);
      await waitInPage(page, LIVE_PLAYING);
      await waitInPage(page, `document.querySelectorAll("#clip-list li").length > 0`);
      await page.evaluate(`document.querySelector("#toast").hidden = true`); // from the last step
      assert.equal(
        await page.evaluate(`document.documentElement.scrollWidth`),
        width,
        `no horizontal scrolling at ${width}px`,
      );
      const small = await page.evaluate(`[...document.querySelectorAll(
        "button, .button, nav a, input, select")]
        .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
        .map((e) => e.id || e.textContent.trim())`);
      assert.deepEqual(small, [], `touch targets at least 44 px high at ${width}px`);
      assert.deepEqual(await seriousViolations(page), [], `axe at ${width}px`);
      assert.equal(await page.$$eval("h1", (list) => list.length), 1, "one <h1>");
      await page.screenshot({ path: `${TEST_OUTPUT}page-${width}x${height}.png` });
      await page.screenshot({
        path: `${TEST_OUTPUT}page-${width}x${height}-full.png`,
        fullPage: true,
      });
    }
  });

  await page.close();
  await context.close();
  assert.deepEqual(pageErrors, [], "no uncaught errors in the page");
});

Deno.test("Control page saves a setting that survives a restart, and reconnects by itself", async () => {
  await using workspace = await makeWorkspace(SMALL);
  const args = ["--source", "test", ...workspace.args];
  await using first = await startRecorder(args);
  assert.match(first.log, /in 2 s clips/);
  await using browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
  page.setDefaultTimeout(10_000);
  await page.goto(`${first.url}/`);
  // The form is built from the schema GET /api/settings sends (retried if that fails).
  await waitInPage(page, `document.querySelector("#segment")?.value === "2"`, 30_000);
  await waitInPage(page, LIVE_PLAYING);

  // Clip length and resolution in one save: the server restarts what they concern, the page
  // says so, and the live view comes back at the new size by itself.
  await page.fill("#segment", "3");
  await page.selectOption("#preset", "640x480");
  assert.equal(await page.inputValue("#width"), "640");
  const response = await clickFor(page, "#settings-save", "PUT", /\/api\/settings$/);
  assert.equal(response.status(), 200);
  assert.deepEqual(response.request().postDataJSON(), { segment: 3, width: 640, height: 480 });
  const body = await response.json();
  assert.deepEqual([body.settings.segment, body.settings.width], [3, 640]);
  assert.ok(body.applied.includes("camera"), `applied: ${body.applied}`);
  await waitInPage(
    page,
    `/^Saved\\. Restarted .*camera/.test(document.querySelector("#settings-result").textContent)`,
  );
  await waitInPage(page, `document.querySelector("#live-view").width === 640`, 15_000);
  assert.equal((await first.get("api/settings")).settings.segment, 3);
  // Saved atomically: the file is whole JSON, keeps its other keys, and no temporary is left.
  const saved = JSON.parse(await Deno.readTextFile(workspace.config));
  assert.deepEqual(
    [saved.segment, saved.width, saved.height, saved.fps],
    [3, 640, 480, SMALL.fps],
  );
  const leftovers = [];
  for await (const entry of Deno.readDir(workspace.dir)) {
    if (entry.name !== "config.json" && entry.name.includes("config")) leftovers.push(entry.name);
    if (entry.name.endsWith(".tmp")) leftovers.push(entry.name);
  }
  assert.deepEqual(leftovers, []);

  // The recorder restarts on the same port: the open page notices, then reconnects alone.
  assert.equal(await first.stop(), 0);
  await waitInPage(page, `document.querySelector("#rec-pill").dataset.state === "unreachable"`);
  await using second = await startRecorder(args, { port: first.port });
  assert.match(second.log, /in 3 s clips/, "the saved clip length is used after a restart");
  await waitFor(
    "the page to reconnect the live view",
    async () => (await viewers(second)) === 1,
    20_000,
  );
  await waitInPage(page, `document.querySelector("#rec-pill").dataset.state === "recording"`);
  await waitInPage(page, LIVE_PLAYING);
  assert.equal(await page.evaluate(`document.querySelector("#live-view").width`), 640);
  await page.reload();
  await waitInPage(page, `document.querySelector("#segment").value === "3"`);
  assert.equal(await page.inputValue("#preset"), "640x480");
});

Deno.test("Control page sets the recorder's clock from the phone when it is more than 2 s off", async () => {
  await using workspace = await makeWorkspace(SMALL);
  await using recorder = await startRecorder([
    "--source",
    "test",
    "--no-record",
    ...workspace.args,
  ]);
  await using browser = await launchBrowser();
  /** Every POST to /api/clock the pages make. */
  const clockPosts: unknown[] = [];
  const watch = (page: Page) =>
    page.on("request", (request) => {
      if (request.method() === "POST" && new URL(request.url()).pathname === "/api/clock") {
        clockPosts.push(request.postDataJSON());
      }
    });

  // A phone whose clock agrees leaves the recorder's time alone: it sends its zone only.
  const agreeing = await browser.newPage();
  watch(agreeing);
  await agreeing.goto(`${recorder.url}/`);
  await waitInPage(agreeing, `document.querySelector("#fact-clock").textContent !== "–"`);
  await sleep(1_000);
  const zone = await agreeing.evaluate(`Intl.DateTimeFormat().resolvedOptions().timeZone`);
  assert.deepEqual(clockPosts, [{ tz: zone }]);
  clockPosts.length = 0;
  await agreeing.close();

  // A phone an hour ahead (the recorder is the one that is off, as far as the page can tell).
  const ahead = await browser.newPage();
  watch(ahead);
  await ahead.addInitScript(`{
    const realNow = Date.now.bind(Date);
    Date.now = () => realNow() + 3_600_000;
  }`);
  await ahead.goto(`${recorder.url}/`);
  await waitFor("the page to send its time", () => clockPosts.length > 0, 10_000);
  const sent = clockPosts[0] as { now: number; tz: string };
  assert.ok(Math.abs(sent.now - (Date.now() + 3_600_000)) < 5_000, `sent ${sent.now}`);
  assert.equal(sent.tz, zone, "its zone goes with its time");
  const { clock } = await recorder.get("api/status");
  assert.ok(Math.abs(clock.now - (Date.now() + 3_600_000)) < 5_000, `recorder says ${clock.now}`);
  assert.equal(clock.trusted, true);
  await waitInPage(ahead, `/clock/.test(document.querySelector("#toast").textContent)`);
  await sleep(2_500); // a poll later, the clocks agree: no second correction
  assert.equal(clockPosts.length, 1);
});

Deno.test("Control page plays an H.264 clip in <video> and shows the decoded live view", async () => {
  await using workspace = await makeWorkspace({
    width: 640,
    height: 360,
    fps: 15,
    segment: 2,
    previewWidth: 320,
    previewHeight: 180,
  });
  // The fake rpicam-vid is found first: auto picks the Pi camera, and H.264 for it.
  await using recorder = await startRecorder(
    workspace.args,
    { env: { PATH: `${FAKE_BIN}:${Deno.env.get("PATH")}` } },
  );
  assert.match(recorder.log, /H\.264/);
  await using browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
  page.setDefaultTimeout(10_000);
  // Without Media Source Extensions: the decoded JPEG preview, not live.mp4
  // (tests/web/live_mp4_browser_test.ts has that one).
  await page.addInitScript("delete window.MediaSource; delete window.ManagedMediaSource;");
  await page.goto(`${recorder.url}/`);
  await waitInPage(page, LIVE_PLAYING, 15_000);
  assert.equal(await page.evaluate(`document.querySelector("#live-view").width`), 320);

  const closed = "#clip-list li.clip:not(.recording)";
  await waitInPage(page, `document.querySelector(${JSON.stringify(closed)}) !== null`, 15_000);
  assert.match(await page.textContent(`${closed} .clip-info`) ?? "", /H264.640×360/);
  await page.click(`${closed} .clip-actions [data-action="play"]`);
  await waitInPage(page, `document.querySelector("#player").open`);
  assert.equal(await page.evaluate(`document.querySelector("#player-media").tagName`), "VIDEO");
  await waitInPage(
    page,
    `(() => {
      const video = document.querySelector("#player-media");
      return video.readyState >= 2 && video.videoWidth === 640 && !video.error;
    })()`,
    10_000,
  );
  await page.click("#player-close");
  await waitInPage(page, `!document.querySelector("#player").open`);
});
