import assert from "node:assert/strict";
import { join } from "node:path";
import { Hono } from "@hono/hono";
import { clipsRoutes, parseRange } from "../../src/server/clips_routes.ts";
import { ClipStore } from "../../src/storage/clip_store.ts";
import { probeClip, run, waitFor } from "../_helpers.ts";
import {
  clipFrames,
  FPS,
  frameIndex,
  PartReader,
  startGrowingClip,
  writeLongClip,
} from "./_clip_playback.ts";
import { filesIn, sampleClip, tempOutput, writeClips } from "../storage/_clips.ts";

const A = "000001_20261130-111627";
const B = "000002_20261130-111727";

/** The routes mounted where the app mounts them, over a temp dir with real clips. */
async function testApp(options: { currentSeq?: number | null } = {}) {
  const dir = await tempOutput("clips_routes_test_");
  await writeClips(dir.path, `${A}.mkv`, `locked/${B}.mkv`, "000003.recording.mkv");
  const store = await ClipStore.open(dir.path);
  let currentSeq = options.currentSeq === undefined ? 3 : options.currentSeq;
  const app = new Hono().route(
    "/api/clips",
    clipsRoutes({ store, currentSeq: () => currentSeq }),
  );
  return {
    app,
    store,
    dir: dir.path,
    bytes: await sampleClip(),
    stopRecording: () => void (currentSeq = null),
    [Symbol.asyncDispose]: () => dir[Symbol.asyncDispose](),
  };
}

Deno.test("GET /api/clips lists clips newest first", async () => {
  await using t = await testApp();
  const response = await t.app.request("/api/clips");
  assert.equal(response.status, 200);
  const { clips } = await response.json();
  assert.deepEqual(clips.map((clip: { id: string }) => clip.id), ["000003", B, A]);
  assert.deepEqual(
    clips.map((clip: Record<string, unknown>) => [clip.locked, clip.recording, clip.codec]),
    [[false, true, null], [true, false, "mjpeg"], [false, false, "mjpeg"]],
  );
  assert.equal(clips[1].file, `locked/${B}.mkv`);
  assert.equal(clips[2].duration, 1);
  assert.equal(clips[2].width, 160);
});

Deno.test("GET /api/clips/:id downloads the whole clip with its type and name", async () => {
  await using t = await testApp();
  const response = await t.app.request(`/api/clips/${A}`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "video/x-matroska");
  assert.equal(response.headers.get("accept-ranges"), "bytes");
  assert.equal(response.headers.get("content-length"), String(t.bytes.length));
  assert.equal(response.headers.get("content-disposition"), `attachment; filename="${A}.mkv"`);
  assert.deepEqual(new Uint8Array(await response.arrayBuffer()), t.bytes);

  const locked = await t.app.request(`/api/clips/${B}?inline=1`);
  assert.equal(locked.headers.get("content-disposition"), `inline; filename="${B}.mkv"`);
  assert.deepEqual(new Uint8Array(await locked.arrayBuffer()), t.bytes);
});

Deno.test("GET /api/clips/:id serves mp4 clips as video/mp4", async () => {
  await using t = await testApp();
  await writeClips(t.dir, "000004_20261130-111927.mp4");
  const response = await t.app.request("/api/clips/000004_20261130-111927");
  assert.equal(response.headers.get("content-type"), "video/mp4");
  await response.body?.cancel();
});

Deno.test("GET /api/clips/:id answers Range requests with 206 and the bytes asked", async () => {
  await using t = await testApp();
  const size = t.bytes.length;
  const cases: [string, number, number][] = [
    ["bytes=0-99", 0, 99],
    ["bytes=-100", size - 100, size - 1],
    ["bytes=100-", 100, size - 1],
    [`bytes=10-${size + 500}`, 10, size - 1], // end past the file: clamped
    [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
    [`bytes=-${size + 10}`, 0, size - 1], // suffix longer than the file: all of it
  ];
  for (const [range, start, end] of cases) {
    const response = await t.app.request(`/api/clips/${A}`, { headers: { range } });
    assert.equal(response.status, 206, range);
    assert.equal(response.headers.get("content-range"), `bytes ${start}-${end}/${size}`, range);
    assert.equal(response.headers.get("content-length"), String(end - start + 1), range);
    assert.equal(response.headers.get("accept-ranges"), "bytes");
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), t.bytes.slice(start, end + 1));
  }
  await waitFor(
    "the clip file to close",
    async () => await openCount(join(t.dir, `${A}.mkv`)) === 0,
  );
});

Deno.test("GET /api/clips/:id is 416 for a range past the end", async () => {
  await using t = await testApp();
  const size = t.bytes.length;
  for (const range of [`bytes=${size}-`, `bytes=${size + 100}-${size + 200}`, "bytes=-0"]) {
    const response = await t.app.request(`/api/clips/${A}`, { headers: { range } });
    assert.equal(response.status, 416, range);
    assert.equal(response.headers.get("content-range"), `bytes */${size}`);
    assert.match((await response.json()).error, /^Range not satisfiable: /);
  }
});

Deno.test("GET /api/clips/:id serves everything for ranges it does not take", async () => {
  await using t = await testApp();
  for (const range of ["bytes=0-10,20-30", "bytes=50-10", "items=0-10", "bytes=abc"]) {
    const response = await t.app.request(`/api/clips/${A}`, { headers: { range } });
    assert.equal(response.status, 200, range);
    assert.equal((await response.arrayBuffer()).byteLength, t.bytes.length);
  }
});

Deno.test("HEAD /api/clips/:id gives the headers without opening a stream", async () => {
  await using t = await testApp();
  const response = await t.app.request(`/api/clips/${A}`, {
    method: "HEAD",
    headers: { range: "bytes=0-9" },
  });
  assert.equal(response.status, 206);
  assert.equal(response.headers.get("content-length"), "10");
  assert.equal(response.body, null);
  assert.equal(await openCount(join(t.dir, `${A}.mkv`)), 0);
});

Deno.test("GET /api/clips/:id over a real socket closes the file when the client aborts", async () => {
  await using t = await testApp();
  // 64 MiB (sparse tail): far more than the socket buffers, so the download is cut mid-way.
  const path = join(t.dir, `${A}.mkv`);
  await Deno.truncate(path, 64 * 1024 ** 2);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, t.app.fetch);
  const controller = new AbortController();
  try {
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/api/clips/${A}`, {
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.deepEqual(first.value!.subarray(0, 4), t.bytes.subarray(0, 4));
    assert.ok(await openCount(path) > 0, "the clip is open while streaming");
    controller.abort();
    await reader.cancel().catch(() => {});
    await waitFor("the clip file to close", async () => await openCount(path) === 0);
  } finally {
    controller.abort(); // a failed assertion must not leave shutdown() waiting for the stream
    await server.shutdown();
  }
});

/** How many of this process's file descriptors are open on `path` (Linux). */
async function openCount(path: string): Promise<number> {
  let count = 0;
  for await (const fd of Deno.readDir("/proc/self/fd")) {
    try {
      if (await Deno.readLink(`/proc/self/fd/${fd.name}`) === path) count++;
    } catch {
      // closed while listing
    }
  }
  return count;
}

Deno.test("parseRange reads single byte ranges", () => {
  assert.deepEqual(parseRange(undefined, 1000), null);
  assert.deepEqual(parseRange("bytes=0-0", 1000), { start: 0, end: 0 });
  assert.deepEqual(parseRange("bytes=-1", 1000), { start: 999, end: 999 });
  assert.deepEqual(parseRange("bytes=0-", 0), "unsatisfiable");
  assert.deepEqual(parseRange("bytes=-5", 0), "unsatisfiable");
  assert.deepEqual(parseRange("bytes=-", 1000), null);
});

Deno.test("DELETE /api/clips/:id deletes unlocked clips only", async () => {
  await using t = await testApp();
  const locked = await t.app.request(`/api/clips/${B}`, { method: "DELETE" });
  assert.equal(locked.status, 409);
  assert.equal((await locked.json()).error, `Clip is locked: ${B} (unlock it first)`);
  const busy = await t.app.request("/api/clips/000003", { method: "DELETE" });
  assert.equal(busy.status, 409);
  assert.equal((await busy.json()).error, "Clip is being recorded: 000003");

  const deleted = await t.app.request(`/api/clips/${A}`, { method: "DELETE" });
  assert.equal(deleted.status, 200);
  assert.deepEqual(await deleted.json(), { id: A, deleted: true });
  const gone = await t.app.request(`/api/clips/${A}`, { method: "DELETE" });
  assert.equal(gone.status, 404);
  assert.deepEqual(await gone.json(), { error: `Clip not found: ${A}` });

  const unlocked = await t.app.request(`/api/clips/${B}/unlock`, { method: "POST" });
  assert.deepEqual(await unlocked.json(), { id: B, locked: false });
  assert.equal((await t.app.request(`/api/clips/${B}`, { method: "DELETE" })).status, 200);
  assert.deepEqual(await filesIn(t.dir), ["000003.recording.mkv", "locked"]);
});

Deno.test("POST /api/clips/:id/lock and /unlock move the clip", async () => {
  await using t = await testApp();
  const locked = await t.app.request(`/api/clips/${A}/lock`, { method: "POST" });
  assert.equal(locked.status, 200);
  assert.deepEqual(await locked.json(), { seq: 1, id: A, state: "locked" });
  assert.deepEqual(await filesIn(join(t.dir, "locked")), [`${A}.mkv`, `${B}.mkv`]);
  const unknown = await t.app.request("/api/clips/000042_20261130-111627/lock", { method: "POST" });
  assert.equal(unknown.status, 404);
  const open = await t.app.request("/api/clips/000003/lock", { method: "POST" });
  assert.deepEqual(await open.json(), { seq: 3, id: "000003", state: "pending" });
});

Deno.test("POST /api/clips/lock-now locks the current clip and its neighbours", async () => {
  await using t = await testApp({ currentSeq: 3 });
  const response = await t.app.request("/api/clips/lock-now", { method: "POST" });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    seq: 3,
    clips: [
      { seq: 2, id: B, state: "locked" },
      { seq: 3, id: "000003", state: "pending" },
      { seq: 4, id: null, state: "pending" },
    ],
  });
  assert.equal(t.store.destinationFor(4), "locked");

  t.stopRecording();
  const idle = await t.app.request("/api/clips/lock-now", { method: "POST" });
  assert.equal(idle.status, 409);
  assert.match((await idle.json()).error, /^Cannot lock now: not recording/);
});

Deno.test("GET /api/clips/:id/thumbnail.jpg is a 320-wide JPEG", async () => {
  await using t = await testApp();
  const response = await t.app.request(`/api/clips/${A}/thumbnail.jpg`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "image/jpeg");
  const jpeg = new Uint8Array(await response.arrayBuffer());
  assert.deepEqual([jpeg[0], jpeg[1]], [0xff, 0xd8]);
  const probe = JSON.parse(new TextDecoder().decode(
    await run(
      ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width", "-of", "json", "-"],
      { stdin: jpeg },
    ),
  ));
  assert.deepEqual(probe.streams[0], { codec_name: "mjpeg", width: 320 });
  const missing = await t.app.request("/api/clips/000042_20261130-111627/thumbnail.jpg");
  assert.equal(missing.status, 404);
});

Deno.test("clip routes refuse traversal, odd ids and symlinks", async () => {
  await using t = await testApp();
  const link = "000005_20261130-111627";
  await Deno.symlink("/etc/passwd", join(t.dir, `${link}.mkv`));
  await Deno.symlink("/etc/passwd", join(t.dir, "locked", "000006_20261130-111627.mkv"));
  await Deno.symlink("/etc", join(t.dir, "000007.recording.mkv"));
  const paths = [
    "/api/clips/..%2F..%2Fetc%2Fpasswd",
    "/api/clips/..%2f..%2fetc%2fpasswd",
    "/api/clips/%2e%2e",
    "/api/clips/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/clips/..",
    "/api/clips//etc/passwd",
    "/api/clips/%2Fetc%2Fpasswd",
    `/api/clips/${A}.mkv/../x`,
    `/api/clips/${A}.mkv%2F..%2Fx`,
    `/api/clips/${A}.mkv`,
    `/api/clips/${A}%00`,
    "/api/clips/000001%00_20261130-111627",
    `/api/clips/${A}%5C..%5C..%5Cetc%5Cpasswd`,
    `/api/clips/..%5C${A}`,
    `/api/clips/locked%2F${B}`,
    `/api/clips/${link}`,
    "/api/clips/000006_20261130-111627",
    "/api/clips/000007",
    `/api/clips/${"1".repeat(5000)}`,
    "/api/clips/%ZZ",
  ];
  for (const path of paths) {
    for (const suffix of ["", "/thumbnail.jpg", "/stream.mjpg", "/frame.jpg?t=0"]) {
      for (const method of ["GET", "DELETE"]) {
        const response = await t.app.request(path + suffix, { method });
        const body = await response.text();
        assert.ok(
          response.status === 400 || response.status === 404,
          `${method} ${path}${suffix}: ${response.status} ${body}`,
        );
        assert.doesNotMatch(body, /root:/);
      }
    }
  }
  const invalid = await t.app.request("/api/clips/..%2F..%2Fetc%2Fpasswd");
  assert.equal(invalid.status, 400);
  assert.deepEqual(await invalid.json(), { error: 'Invalid clip id: "../../etc/passwd"' });
  const link404 = await t.app.request(`/api/clips/${link}`);
  assert.deepEqual(await link404.json(), { error: `Clip not found: ${link}` });
  // Lock and unlock refuse them too, and nothing was moved or deleted.
  for (const action of ["lock", "unlock"]) {
    const response = await t.app.request(`/api/clips/${link}/${action}`, { method: "POST" });
    assert.equal(response.status, 404);
  }
  assert.ok((await Deno.lstat(join(t.dir, `${link}.mkv`))).isSymlink);
  assert.ok((await Deno.lstat("/etc/passwd")).isFile);
  assert.deepEqual(await filesIn(join(t.dir, "locked")), [
    `${B}.mkv`,
    "000006_20261130-111627.mkv",
  ]);
  const { clips } = await (await t.app.request("/api/clips")).json();
  assert.deepEqual(clips.map((clip: { id: string }) => clip.id), ["000003", B, A]);
});

Deno.test("GET /api/clips/:id/stream.mjpg plays an MJPEG clip as multipart MJPEG", async () => {
  await using t = await testApp();
  const response = await t.app.request(`/api/clips/${A}/stream.mjpg`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /^multipart\/x-mixed-replace;boundary=/);
  // The first part arrives: a JPEG, copied out of the clip without transcoding.
  const reader = response.body!.getReader();
  let bytes = new Uint8Array(0);
  while (!bytes.some((b, i) => b === 0xff && bytes[i + 1] === 0xd9)) {
    const { value, done } = await reader.read();
    if (done) break;
    bytes = new Uint8Array([...bytes, ...value]);
  }
  assert.match(new TextDecoder().decode(bytes.subarray(0, 200)), /Content-type: image\/jpeg/i);
  await reader.cancel(); // the ffmpeg behind it is killed
});

Deno.test("GET /api/clips/:id/stream.mjpg refuses H.264 clips and bad ids", async () => {
  await using t = await testApp();
  const mp4 = "000004_20261130-111827";
  await Deno.copyFile(join(t.dir, `${A}.mkv`), join(t.dir, `${mp4}.mp4`));
  const h264 = await t.app.request(`/api/clips/${mp4}/stream.mjpg`);
  assert.equal(h264.status, 409);
  assert.match((await h264.json()).error, /play it with \?inline=1/);
  assert.equal((await t.app.request("/api/clips/..%2F..%2Fetc/stream.mjpg")).status, 400);
});

/** A 3 s clip (30 distinct frames) beside the others: its id and its frames as stored. */
async function longClip(dir: string) {
  const id = "000004_20261130-111927";
  const path = join(dir, `${id}.mkv`);
  await writeLongClip(path, 3);
  return { id, frames: await clipFrames(path) };
}

Deno.test("GET /api/clips/:id/stream.mjpg?t=1 starts 1 s into the clip", async () => {
  await using t = await testApp();
  const { id, frames } = await longClip(t.dir);
  const response = await t.app.request(`/api/clips/${id}/stream.mjpg?t=1`);
  assert.equal(response.status, 200);
  const parts = new PartReader(response.body!);
  const first = frameIndex(frames, (await parts.next())!);
  await parts.cancel();
  assert.ok(Math.abs(first / FPS - 1) <= 1 / FPS, `the first frame is ${first / FPS} s in`);

  const whole = await t.app.request(`/api/clips/${id}/stream.mjpg?t=0`);
  const fromZero = new PartReader(whole.body!);
  assert.equal(frameIndex(frames, (await fromZero.next())!), 0);
  await fromZero.cancel();
});

Deno.test("GET /api/clips/:id/stream.mjpg and /frame.jpg are 400 for a bad or too late t", async () => {
  await using t = await testApp();
  const { id } = await longClip(t.dir);
  for (const route of ["stream.mjpg", "frame.jpg"]) {
    for (const value of ["-1", "abc", "3.5", "1e3", "%20"]) {
      const response = await t.app.request(`/api/clips/${id}/${route}?t=${value}`);
      assert.equal(response.status, 400, `${route}?t=${value}`);
      const body = await response.json();
      assert.equal(body.field, "t");
      assert.match(body.error, /^Invalid start time t: expected seconds from 0 to 3, got "/);
    }
  }
  const late = await t.app.request(`/api/clips/${id}/stream.mjpg?t=3.5`);
  assert.deepEqual(await late.json(), {
    error: 'Invalid start time t: expected seconds from 0 to 3, got "3.5"',
    field: "t",
  });
  assert.equal((await t.app.request(`/api/clips/${id}/frame.jpg?t=x&t=1`)).status, 400);
});

Deno.test("GET /api/clips/:id/frame.jpg is the JPEG at t, copied out of the clip", async () => {
  await using t = await testApp();
  const { id, frames } = await longClip(t.dir);
  const response = await t.app.request(`/api/clips/${id}/frame.jpg?t=2`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "image/jpeg");
  assert.equal(frameIndex(frames, new Uint8Array(await response.arrayBuffer())), 20);
  const mp4 = "000005_20261130-112027";
  await Deno.copyFile(join(t.dir, `${A}.mkv`), join(t.dir, `${mp4}.mp4`));
  assert.equal((await t.app.request(`/api/clips/${mp4}/frame.jpg?t=0`)).status, 409);
  assert.equal((await t.app.request(`/api/clips/000042_20261130-111627/frame.jpg`)).status, 404);
});

Deno.test("GET /api/clips/:id downloads and plays the clip being recorded as written so far", async () => {
  await using dir = await tempOutput("clips_routes_recording_");
  await using growing = startGrowingClip(dir.path, 7, 6);
  const store = await ClipStore.open(dir.path);
  const app = new Hono().route("/api/clips", clipsRoutes({ store, currentSeq: () => 7 }));
  await waitFor("a second on disk", async () => {
    try {
      return (await probeClip(growing.path)).frames >= 10;
    } catch {
      return false;
    }
  }, 15_000);
  const { clips } = await (await app.request("/api/clips")).json();
  assert.deepEqual(
    clips.map((clip: { id: string; recording: boolean }) => [clip.id, clip.recording]),
    [
      ["000007", true],
    ],
  );

  const response = await app.request("/api/clips/000007");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("cache-control"), "no-store");
  assert.equal(
    response.headers.get("content-disposition"),
    'attachment; filename="000007.recording.mkv"',
  );
  const bytes = new Uint8Array(await response.arrayBuffer());
  assert.equal(bytes.length, Number(response.headers.get("content-length")));
  const copy = join(dir.path, "download.mkv");
  await Deno.writeFile(copy, bytes);
  const { frames } = await probeClip(copy);
  assert.ok(frames > 0, `ffprobe reads ${frames} frames of the download`);
  assert.ok(!(await isDone(growing.done)), "downloaded while the clip is being written");

  // And it plays, from its start.
  const stream = await app.request("/api/clips/000007/stream.mjpg");
  assert.equal(stream.status, 200);
  const parts = new PartReader(stream.body!);
  const first = (await parts.next())!;
  await parts.cancel();
  const written = await clipFrames(copy);
  assert.equal(frameIndex(written, first), 0);
});

/** Whether `promise` has settled by now. */
async function isDone(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol();
  return await Promise.race([promise.then(() => true), Promise.resolve(pending)]) !== pending;
}
