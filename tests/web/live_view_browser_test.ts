import assert from "node:assert/strict";
import { Hono } from "@hono/hono";
import { testPatternArgv } from "../../src/camera/argv.ts";
import { Camera } from "../../src/camera/camera.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { listen } from "../../src/server/listen.ts";
import { MjpegStreams } from "../../src/live/mjpeg_streams.ts";
import { launchBrowser } from "../_browser.ts";
import { waitFor } from "../_helpers.ts";

Deno.test("MjpegStreams live view plays and advances in a Chromium <img>", async () => {
  const hub = new FrameHub();
  const camera = new Camera({
    argv: testPatternArgv({ width: 320, height: 240, fps: 10, quality: 70 }),
    hub,
  });
  camera.start();
  const streams = new MjpegStreams(hub);
  const app = new Hono()
    .get("/", (c) => c.html('<img id="live" src="/stream.mjpg">'))
    .get("/stream.mjpg", () => streams.response());
  const server = listen(app, streams, { host: "127.0.0.1", port: 0, shutdownGraceMs: 1000 });
  await using browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    // Page code is given as strings: it runs in the browser, not in Deno.
    await page.waitForFunction(`document.querySelector("img").naturalWidth > 0`);
    assert.equal(await page.evaluate(`document.querySelector("img").naturalWidth`), 320);
    // The picture changes: the test pattern moves and its counter ticks.
    const grab = () =>
      page.evaluate(`(() => {
        const img = document.querySelector("img");
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        canvas.getContext("2d").drawImage(img, 0, 0);
        return canvas.toDataURL("image/png");
      })()`);
    const first = await grab();
    await waitFor("a different picture", async () => (await grab()) !== first, 5_000);
    // Chromium keeps taking frames (the stats object is live).
    const [viewer] = hub.consumers;
    await waitFor("Chromium to take 5 frames", () => viewer.delivered >= 5, 5_000);
    await page.close();
    await waitFor("the viewer to leave", () => hub.consumers.length === 0);
  } finally {
    await server.shutdown();
    await camera.stop();
    await server.finished;
  }
});
