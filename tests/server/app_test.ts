import assert from "node:assert/strict";
import { Camera } from "../../src/camera/camera.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { SegmentRecorder } from "../../src/recorder/segment_recorder.ts";
import { createApp } from "../../src/server/app.ts";
import { MjpegStreams } from "../../src/server/mjpeg_streams.ts";
import { makeJpegs } from "../_helpers.ts";

const [jpeg] = await makeJpegs(1);

/** The app over real parts; the camera is never started, frames are published by the test. */
async function testApp() {
  const output = await Deno.makeTempDir({ prefix: "app_test_" });
  const hub = new FrameHub();
  const camera = new Camera({ argv: ["true"], hub });
  const recorder = new SegmentRecorder({ hub, output, segmentSeconds: 60 });
  const app = createApp({
    live: { hub, snapshot: () => Promise.resolve(hub.latest) },
    streams: new MjpegStreams(hub),
    camera: { source: "test", description: "test pattern", status: () => camera.status() },
    recorder,
    startedAt: Date.now() - 5_000,
    credentials: null,
  });
  return {
    app,
    hub,
    recorder,
    async [Symbol.asyncDispose]() {
      await recorder.stop();
      await Deno.remove(output, { recursive: true });
    },
  };
}

Deno.test("GET /api/status reports camera, recorder, viewers and uptime", async () => {
  await using t = await testApp();
  t.hub.newest(); // one viewer
  const response = await t.app.request("/api/status");
  assert.equal(response.status, 200);
  const status = await response.json();
  assert.equal(status.camera.source, "test");
  assert.equal(status.camera.state, "idle");
  for (const key of ["frames", "fps", "restarts"]) assert.equal(status.camera[key], 0, key);
  assert.deepEqual(
    [status.recorder.recording, status.recorder.frames, status.recorder.dropped],
    [false, 0, 0],
  );
  assert.equal(status.recorder.segments, 0);
  assert.equal(status.recorder.current, null);
  assert.equal(status.viewers.count, 1);
  assert.equal(status.uptime_s, 5);
});

Deno.test("GET /snapshot.jpg is 503 before the first frame, then the newest frame", async () => {
  await using t = await testApp();
  const early = await t.app.request("/snapshot.jpg");
  assert.equal(early.status, 503);
  assert.equal(early.headers.get("retry-after"), "1");
  assert.match((await early.json()).error, /No frame yet/);

  t.hub.publish({ seq: 0, time: Date.now(), data: jpeg, keyframe: true });
  const snapshot = await t.app.request("/snapshot.jpg");
  assert.equal(snapshot.status, 200);
  assert.equal(snapshot.headers.get("content-type"), "image/jpeg");
  assert.deepEqual(new Uint8Array(await snapshot.arrayBuffer()), jpeg);
});

Deno.test("POST /api/recording/start and /stop switch the recorder", async () => {
  await using t = await testApp();
  const started = await t.app.request("/api/recording/start", { method: "POST" });
  assert.equal(started.status, 200);
  assert.equal((await started.json()).recording, true);
  assert.equal(t.recorder.recording, true);
  const stopped = await t.app.request("/api/recording/stop", { method: "POST" });
  assert.equal((await stopped.json()).recording, false);
  assert.equal(t.recorder.recording, false);
});

Deno.test("createApp refuses GET on actions and answers unknown paths with JSON 404", async () => {
  await using t = await testApp();
  const get = await t.app.request("/api/recording/start");
  assert.equal(get.status, 404);
  assert.equal(t.recorder.recording, false, "a GET must not start recording");
  const missing = await t.app.request("/nope");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error, "Not found: GET /nope");
});

Deno.test("GET / serves the control page", async () => {
  await using t = await testApp();
  const page = await t.app.request("/");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type")!, /^text\/html/);
  assert.match(await page.text(), /<img id="live" src="stream.mjpg"/);
});
