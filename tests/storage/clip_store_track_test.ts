/** A clip's GPS track (`<stem>.gpx`) goes wherever its clip goes: locked, listed, downloaded, deleted. */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { GpsFix } from "../../src/car/gps.ts";
import { GPX_FOOTER, gpxHeader, gpxPoint } from "../../src/car/gpx.ts";
import { clipsRoutes } from "../../src/server/clips_routes.ts";
import { ClipStore, TrackNotFoundError } from "../../src/storage/clip_store.ts";
import { filesIn, tempOutput, writeClips } from "./_clips.ts";

const A = "000001_20261130-111627+0100";
const B = "000002_20261130-111727+0100";

function fix(i: number): GpsFix {
  return {
    time: Date.UTC(2026, 10, 30, 10, 16, 27 + i),
    lat: 48.1371 + i * 0.0001,
    lon: 11.5754 + i * 0.0002,
    alt: 519,
    speed: 12.5,
    heading: 63,
    mode: 3,
    satellites: 9,
  };
}

function track(name: string, points: number, closed = true): string {
  let text = gpxHeader(name);
  for (let i = 0; i < points; i++) text += gpxPoint(fix(i));
  return closed ? text + GPX_FOOTER : text;
}

Deno.test("ClipStore.list gives a clip's track and where it started; none without one", async () => {
  await using dir = await tempOutput("clip_store_track_test_");
  await writeClips(dir.path, `${A}.mkv`, `locked/${B}.mkv`, "000003.recording.mkv");
  await Deno.writeTextFile(join(dir.path, `${A}.gpx`), track(A, 3));
  await Deno.writeTextFile(join(dir.path, "000003.recording.gpx"), track("000003", 0, false));
  const store = await ClipStore.open(dir.path);
  let [open, locked, closed] = await store.list();
  assert.equal(closed.track, `${A}.gpx`);
  assert.deepEqual(closed.startPosition, { lat: 48.1371, lon: 11.5754 });
  assert.equal("track" in locked, false, "no track: no field");
  assert.equal("startPosition" in locked, false);
  // The open clip's track has no point yet; once it has, it says where the clip started.
  assert.equal(open.track, "000003.recording.gpx");
  assert.equal(open.startPosition, undefined);
  await Deno.writeTextFile(join(dir.path, "000003.recording.gpx"), gpxPoint(fix(5)), {
    append: true,
  });
  [open, locked, closed] = await store.list();
  assert.deepEqual(open.startPosition, { lat: 48.1376, lon: 11.5764 });
});

Deno.test("ClipStore moves a clip's track with it when locking and unlocking, and deletes it with it", async () => {
  await using dir = await tempOutput("clip_store_track_test_");
  await writeClips(dir.path, `${A}.mkv`, `${B}.mkv`);
  await Deno.writeTextFile(join(dir.path, `${A}.gpx`), track(A, 3));
  await Deno.writeTextFile(join(dir.path, `${B}.gpx`), track(B, 2));
  const store = await ClipStore.open(dir.path);

  await store.lock(A);
  assert.deepEqual(await filesIn(join(dir.path, "locked")), [`${A}.gpx`, `${A}.mkv`]);
  assert.equal((await store.list()).find((c) => c.id === A)!.track, `locked/${A}.gpx`);
  await store.unlock(A);
  assert.deepEqual(await filesIn(join(dir.path, "locked")), []);
  assert.ok((await filesIn(dir.path)).includes(`${A}.gpx`));

  await store.delete(B);
  const left = await filesIn(dir.path);
  assert.ok(!left.includes(`${B}.gpx`), `B's track deleted: ${left}`);
  assert.ok(left.includes(`${A}.gpx`));

  // Loop recording deletes the oldest clip's track with it.
  const plan = await store.enforce({ maxBytes: 1, minFree: { percent: 0 } }, { reserveBytes: 0 });
  assert.deepEqual(plan.delete, [A]);
  assert.deepEqual((await filesIn(dir.path)).filter((name) => !name.startsWith(".")), ["locked"]);
});

Deno.test("ClipStore.attachTrack puts a track beside its clip wherever it is, or drops it", async () => {
  await using dir = await tempOutput("clip_store_track_test_");
  await writeClips(dir.path, `${A}.mkv`, `locked/${B}.mkv`);
  const store = await ClipStore.open(dir.path);
  for (const seq of [1, 2, 7]) {
    await Deno.writeTextFile(join(dir.path, `00000${seq}.recording.gpx`), track("x", 1));
  }
  await store.attachTrack(1, join(dir.path, "000001.recording.gpx"));
  await store.attachTrack(2, join(dir.path, "000002.recording.gpx"));
  // Clip 7 held no footage (the repair removed it): its track goes too.
  await store.attachTrack(7, join(dir.path, "000007.recording.gpx"));
  assert.deepEqual((await filesIn(dir.path)).filter((name) => !name.startsWith(".")), [
    `${A}.gpx`,
    `${A}.mkv`,
    "locked",
  ]);
  assert.deepEqual(await filesIn(join(dir.path, "locked")), [`${B}.gpx`, `${B}.mkv`]);
});

Deno.test("ClipStore finds a track a power cut left in the other folder and moves it back", async () => {
  await using dir = await tempOutput("clip_store_track_test_");
  // The clip went to locked/, the cut came before its track followed.
  await writeClips(dir.path, `locked/${A}.mkv`);
  await Deno.writeTextFile(join(dir.path, `${A}.gpx`), track(A, 2));
  const store = await ClipStore.open(dir.path);
  assert.equal((await store.list())[0].track, `${A}.gpx`);
  await store.unlock(A);
  await store.lock(A);
  assert.deepEqual(await filesIn(join(dir.path, "locked")), [`${A}.gpx`, `${A}.mkv`]);
});

Deno.test("GET /api/clips/:id/track.gpx downloads the track, the open clip's closed so far", async () => {
  await using dir = await tempOutput("clip_store_track_test_");
  await writeClips(dir.path, `${A}.mkv`, `${B}.mkv`, "000003.recording.mkv");
  await Deno.writeTextFile(join(dir.path, `${A}.gpx`), track(A, 3));
  // Cut off in the middle of its third point.
  const partial = track("000003", 2, false) + gpxPoint(fix(2)).slice(0, 40);
  await Deno.writeTextFile(join(dir.path, "000003.recording.gpx"), partial);
  const store = await ClipStore.open(dir.path);
  const app = clipsRoutes({ store, currentSeq: () => 3 });

  let response = await app.request(`/${A}/track.gpx`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/gpx+xml; charset=utf-8");
  assert.equal(response.headers.get("content-disposition"), `attachment; filename="${A}.gpx"`);
  assert.equal(await response.text(), track(A, 3));

  response = await app.request("/000003/track.gpx");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("cache-control"), "no-store");
  const text = await response.text();
  assert.equal(text, track("000003", 2));
  assert.equal(
    await Deno.readTextFile(join(dir.path, "000003.recording.gpx")),
    partial,
    "the file being written is left alone",
  );

  response = await app.request(`/${B}/track.gpx`);
  assert.equal(response.status, 404);
  assert.deepEqual(await response.json(), { error: `No GPS track for clip ${B}` });
  await assert.rejects(() => store.readTrack(B), TrackNotFoundError);
  assert.equal((await app.request("/000009_x/track.gpx")).status, 400);
  assert.equal((await app.request("/000009/track.gpx")).status, 404);
});
