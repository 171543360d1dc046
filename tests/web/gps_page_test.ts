/** The control page's GPS tile and clip places, in Chromium, with Debian's gpsd fed by gpsfake. */
import assert from "node:assert/strict";
import { launchBrowser } from "../_browser.ts";
import { waitFor } from "../_helpers.ts";
import { nmeaLog, startGpsfake } from "../car/_nmea.ts";
import { makeWorkspace, startRecorder, waitInPage } from "./_page_helpers.ts";

const CAMERA = ["--source", "test", "--width", "320", "--height", "240", "--fps", "10"];

/** Whether NTP set this box's clock (then GPS time is rightly not taken). */
function ntpSynchronized(): boolean {
  try {
    Deno.statSync("/run/systemd/timesync/synchronized");
    return true;
  } catch {
    return false;
  }
}

Deno.test("Control page shows the GPS fix, speed and a maps link, and where each clip started", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gps_page_test_" });
  const drive = nmeaLog({ epochs: 200 });
  await using gpsd = await startGpsfake(drive.text, { dir });
  await using workspace = await makeWorkspace({ gps: `127.0.0.1:${gpsd.port}` });
  await using recorder = await startRecorder([...CAMERA, "--segment", "2", ...workspace.args]);
  await waitFor("a 3D fix", async () => {
    const { gps } = await recorder.get("api/status");
    return gps.fix === "3d" && gps.satellites === 7 && gps.speed !== null;
  }, 40_000);
  await waitFor("a closed clip with a track", async () => {
    const { clips } = await recorder.get("api/clips");
    return clips.some((clip: { recording: boolean; startPosition?: unknown }) =>
      !clip.recording && clip.startPosition
    );
  }, 40_000);

  await using browser = await launchBrowser();
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(`${recorder.url}/`);
  await waitInPage(
    page,
    `!document.querySelector('[data-fact="gps"]').hidden &&
      /^3D fix, 7 satellites · \\d+ km\\/h, heading \\d+°/.test(
        document.querySelector("#fact-gps").textContent)`,
    20_000,
  );
  const links = await page.evaluate(`[...document.querySelectorAll("#fact-gps a")]
    .map((a) => ({ href: a.getAttribute("href"), text: a.textContent }))`) as {
    href: string;
    text: string;
  }[];
  assert.equal(links.length, 2);
  const [lat, lon] = links[0].text.split(",").map(Number);
  // The position shown is on the drive, and both links name it.
  assert.ok(
    drive.points.some((p) => Math.abs(p.lat - lat) < 1e-5 && Math.abs(p.lon - lon) < 1e-5),
    `${links[0].text} is on the drive`,
  );
  assert.equal(links[0].href, `geo:${links[0].text}?q=${links[0].text}`);
  assert.equal(links[1].href, `https://maps.google.com/?q=${links[0].text}`);

  // The clip list: where a closed clip started, and its GPX.
  await waitInPage(
    page,
    `[...document.querySelectorAll("#clip-list li.clip:not(.recording) .clip-place")]
      .some((place) => !place.hidden && place.textContent.startsWith("Started at "))`,
    30_000,
  );
  const clip = await page.evaluate(`(() => {
    const item = [...document.querySelectorAll("#clip-list li.clip:not(.recording)")]
      .find((li) => !li.querySelector(".clip-place").hidden);
    return {
      id: item.dataset.id,
      place: item.querySelector(".clip-place a").textContent,
      track: item.querySelector(".clip-track").getAttribute("href"),
      trackHidden: item.querySelector(".clip-track").hidden,
    };
  })()`) as { id: string; place: string; track: string; trackHidden: boolean };
  const listed = (await recorder.get("api/clips")).clips.find((c: { id: string }) =>
    c.id === clip.id
  );
  assert.equal(
    clip.place,
    `${listed.startPosition.lat.toFixed(5)},${listed.startPosition.lon.toFixed(5)}`,
  );
  assert.equal(clip.track, `api/clips/${encodeURIComponent(clip.id)}/track.gpx`);
  assert.equal(clip.trackHidden, false);
  const gpx = String(
    await page.evaluate(`fetch(${JSON.stringify(clip.track)}).then((r) => r.text())`),
  );
  assert.match(gpx, /^<\?xml[^]*<trkpt lat="[^]*<\/gpx>\n$/);

  // GPS time set the clock (without NTP): the clock tile says so.
  const clockText = String(
    await page.evaluate(`document.querySelector("#fact-clock").textContent`),
  );
  if (ntpSynchronized()) assert.doesNotMatch(clockText, /set by GPS/);
  else assert.match(clockText, /^set by GPS/);
  assert.deepEqual(pageErrors, []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Control page hides the GPS tile when GPS is off", async () => {
  await using workspace = await makeWorkspace({ gps: "off" });
  await using recorder = await startRecorder([...CAMERA, ...workspace.args]);
  await using browser = await launchBrowser();
  const page = await browser.newPage();
  await page.goto(`${recorder.url}/`);
  // The status arrived (the uptime tile is filled) and the GPS tile stayed hidden.
  await waitInPage(page, `document.querySelector("#fact-uptime").textContent !== "–"`, 20_000);
  assert.equal(await page.evaluate(`document.querySelector('[data-fact="gps"]').hidden`), true);
  assert.equal((await recorder.get("api/status")).gps.state, "off");
});
