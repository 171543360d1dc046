import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig, parseCommandLine } from "../../src/config/mod.ts";
import { Dashcam } from "../../src/dashcam.ts";
import { createApp } from "../../src/server/app.ts";
import { makeJpegs } from "../_helpers.ts";

const [jpeg] = await makeJpegs(1);

/** The app over a real Dashcam whose camera is never started: the test publishes frames. */
async function testApp(args: string[] = []) {
  const dir = await Deno.makeTempDir({ prefix: "app_test_" });
  const config = await loadConfig(
    parseCommandLine(["--source", "test", "--no-record", "-f", join(dir, "clips"), ...args]),
    { env: {} },
  );
  const dashcam = await Dashcam.create(config);
  const app = createApp({
    dashcam,
    startedAt: Date.now() - 5_000,
    credentials: null,
    configFile: join(dir, "config.json"),
  });
  return {
    app,
    dir,
    dashcam,
    json: async (path: string, init?: RequestInit) => {
      const response = await app.request(path, init);
      return { status: response.status, body: await response.json() };
    },
    async [Symbol.asyncDispose]() {
      await dashcam.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("GET /api/status reports camera, recorder, storage, clock, viewers, uptime", async () => {
  await using t = await testApp();
  t.dashcam.live.hub.newest(); // one viewer
  const { status, body } = await t.json("/api/status");
  assert.equal(status, 200);
  assert.equal(body.camera.source, "test");
  assert.equal(body.camera.codec, "mjpeg");
  assert.equal(body.camera.state, "idle");
  for (const key of ["frames", "fps", "restarts"]) assert.equal(body.camera[key], 0, key);
  assert.deepEqual(
    [body.recorder.recording, body.recorder.frames, body.recorder.dropped],
    [false, 0, 0],
  );
  assert.equal(body.recorder.segments, 0);
  assert.equal(body.recorder.current, null);
  assert.equal(body.preview, null);
  assert.equal(typeof body.storage.ok, "boolean");
  assert.equal(typeof body.clock.trusted, "boolean");
  assert.equal(body.viewers.count, 1);
  assert.equal(body.uptime_s, 5);
  assert.equal(body.health, null);
});

Deno.test("GET /snapshot.jpg is 503 before the first frame, then the newest frame", async () => {
  await using t = await testApp();
  const early = await t.app.request("/snapshot.jpg");
  assert.equal(early.status, 503);
  assert.equal(early.headers.get("retry-after"), "1");
  assert.match((await early.json()).error, /No frame yet/);

  t.dashcam.live.hub.publish({ seq: 0, time: Date.now(), data: jpeg, keyframe: true });
  const snapshot = await t.app.request("/snapshot.jpg");
  assert.equal(snapshot.status, 200);
  assert.equal(snapshot.headers.get("content-type"), "image/jpeg");
  assert.deepEqual(new Uint8Array(await snapshot.arrayBuffer()), jpeg);
});

Deno.test("POST /api/recording/start and /stop switch the recorder", async () => {
  await using t = await testApp();
  const started = await t.json("/api/recording/start", { method: "POST" });
  assert.equal(started.status, 200);
  assert.equal(started.body.recording, true);
  assert.equal(t.dashcam.recorder.recording, true);
  const stopped = await t.json("/api/recording/stop", { method: "POST" });
  assert.equal(stopped.body.recording, false);
  assert.equal(t.dashcam.recorder.recording, false);
});

Deno.test("createApp refuses GET on actions and answers unknown paths with JSON 404", async () => {
  await using t = await testApp();
  const get = await t.app.request("/api/recording/start");
  assert.equal(get.status, 404);
  assert.equal(t.dashcam.recording, false, "a GET must not start recording");
  const missing = await t.json("/nope");
  assert.deepEqual(missing, { status: 404, body: { error: "Not found: GET /nope" } });
});

Deno.test("GET / serves the control page and its assets", async () => {
  await using t = await testApp();
  const page = await t.app.request("/");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type")!, /^text\/html/);
  assert.match(await page.text(), /<script type="module" src="app.js">/);
  for (const [path, type] of [["/app.js", /^text\/javascript/], ["/style.css", /^text\/css/]]) {
    const asset = await t.app.request(path as string);
    assert.equal(asset.status, 200, `${path}`);
    assert.match(asset.headers.get("content-type")!, type as RegExp);
    await asset.body?.cancel();
  }
  // Every module of the page, served from web/js/ with no list to keep.
  const modules = [...Deno.readDirSync(new URL("../../web/js", import.meta.url))]
    .map((entry) => entry.name).filter((name) => name.endsWith(".js"));
  assert.ok(modules.length > 5, `${modules}`);
  for (const name of modules) {
    const asset = await t.app.request(`/js/${name}`);
    assert.equal(asset.status, 200, name);
    assert.match(asset.headers.get("content-type")!, /^text\/javascript/);
    assert.match(await asset.text(), /^\/\/ @ts-check/);
  }
  const missing = await t.json("/js/nope.js");
  assert.deepEqual(missing, { status: 404, body: { error: "Not found: GET /js/nope.js" } });
  assert.equal((await t.json("/js/..%2Fapp.js")).status, 404);
});

Deno.test("POST /api/clock sets the recorder's time from the phone", async () => {
  await using t = await testApp();
  const phone = Date.UTC(2026, 10, 30, 12);
  const set = await t.json("/api/clock", { method: "POST", body: JSON.stringify({ now: phone }) });
  assert.equal(set.status, 200);
  assert.equal(set.body.trusted, true);
  assert.ok(Math.abs(set.body.now - phone) < 1000);
  assert.ok(Math.abs(t.dashcam.clock.now() - phone) < 1000);
  const bad = await t.json("/api/clock", { method: "POST", body: '{"now":"soon"}' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /^Invalid time/);
});

Deno.test("POST /api/clock takes the phone's zone, refuses a bad one, and the setting wins", async () => {
  await using t = await testApp();
  const phone = Date.UTC(2026, 10, 30, 12);
  const post = (body: unknown) =>
    t.json("/api/clock", { method: "POST", body: JSON.stringify(body) });
  const set = await post({ now: phone, tz: "America/New_York" });
  assert.equal(set.status, 200);
  assert.deepEqual([set.body.tz, set.body.tz_source], ["America/New_York", "phone"]);
  for (const tz of ["Mars/Olympus", 5, ""]) {
    const bad = await post({ now: phone + 60_000, tz });
    assert.equal(bad.status, 400, JSON.stringify(tz));
    assert.match(bad.body.error, /^Invalid time zone: .*"tz": Intl\.DateTimeFormat/);
  }
  assert.ok(Math.abs(t.dashcam.clock.now() - phone) < 1000, "a refused zone sets no time");
  const status = await t.json("/api/status");
  assert.deepEqual([status.body.clock.tz, status.body.clock.tz_source], [
    "America/New_York",
    "phone",
  ]);
  const put = await t.json("/api/settings", {
    method: "PUT",
    body: JSON.stringify({ timezone: "Asia/Tokyo" }),
  });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const after = await t.json("/api/status");
  assert.deepEqual([after.body.clock.tz, after.body.clock.tz_source], ["Asia/Tokyo", "setting"]);
  assert.equal((await post({ now: phone, tz: "Europe/Berlin" })).body.tz, "Asia/Tokyo");
  // The zone alone leaves the time as it is.
  await t.json("/api/settings", { method: "PUT", body: JSON.stringify({ timezone: "" }) });
  const zoneOnly = await post({ tz: "Asia/Kolkata" });
  assert.deepEqual([zoneOnly.status, zoneOnly.body.tz, zoneOnly.body.phone_tz], [
    200,
    "Asia/Kolkata",
    "Asia/Kolkata",
  ]);
  assert.ok(Math.abs(t.dashcam.clock.now() - phone) < 1000, "the time did not change");
});

Deno.test("PUT /api/settings validates, applies only what changed, and saves", async () => {
  await using t = await testApp();
  const get = await t.json("/api/settings");
  assert.equal(get.body.settings.segment, 60);
  assert.equal(get.body.settings.host, undefined, "the address is not editable from the page");

  const put = (body: unknown) =>
    t.json("/api/settings", { method: "PUT", body: JSON.stringify(body) });
  const bad = await put({ fps: 0 });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, "fps");
  assert.match(bad.body.error, /^Frame rate must be more than 0 and at most 120/);
  const locked = await put({ host: "0.0.0.0" });
  assert.equal(locked.status, 400);
  assert.equal(locked.body.field, "host");
  assert.equal(t.dashcam.config.fps, 30, "a bad save changes nothing");
  await assert.rejects(Deno.stat(join(t.dir, "config.json")), Deno.errors.NotFound);

  const clipLength = await put({ segment: 30 });
  assert.equal(clipLength.status, 200);
  assert.deepEqual(clipLength.body.applied, ["recorder"]);
  assert.equal(t.dashcam.config.segment, 30);
  const storage = await put({ maxStorage: "20G", minFree: "10%" });
  assert.deepEqual(storage.body.applied, ["storage"]);
  const camera = await put({ width: 640, height: 360 });
  assert.deepEqual(camera.body.applied, ["camera", "recorder", "preview"]);
  const saved = JSON.parse(await Deno.readTextFile(join(t.dir, "config.json")));
  assert.deepEqual(saved, {
    segment: 30,
    maxStorage: "20G",
    minFree: "10%",
    width: 640,
    height: 360,
  });
});

/** `mib` MiB of "a", made as it is sent, never all in memory. */
function bigBody(mib: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1024 * 1024).fill(0x61);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ < mib) controller.enqueue(chunk);
      else controller.close();
    },
  });
}

Deno.test("PUT /api/settings and POST /api/clock refuse a 100 MiB body with 413 before reading it", async () => {
  await using t = await testApp();
  for (const [method, path] of [["PUT", "/api/settings"], ["POST", "/api/clock"]]) {
    const streamed = await t.json(path, { method, body: bigBody(100) });
    assert.equal(streamed.status, 413, `${method} ${path}`);
    assert.match(streamed.body.error, /^Request body too large: at most 64 KiB/);
    const declared = await t.json(path, {
      method,
      body: "{}",
      headers: { "content-length": String(100 * 1024 * 1024) },
    });
    assert.equal(declared.status, 413, `${method} ${path} with a Content-Length`);
  }
  assert.equal((await t.json("/api/clock", { method: "POST", body: "{}" })).status, 400);
});

Deno.test("createApp answers a failing handler with a JSON 500", async () => {
  await using t = await testApp();
  t.dashcam.startRecording = () => Promise.reject(new Error("boom"));
  const { status, body } = await t.json("/api/recording/start", { method: "POST" });
  assert.equal(status, 500);
  assert.equal(body.error, "Internal error: boom");
});

Deno.test("createApp under --no-auth refuses a DNS-rebinding Host", async () => {
  await using t = await testApp();
  const rebound = await t.json("http://evil.example/api/recording/start", {
    method: "POST",
    headers: { host: "evil.example:8080" },
  });
  assert.equal(rebound.status, 421);
  assert.equal(t.dashcam.status().recording.wanted, false);
  assert.equal((await t.json("http://127.0.0.1:8080/api/status")).status, 200);
});
