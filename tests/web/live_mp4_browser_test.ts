import assert from "node:assert/strict";
import { launchBrowser } from "../_browser.ts";
import { FAKE_BIN, waitFor } from "../_helpers.ts";
import {
  LIVE_PLAYING,
  makeWorkspace,
  type RunningRecorder,
  setPageHidden,
  startRecorder,
  waitInPage,
} from "./_page_helpers.ts";

const FAKE_PATH = { PATH: `${FAKE_BIN}:${Deno.env.get("PATH")}` };
/** The Pi camera (fake rpicam-vid) in H.264 mode; the JPEG preview is smaller. */
const CAMERA = ["--width", "640", "--height", "360", "--fps", "15", "--no-record"];
const PREVIEW = ["--preview-width", "320", "--preview-height", "180"];

async function mp4Viewers(recorder: RunningRecorder): Promise<number> {
  const status = await recorder.get("api/status");
  return status.viewers.clients.filter((c: { kind: string }) => c.kind === "mp4").length;
}

Deno.test("Control page in Chromium plays the H.264 live view through MSE at the camera's size", async () => {
  await using workspace = await makeWorkspace({});
  await using recorder = await startRecorder([...CAMERA, ...PREVIEW, ...workspace.args], {
    env: FAKE_PATH,
  });
  await using browser = await launchBrowser();
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  // Debian's Chromium decodes H.264 (through the system's ffmpeg): say so if it stops to.
  assert.equal(
    await page.evaluate(`MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E"')`),
    true,
    "this Chromium has no H.264 for MSE",
  );
  await page.goto(`${recorder.url}/`);
  await waitInPage(page, `document.querySelector("#live-video")?.videoWidth > 0`, 20_000);
  assert.equal(await page.evaluate(`document.querySelector("#live-video").videoWidth`), 640);
  assert.equal(await page.evaluate(`document.querySelector("#live-video").videoHeight`), 360);
  assert.equal(await page.evaluate(`document.querySelector("#live-video").hidden`), false);
  assert.equal(await page.evaluate(`document.querySelector("#live-view").hidden`), true);
  const time = () => page.evaluate(`document.querySelector("#live-video").currentTime`);
  const first = Number(await time());
  await waitFor("the video to play on", async () => Number(await time()) > first + 1, 10_000);
  // At the live edge: less than a second buffered ahead of the picture.
  const lag = Number(
    await page.evaluate(`(() => {
      const video = document.querySelector("#live-video");
      const ranges = video.buffered;
      return ranges.end(ranges.length - 1) - video.currentTime;
    })()`),
  );
  assert.ok(lag < 1, `lag ${lag} s`);
  const status = await recorder.get("api/status");
  assert.equal(await mp4Viewers(recorder), 1);
  assert.equal(status.preview.state, "idle", "the Pi decodes nothing for this view");

  // Hidden: the stream stops; shown again: it comes back by itself.
  await setPageHidden(page, true);
  await waitFor("the MP4 viewer to leave", async () => (await mp4Viewers(recorder)) === 0);
  await setPageHidden(page, false);
  await waitFor("the MP4 viewer back", async () => (await mp4Viewers(recorder)) === 1);
  const again = Number(await time());
  await waitFor("the video to play again", async () => Number(await time()) > again + 0.5, 10_000);
  assert.deepEqual(pageErrors, []);
});

Deno.test("Control page falls back to JPEG frames where MSE or the codec is missing", async () => {
  await using workspace = await makeWorkspace({});
  await using recorder = await startRecorder([...CAMERA, ...PREVIEW, ...workspace.args], {
    env: FAKE_PATH,
  });
  await using browser = await launchBrowser();
  for (
    const [what, script] of [
      ["no MSE", "delete window.MediaSource; delete window.ManagedMediaSource;"],
      ["no H.264", "MediaSource.isTypeSupported = () => false;"],
    ]
  ) {
    const page = await browser.newPage();
    await page.addInitScript(script);
    await page.goto(`${recorder.url}/`);
    await waitInPage(page, LIVE_PLAYING, 20_000);
    assert.equal(
      await page.evaluate(`document.querySelector("#live-view").width`),
      320,
      `${what}: the JPEG preview`,
    );
    assert.equal(
      await page.evaluate(`document.querySelector("#live-video")?.hidden ?? true`),
      true,
      what,
    );
    assert.equal(await mp4Viewers(recorder), 0, what);
    await page.close();
  }
});
