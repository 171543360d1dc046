/**
 * The recorder with GPS: Debian's gpsd fed by gpsfake with a drive we make, the test pattern
 * camera, real ffmpeg clips, the HTTP API. Each clip gets its track; the status shows the fix;
 * GPS time sets the clock; gpsd dying, coming back or never being there leaves recording be.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { GPX_FOOTER, gpxHeader, gpxPoint } from "../../src/car/gpx.ts";
import { RecorderClock } from "../../src/clock.ts";
import { parseClipName } from "../../src/storage/clip_name.ts";
import { runningDashcam } from "../_dashcam.ts";
import { run, waitFor } from "../_helpers.ts";
import { sampleClip } from "../storage/_clips.ts";
import { freePort, nmeaLog, type RoutePoint, startGpsfake } from "./_nmea.ts";

const FAST = { initialMs: 200, maxMs: 1_000 };

async function running(gps: string, options: { record?: boolean; dir?: string } = {}) {
  // No NTP here, whatever the test box says: the case GPS time is for.
  const clock = new RecorderClock({ systemSynchronized: () => false, systemTimeZone: () => "UTC" });
  const t = await runningDashcam({
    dir: options.dir,
    prefix: "gps_dashcam_test_",
    fps: 10,
    segment: 2,
    args: ["--gps", gps, ...(options.record === false ? ["--no-record"] : [])],
    dashcam: { clock, backoff: FAST, gpsBackoff: FAST },
  });
  const { dir, output, dashcam, app } = t;
  return {
    dir,
    output,
    dashcam,
    app,
    async status() {
      return await (await app.request("/api/status")).json();
    },
    [Symbol.asyncDispose]: () => t[Symbol.asyncDispose](),
  };
}

interface GpxPoint {
  lat: number;
  lon: number;
  time: number;
  speed: number | null;
  course: number | null;
}

/** A GPX file's points, read by Python's XML parser (not ours: it must be well-formed XML). */
async function readGpx(path: string): Promise<GpxPoint[]> {
  const script = `
import json, sys, xml.etree.ElementTree as ET
ns = {"g": "http://www.topografix.com/GPX/1/1",
      "x": "http://www.garmin.com/xmlschemas/TrackPointExtension/v2"}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.topografix.com/GPX/1/1}gpx", root.tag
out = []
for p in root.findall("g:trk/g:trkseg/g:trkpt", ns):
    speed = p.find("g:extensions/x:TrackPointExtension/x:speed", ns)
    course = p.find("g:extensions/x:TrackPointExtension/x:course", ns)
    out.append({"lat": float(p.get("lat")), "lon": float(p.get("lon")),
                "time": p.find("g:time", ns).text,
                "speed": None if speed is None else float(speed.text),
                "course": None if course is None else float(course.text)})
print(json.dumps(out))`;
  const out = new TextDecoder().decode(await run(["python3", "-c", script, path]));
  return JSON.parse(out).map((p: GpxPoint & { time: string }) => ({
    ...p,
    time: Date.parse(p.time),
  }));
}

function assertOnRoute(point: GpxPoint, route: RoutePoint[], where: string): void {
  const expected = route.find((p) => p.time === point.time);
  assert.ok(expected, `${where}: ${new Date(point.time).toISOString()} is a time of the log`);
  assert.ok(Math.abs(point.lat - expected.lat) < 1e-6, `${where}: lat ${point.lat}`);
  assert.ok(Math.abs(point.lon - expected.lon) < 1e-6, `${where}: lon ${point.lon}`);
  assert.ok(Math.abs(point.speed! - expected.speed) < 0.01, `${where}: speed ${point.speed}`);
  assert.ok(Math.abs(point.course! - expected.heading) < 0.1, `${where}: course`);
}

Deno.test("Dashcam with gpsd: the status shows the fix, each clip gets its track, GPS time sets the clock", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gps_dashcam_test_" });
  const drive = nmeaLog({ epochs: 150 }); // 2031, years off this box's clock
  await using gpsd = await startGpsfake(drive.text, { dir });
  await using t = await running(`127.0.0.1:${gpsd.port}`, { dir });

  await waitFor("a 3D fix with a time", async () => {
    const { gps } = await t.status();
    return gps.fix === "3d" && gps.time !== null && gps.satellites === 7;
  }, 30_000);
  const { gps, clock } = await t.status();
  assert.equal(gps.state, "connected");
  assert.equal(gps.server, `127.0.0.1:${gpsd.port}`);
  assert.equal(gps.devices, 1);
  const at = drive.points.find((p) => p.time === gps.time);
  assert.ok(at, "the status's fix is one of the log's");
  assert.ok(Math.abs(gps.lat - at.lat) < 1e-6 && Math.abs(gps.lon - at.lon) < 1e-6);
  assert.ok(Math.abs(gps.speed - at.speed) < 0.01);

  // The clock follows GPS, years from the system's; the phone cannot move it meanwhile.
  assert.equal(clock.source, "gps");
  assert.equal(new Date(clock.now).getUTCFullYear(), 2031);
  assert.equal(new Date().getUTCFullYear() < 2031, true, "this test needs a box before 2031");
  const response = await t.app.request("/api/clock", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ now: Date.now(), tz: "Europe/Berlin" }),
  });
  assert.equal(response.status, 200);
  const after = await response.json();
  assert.equal(after.source, "gps");
  assert.equal(new Date(after.now).getUTCFullYear(), 2031, "the phone's time is ignored");
  assert.equal(after.tz, "Europe/Berlin", "its zone is taken");

  // Clips recorded with GPS: their names carry GPS time, each has its track.
  const closedWithTracks = async () => {
    const clips = await t.dashcam.store.list();
    return clips.filter((c) =>
      !c.recording && c.track && parseClipName(`${c.id}.mkv`)!.start! >
        Date.UTC(2031, 0, 1)
    );
  };
  await waitFor(
    "three clips with tracks",
    async () => (await closedWithTracks()).length >= 3,
    40_000,
  );
  await t.dashcam.stopRecording();
  // Every track closed and beside its clip (the last clip may be too short for a point).
  await waitFor("no track left open", () => {
    return ![...Deno.readDirSync(t.output)].some((e) => e.name.endsWith(".recording.gpx"));
  }, 10_000);

  const clips = (await closedWithTracks()).reverse();
  const seen = new Set<number>();
  let total = 0;
  for (const clip of clips) {
    const points = await readGpx(join(t.output, clip.track!));
    assert.ok(points.length >= 1, `${clip.track} has points`);
    for (const point of points) {
      assertOnRoute(point, drive.points, clip.track!);
      assert.ok(!seen.has(point.time), `a point is in one clip only: ${point.time}`);
      seen.add(point.time);
    }
    const times = points.map((p) => p.time);
    assert.deepEqual(times, [...times].sort((a, b) => a - b), "in order");
    assert.deepEqual(clip.startPosition, { lat: points[0].lat, lon: points[0].lon });
    const download = await t.app.request(`/api/clips/${clip.id}/track.gpx`);
    assert.equal(await download.text(), await Deno.readTextFile(join(t.output, clip.track!)));
    total += points.length;
  }
  // One point a second of the drive: consecutive log seconds, none lost between clips.
  const all = [...seen].sort((a, b) => a - b);
  assert.equal(all.at(-1)! - all[0], (all.length - 1) * 1000, "no second skipped");
  assert.ok(total >= 5, `${total} points`);

  // The list says where each clip started; the page gets it through /api/clips.
  const listed = await (await t.app.request("/api/clips")).json();
  const first = listed.clips.find((c: { id: string }) => c.id === clips[0].id);
  assert.deepEqual(first.startPosition, clips[0].startPosition);

  // Locked: the track goes along; deleted: the track goes too.
  const [keep, drop] = clips;
  await t.dashcam.store.lock(keep.id);
  const locked = (await t.dashcam.store.list()).find((c) => c.id === keep.id)!;
  assert.equal(locked.track, `locked/${keep.id}.gpx`);
  await Deno.stat(join(t.output, "locked", `${keep.id}.gpx`));
  const deleted = await t.app.request(`/api/clips/${drop.id}`, { method: "DELETE" });
  assert.equal(deleted.status, 200);
  await assert.rejects(() => Deno.stat(join(t.output, `${drop.id}.gpx`)), Deno.errors.NotFound);
});

Deno.test("Dashcam records on while gpsd is killed, and follows it again when it comes back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gps_dashcam_test_" });
  const port = freePort();
  const first = await startGpsfake(nmeaLog({ epochs: 100 }).text, { dir, port });
  await using t = await running(`127.0.0.1:${port}`, { dir });
  try {
    await waitFor("a fix", async () => (await t.status()).gps.fix !== "none", 30_000);
    await waitFor("a clip", () => t.dashcam.recorder.status().segments >= 1, 20_000);
    await first.killGpsd();
    await waitFor("the status to say gpsd is gone", async () => {
      const { gps } = await t.status();
      return gps.state === "disconnected" && gps.fix === "none";
    }, 15_000);
    const { gps } = await t.status();
    assert.match(gps.message, /not answering: reconnecting/);
    assert.match(gps.last_error, /gpsd at 127\.0\.0\.1:\d+/);
  } finally {
    await first.stop();
  }
  // Recording goes on without gpsd: clips keep closing, ffmpeg never restarted.
  const segments = t.dashcam.recorder.status().segments;
  await waitFor("two more clips without gpsd", () => {
    return t.dashcam.recorder.status().segments >= segments + 2;
  }, 20_000);

  const later = Date.UTC(2031, 4, 5, 10, 0, 0);
  await using _second = await startGpsfake(nmeaLog({ epochs: 100, start: later }).text, {
    dir,
    port,
  });
  await waitFor("a fix from the new gpsd", async () => {
    const { gps } = await t.status();
    return gps.state === "connected" && gps.time >= later;
  }, 30_000);
  const recorder = t.dashcam.recorder.status();
  assert.equal(recorder.state, "running");
  assert.equal(recorder.restarts, 0);
  assert.equal(t.dashcam.camera.status().restarts, 0);
  // The new drive's points reach the track of the clip being written.
  await waitFor("points of the new drive in a track", async () => {
    const clip = (await t.dashcam.store.list()).find((c) => c.track && c.recording);
    if (!clip) return false;
    const text = await (await t.app.request(`/api/clips/${clip.id}/track.gpx`)).text();
    return text.includes("<time>2031-05-05T");
  }, 20_000);
});

Deno.test("Dashcam without gpsd: the status says so and recording is as ever", async () => {
  const port = freePort(); // nothing listens: gpsd not installed, or not started
  await using t = await running(`127.0.0.1:${port}`);
  await waitFor("two clips", () => t.dashcam.recorder.status().segments >= 2, 20_000);
  const { gps, clock, recorder } = await t.status();
  assert.equal(gps.state, "disconnected");
  assert.equal(gps.fix, "none");
  assert.equal(gps.lat, null);
  assert.match(gps.last_error, /Cannot connect to gpsd at 127\.0\.0\.1:\d+: nothing listens there/);
  assert.equal(clock.source, "system");
  assert.equal(recorder.restarts, 0);
  assert.equal(recorder.last_error, null);
  const names = [...Deno.readDirSync(t.output)].map((entry) => entry.name);
  assert.ok(!names.some((name) => name.endsWith(".gpx")), `no tracks: ${names}`);

  // Off: no connection at all.
  const off = await t.dashcam.applySettings({ gps: "off" });
  assert.deepEqual(off, ["gps"]);
  const status = await t.status();
  assert.equal(status.gps.state, "off");
  assert.equal(status.gps.last_error, null);
});

Deno.test("Dashcam closes the tracks a power cut left open and keeps them with their clips", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gps_dashcam_test_" });
  const output = join(dir, "clips");
  await Deno.mkdir(output, { recursive: true });
  const fix = (i: number) => ({
    time: Date.UTC(2026, 10, 30, 10, 16, 27 + i),
    lat: 48.1371 + i * 1e-4,
    lon: 11.5754,
    alt: 519,
    speed: 10,
    heading: 90,
    mode: 3 as const,
    satellites: 8,
  });
  const clip = await sampleClip();
  // Clip 4 was saved, the cut came before its track followed; clip 5 was being written.
  await Deno.writeFile(join(output, "000004_20261130-111627+0000.mkv"), clip);
  await Deno.writeTextFile(
    join(output, "000004.recording.gpx"),
    gpxHeader("000004") + gpxPoint(fix(0)) + gpxPoint(fix(1)),
  );
  await Deno.writeFile(join(output, "000005.recording.mkv"), clip);
  await Deno.writeTextFile(
    join(output, "000005.recording.gpx"),
    gpxHeader("000005") + gpxPoint(fix(2)) + gpxPoint(fix(3)) + gpxPoint(fix(4)).slice(0, 50),
  );
  // A track whose clip is gone (it held no footage).
  await Deno.writeTextFile(join(output, "000003.recording.gpx"), gpxHeader("000003"));

  await using t = await running("off", { dir, record: false });
  await waitFor("clip 5 repaired with its track", async () => {
    const clips = await t.dashcam.store.list();
    return clips.find((c) => c.seq === 5 && !c.recording && c.track);
  }, 30_000);
  const clips = await t.dashcam.store.list();
  const four = clips.find((c) => c.seq === 4)!;
  const five = clips.find((c) => c.seq === 5)!;
  assert.equal(four.track, "000004_20261130-111627+0000.gpx");
  assert.equal(five.track, `${five.id}.gpx`);
  assert.deepEqual((await readGpx(join(output, four.track!))).map((p) => p.time), [
    fix(0).time,
    fix(1).time,
  ]);
  const repaired = await Deno.readTextFile(join(output, five.track!));
  assert.ok(repaired.endsWith(GPX_FOOTER));
  assert.deepEqual((await readGpx(join(output, five.track!))).map((p) => p.time), [
    fix(2).time,
    fix(3).time,
  ], "the half-written point is dropped");
  assert.deepEqual(five.startPosition, { lat: Number(fix(2).lat.toFixed(7)), lon: 11.5754 });
  const names = [...Deno.readDirSync(output)].map((entry) => entry.name).sort();
  assert.ok(!names.some((name) => name.includes(".recording.")), `nothing left open: ${names}`);
});
