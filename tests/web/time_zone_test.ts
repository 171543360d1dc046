/**
 * One local time (issue 9 item 4): a phone in New York against a recorder whose system zone is
 * UTC. The page sends its zone with its time; clip names, the camera's burned-in clock (its
 * ffmpeg's `TZ`) and the page then use New York's time, unlabelled; a zone set in the settings
 * wins, and then every time the page shows names it.
 */
import assert from "node:assert/strict";
import { launchBrowser } from "../_browser.ts";
import { waitFor } from "../_helpers.ts";
import { clipFileName, parseClipName } from "../../src/storage/clip_name.ts";
import { makeWorkspace, type RunningRecorder, startRecorder, waitInPage } from "./_page_helpers.ts";

const PHONE = "America/New_York";

/** The `TZ` in the environment of the camera's process (ffmpeg drawing the test pattern). */
async function cameraTz(recorder: RunningRecorder): Promise<string | undefined> {
  const pid = (await recorder.get("api/status")).camera.pid;
  if (typeof pid !== "number") return undefined;
  try {
    const environ = await Deno.readTextFile(`/proc/${pid}/environ`);
    return environ.split("\0").find((line) => line.startsWith("TZ="))?.slice(3);
  } catch {
    return undefined; // it restarted in between
  }
}

/** Closed clips whose number is at least `fromSeq`, by name. */
async function closedClips(output: string, fromSeq: number): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(output)) {
    const name = parseClipName(entry.name);
    if (name && !name.recording && name.seq >= fromSeq) names.push(entry.name);
  }
  return names.sort();
}

Deno.test("Time zone: names, burned-in clock and page use the phone's zone, or the one set", async (t) => {
  await using workspace = await makeWorkspace({ width: 320, height: 240, fps: 10, segment: 2 });
  await using recorder = await startRecorder(
    ["--source", "test", ...workspace.args],
    { env: { TZ: "UTC" } },
  );
  await using browser = await launchBrowser();
  const context = await browser.newContext({
    viewport: { width: 360, height: 740 },
    timezoneId: PHONE,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));

  await t.step("the recorder starts in its system's zone", async () => {
    const { clock } = await recorder.get("api/status");
    assert.deepEqual([clock.tz, clock.tz_source, clock.phone_tz], ["UTC", "system", null]);
    await waitFor("the camera", async () => (await cameraTz(recorder)) === "UTC", 10_000);
  });

  await page.goto(`${recorder.url}/`);

  await t.step("the page gives the recorder the phone's zone", async () => {
    const clock = await waitFor("the phone's zone", async () => {
      const { clock } = await recorder.get("api/status");
      return clock.tz === PHONE ? clock : undefined;
    }, 10_000);
    assert.deepEqual([clock.tz_source, clock.phone_tz], ["phone", PHONE]);
  });

  let fromSeq = 0;
  await t.step("the camera's ffmpeg is restarted with TZ set to it", async () => {
    await waitFor("TZ in the camera", async () => (await cameraTz(recorder)) === PHONE, 10_000);
    fromSeq = ((await recorder.get("api/status")).recorder.current?.seq ?? 0) + 1;
  });

  await t.step("clips are named in the phone's local time", async () => {
    const [name] = await waitFor("a clip after the change", async () => {
      const names = await closedClips(workspace.output, fromSeq);
      return names.length > 0 ? names : undefined;
    }, 20_000);
    const { seq, start } = parseClipName(name)!;
    // The same instant written in New York's time and offset (-0500, or -0400 in summer).
    assert.equal(name, clipFileName(seq, start!, "mkv", PHONE));
    assert.match(name, /-0[45]00\.mkv$/);
  });

  await t.step("the clip list shows the phone's local time, unlabelled", async () => {
    const expected = await waitFor("the clip in the page", async () => {
      const { clips } = await recorder.get("api/clips");
      const clip = clips.find((c: { recording: boolean }) => !c.recording);
      if (!clip) return undefined;
      const time = await page.evaluate(
        `new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", ` +
          `second: "2-digit" }).format(${clip.start})`,
      );
      const shown = await page.evaluate(
        `[...document.querySelectorAll(".clip-time")].map((e) => e.textContent)`,
      ) as string[];
      return shown.includes(time as string) ? time : undefined;
    }, 20_000);
    assert.doesNotMatch(
      String(expected),
      /GMT|[EC][SD]T|UTC/,
      "the phone's own zone needs no label",
    );
  });

  await t.step("a zone set in the settings wins, and every time shown names it", async () => {
    await waitInPage(page, `document.querySelector("#timezone") !== null`);
    await page.fill("#timezone", "Asia/Tokyo");
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "PUT", { timeout: 10_000 }),
      page.click("#settings-save"),
    ]);
    assert.equal(response.status(), 200, await response.text());
    const { clock } = await recorder.get("api/status");
    assert.deepEqual([clock.tz, clock.tz_source, clock.phone_tz], ["Asia/Tokyo", "setting", PHONE]);
    await waitFor(
      "TZ in the camera",
      async () => (await cameraTz(recorder)) === "Asia/Tokyo",
      10_000,
    );
    // Tokyo has no summer time: GMT+9 in every browser's en-US short zone names.
    await waitInPage(
      page,
      `[...document.querySelectorAll(".clip-time")].length > 0 && ` +
        `[...document.querySelectorAll(".clip-time")].every((e) => /GMT\\+9/.test(e.textContent))`,
      20_000,
    );
    assert.match(
      await page.textContent('[data-fact="clock"]') ?? "",
      /Asia\/Tokyo \(set in settings\)/,
    );
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 10_000 }),
      page.click("#snapshot"),
    ]);
    assert.match(download.suggestedFilename(), /^snapshot-\d{8}-\d{6}\+0900\.jpg$/);
  });

  await t.step("the paused banner's time names the zone too", async () => {
    const stopped = await page.evaluate(
      `fetch("api/recording/stop", { method: "POST", headers: { "content-type": ` +
        `"application/json" }, body: "{}" }).then((r) => r.status)`,
    );
    assert.equal(stopped, 200);
    await waitInPage(page, `/GMT\\+9/.test(document.querySelector("#rec-banner").textContent)`);
  });

  await t.step("a bad zone in the settings is refused next to its field", async () => {
    await page.fill("#timezone", "Mars/Olympus");
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "PUT", { timeout: 10_000 }),
      page.click("#settings-save"),
    ]);
    assert.equal(response.status(), 400);
    assert.match(await page.textContent("#timezone-error") ?? "", /^Time zone must be/);
  });

  assert.deepEqual(pageErrors, []);
  await context.close();
});
