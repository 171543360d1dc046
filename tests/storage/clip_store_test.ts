import assert from "node:assert/strict";
import { basename, join } from "node:path";
import {
  ClipBusyError,
  ClipLockedError,
  ClipNotFoundError,
  ClipStore,
  isClipId,
} from "../../src/storage/clip_store.ts";
import { diskSpace } from "../../src/storage/disk_space.ts";
import { run } from "../_helpers.ts";
import { filesIn, sampleClip, tempOutput, writeClips } from "./_clips.ts";

const A = "000001_20261130-111627";
const B = "000002_20261130-111727";
const C = "000003_20261130-111827";

Deno.test("ClipStore.list gives clips newest first, probed, with the open one unprobed", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, `${A}.mkv`, `locked/${B}.mkv`, "000003.recording.mkv");
  await Deno.writeTextFile(join(dir.path, "notes.txt"), "not a clip");
  const store = await ClipStore.open(dir.path);
  const clips = await store.list();
  assert.deepEqual(clips.map((clip) => clip.id), ["000003", B, A]);
  const size = (await sampleClip()).length;

  const [open, locked, closed] = clips;
  assert.deepEqual(
    { ...open, start: 0, duration: 0 },
    {
      id: "000003",
      seq: 3,
      file: "000003.recording.mkv",
      start: 0,
      duration: 0,
      size,
      codec: null,
      width: null,
      height: null,
      locked: false,
      recording: true,
    },
  );
  assert.ok(Math.abs(open.start - Date.now()) < 60_000, `open clip start ${open.start}`);
  assert.ok(open.duration !== null && open.duration >= 0 && open.duration < 60);

  assert.deepEqual(locked, {
    id: B,
    seq: 2,
    file: `locked/${B}.mkv`,
    start: new Date(2026, 10, 30, 11, 17, 27).getTime(),
    duration: 1,
    size,
    codec: "mjpeg",
    width: 160,
    height: 120,
    locked: true,
    recording: false,
  });
  assert.equal(closed.file, `${A}.mkv`);
  assert.equal(closed.locked, false);
  assert.equal(closed.start, new Date(2026, 10, 30, 11, 16, 27).getTime());
});

Deno.test("ClipStore.list runs ffprobe once per clip until the file changes", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, `${A}.mkv`, `${B}.mkv`);
  // A real ffprobe behind a wrapper that counts its runs.
  const count = join(dir.path, "probes.log");
  const wrapper = join(dir.path, "ffprobe-counting");
  await Deno.writeTextFile(wrapper, `#!/bin/sh\necho x >> '${count}'\nexec ffprobe "$@"\n`);
  await Deno.chmod(wrapper, 0o755);
  const runs = async () => (await Deno.readTextFile(count)).trim().split("\n").length;

  const store = await ClipStore.open(dir.path, { ffprobe: wrapper });
  await store.list();
  assert.equal(await runs(), 2);
  const again = await store.list();
  assert.equal(await runs(), 2);
  assert.equal(again[0].codec, "mjpeg");

  // Locking moves the file but keeps its name, size and mtime: still cached.
  await store.lock(A);
  await store.list();
  assert.equal(await runs(), 2);

  await Deno.writeFile(join(dir.path, `${B}.mkv`), await sampleClip(), { append: true });
  await store.list();
  assert.equal(await runs(), 3);

  // A restart reads the results from .thumbs/probes.json instead of probing again.
  const reopened = await ClipStore.open(dir.path, { ffprobe: wrapper });
  const clips = await reopened.list();
  assert.equal(await runs(), 3);
  assert.deepEqual(clips.map((clip) => [clip.duration, clip.codec, clip.width, clip.height]), [
    [1, "mjpeg", 160, 120],
    [1, "mjpeg", 160, 120],
  ]);
});

Deno.test("ClipStore.list reports unknowns when ffprobe cannot run", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, `${A}.mkv`);
  const store = await ClipStore.open(dir.path, { ffprobe: "/nonexistent/ffprobe" });
  const [clip] = await store.list();
  assert.deepEqual([clip.id, clip.duration, clip.codec, clip.width], [A, null, null, null]);
});

Deno.test("ClipStore.resolve finds clips by id only, never symlinks or paths", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, `${A}.mkv`, `locked/${B}.mkv`, "000004.recording.mkv");
  await Deno.symlink("/etc/passwd", join(dir.path, `${C}.mkv`));
  const store = await ClipStore.open(dir.path);

  assert.equal(await store.resolve(A), join(dir.path, `${A}.mkv`));
  assert.equal(await store.resolve(B), join(dir.path, "locked", `${B}.mkv`));
  assert.equal(await store.resolve("000004"), join(dir.path, "000004.recording.mkv"));

  await assert.rejects(store.resolve(C), ClipNotFoundError);
  assert.ok(!(await store.list()).some((clip) => clip.id === C), "symlink listed");
  await assert.rejects(
    store.resolve("000099_20261130-111627"),
    /^ClipNotFoundError: Clip not found: 000099_20261130-111627$/,
  );
  for (
    const id of [
      `${A}.mkv`,
      "../../etc/passwd",
      "/etc/passwd",
      "..",
      "",
      "000001/../x",
      "000001\0",
      "000001\\x",
      "000004.recording",
      "12345",
    ]
  ) {
    assert.equal(isClipId(id), false, id);
    await assert.rejects(store.resolve(id), TypeError, id);
  }
});

Deno.test("ClipStore.lock moves a clip to locked/, and the lock survives a restart", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, `${A}.mkv`, `${B}.mkv`);
  const store = await ClipStore.open(dir.path);
  assert.deepEqual(await store.lock(A), { seq: 1, id: A, state: "locked" });
  assert.deepEqual(await store.lock(A), { seq: 1, id: A, state: "locked" }); // idempotent
  assert.deepEqual(await filesIn(join(dir.path, "locked")), [`${A}.mkv`]);
  assert.deepEqual(await filesIn(dir.path), [`${B}.mkv`, "locked"]);

  const reopened = await ClipStore.open(dir.path);
  const clips = await reopened.list();
  assert.deepEqual(clips.map((clip) => [clip.id, clip.locked]), [[B, false], [A, true]]);

  await reopened.unlock(A);
  assert.deepEqual(await filesIn(join(dir.path, "locked")), []);
  assert.deepEqual(await filesIn(dir.path), [".thumbs", `${A}.mkv`, `${B}.mkv`, "locked"]);
  await assert.rejects(reopened.lock("000009_20261130-111627"), ClipNotFoundError);
});

Deno.test("ClipStore locks the clip being written when it closes, even after a restart", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, `${A}.mkv`, "000002.recording.mkv");
  const store = await ClipStore.open(dir.path);
  assert.deepEqual(await store.lock("000002"), { seq: 2, id: "000002", state: "pending" });
  const pending = JSON.parse(await Deno.readTextFile(join(dir.path, "locked", "pending.json")));
  assert.deepEqual(pending.pending.map((item: { seq: number }) => item.seq), [2]);
  assert.equal((await store.list())[0].locked, true);
  await assert.rejects(store.delete("000002"), ClipBusyError);

  // Power cut: a new process opens the store; the recorder renames the leftover clip.
  const reopened = await ClipStore.open(dir.path, { pendingExpiryMs: 0 });
  assert.equal(reopened.destinationFor(2), "locked");
  assert.equal(reopened.destinationFor(1), "");
  await Deno.rename(join(dir.path, "000002.recording.mkv"), join(dir.path, "locked", `${B}.mkv`));
  await reopened.settled(2);
  assert.equal(reopened.destinationFor(2), "");
  assert.deepEqual(await filesIn(join(dir.path, "locked")), [`${B}.mkv`]);
  const clips = await reopened.list();
  assert.deepEqual(clips.map((clip) => [clip.id, clip.locked]), [[B, true], [A, false]]);
});

Deno.test("ClipStore.open removes the temporaries a crash left mid-write, and nothing else", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, `${A}.mkv`, "000002.recording.mkv");
  const store = await ClipStore.open(dir.path);
  await store.lock("000002");
  await store.list(); // writes .thumbs/probes.json
  await store.thumbnail(A);
  // What a power cut leaves when it stops writeFileAtomic (or a cache write) half-way: the
  // whole old file beside a hidden, cut-off `.<name>.<uuid>.tmp`.
  const locked = join(dir.path, "locked");
  const thumbs = join(dir.path, ".thumbs");
  const uuid = () => crypto.randomUUID();
  const stale = [
    join(locked, `.pending.json.${uuid()}.tmp`),
    join(thumbs, `.probes.json.${uuid()}.tmp`),
    join(thumbs, `.${A}.jpg.${uuid()}.tmp`),
  ];
  for (const path of stale) await Deno.writeTextFile(path, '{"pending": [{"se');
  // Not ours: a user's files, even ones named alike.
  const foreign = [join(locked, `.notes.txt.${uuid()}.tmp`), join(dir.path, `.x.${uuid()}.tmp`)];
  for (const path of foreign) await Deno.writeTextFile(path, "keep");

  const reopened = await ClipStore.open(dir.path);
  assert.deepEqual(await filesIn(locked), [basename(foreign[0]), "pending.json"]);
  assert.deepEqual(await filesIn(thumbs), [`${A}.jpg`, "probes.json"]);
  assert.ok(await filesIn(dir.path).then((names) => names.includes(basename(foreign[1]))));
  assert.equal(reopened.destinationFor(2), "locked");
  assert.equal((await reopened.list()).find((clip) => clip.id === A)?.codec, "mjpeg");
});

Deno.test("ClipStore.settled moves a clip the recorder renamed beside the others", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, "000002.recording.mkv");
  const store = await ClipStore.open(dir.path);
  await store.lock("000002");
  // A recorder that does not ask destinationFor(): the clip lands in the output folder.
  await Deno.rename(join(dir.path, "000002.recording.mkv"), join(dir.path, `${B}.mkv`));
  await assert.rejects(store.delete(B), ClipLockedError); // already counts as locked
  await store.settled(2);
  assert.deepEqual(await filesIn(join(dir.path, "locked")), [`${B}.mkv`]);
  await store.settled(2); // nothing pending: no-op
});

Deno.test("ClipStore.lockEvent locks the clips before, during and after, across a boundary", async () => {
  await using dir = await tempOutput("clip_store_test_");
  // Clip 3 just closed in ffmpeg but the recorder has not renamed it yet; 4 is being written.
  await writeClips(
    dir.path,
    `${A}.mkv`,
    `${B}.mkv`,
    "000003.recording.mkv",
    "000004.recording.mkv",
  );
  const store = await ClipStore.open(dir.path);
  const results = await store.lockEvent(4);
  assert.deepEqual(results, [
    { seq: 3, id: "000003", state: "pending" },
    { seq: 4, id: "000004", state: "pending" },
    { seq: 5, id: null, state: "pending" },
  ]);
  assert.deepEqual(await filesIn(join(dir.path, "locked")), ["pending.json"]);

  // The recorder saves clip 3 where destinationFor says, then clip 4, then 5 starts and
  // closes, then 6.
  const save = async (seq: number, name: string) => {
    const to = store.destinationFor(seq);
    await Deno.rename(join(dir.path, `00000${seq}.recording.mkv`), join(dir.path, to, name));
    await store.settled(seq);
  };
  await save(3, `${C}.mkv`);
  await save(4, "000004_20261130-111927.mkv");
  await writeClips(dir.path, "000005.recording.mkv");
  await save(5, "000005_20261130-112027.mkv");
  await writeClips(dir.path, "000006.recording.mkv");
  await save(6, "000006_20261130-112127.mkv");

  assert.deepEqual(await filesIn(join(dir.path, "locked")), [
    `${C}.mkv`,
    "000004_20261130-111927.mkv",
    "000005_20261130-112027.mkv",
  ]);
  assert.deepEqual(await filesIn(dir.path), [
    `${A}.mkv`,
    `${B}.mkv`,
    "000006_20261130-112127.mkv",
    "locked",
  ]);
});

Deno.test("ClipStore.lockEvent moves closed clips now and skips missing ones", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, `${B}.mkv`, "000003.recording.mkv");
  const store = await ClipStore.open(dir.path);
  assert.deepEqual(await store.lockEvent(3), [
    { seq: 2, id: B, state: "locked" },
    { seq: 3, id: "000003", state: "pending" },
    { seq: 4, id: null, state: "pending" },
  ]);
  assert.deepEqual((await store.lockEvent(0)).map((result) => result.seq), [0, 1]);
  assert.deepEqual(await store.lockEvent(2), [
    { seq: 1, id: null, state: "missing" }, // deleted long ago: nothing to lock
    { seq: 2, id: B, state: "locked" },
    { seq: 3, id: "000003", state: "pending" },
  ]);
});

Deno.test("ClipStore drops a pending lock for a clip that never started, once expired", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, "000003.recording.mkv");
  const store = await ClipStore.open(dir.path);
  await store.lockEvent(3);
  assert.equal(store.destinationFor(4), "locked");

  const soon = await ClipStore.open(dir.path);
  assert.equal(soon.destinationFor(4), "locked", "kept within the expiry");
  const later = await ClipStore.open(dir.path, { pendingExpiryMs: 0 });
  assert.equal(later.destinationFor(4), "", "clip 4 never started");
  assert.equal(later.destinationFor(3), "locked", "clip 3 exists: kept");
});

Deno.test("ClipStore.unlock drops a pending lock", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, "000003.recording.mkv");
  const store = await ClipStore.open(dir.path);
  await store.lock("000003");
  await store.unlock("000003");
  assert.equal(store.destinationFor(3), "");
  assert.deepEqual(await filesIn(join(dir.path, "locked")), []);
});

Deno.test("ClipStore.delete removes unlocked clips and refuses locked and open ones", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, `${A}.mkv`, `locked/${B}.mkv`, "000003.recording.mkv");
  const store = await ClipStore.open(dir.path);
  await store.thumbnail(A);
  assert.deepEqual(await filesIn(join(dir.path, ".thumbs")), [`${A}.jpg`]);

  await assert.rejects(
    store.delete(B),
    /^ClipLockedError: Clip is locked: 000002_20261130-111727 \(unlock it first\)$/,
  );
  await assert.rejects(store.delete("000003"), /^ClipBusyError: Clip is being recorded: 000003$/);
  await store.delete(A);
  assert.deepEqual(await filesIn(dir.path), [".thumbs", "000003.recording.mkv", "locked"]);
  assert.deepEqual(await filesIn(join(dir.path, ".thumbs")), []);
  await assert.rejects(store.delete(A), ClipNotFoundError);

  await store.unlock(B);
  await store.delete(B);
  assert.deepEqual(await filesIn(join(dir.path, "locked")), []);
});

Deno.test("ClipStore.thumbnail is a cached 320-wide JPEG of the first frame", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, `${A}.mkv`);
  const store = await ClipStore.open(dir.path);
  const [jpeg, same] = await Promise.all([store.thumbnail(A), store.thumbnail(A)]);
  assert.deepEqual([jpeg[0], jpeg[1]], [0xff, 0xd8]);
  assert.deepEqual(same, jpeg);
  const cached = join(dir.path, ".thumbs", `${A}.jpg`);
  assert.deepEqual(await Deno.readFile(cached), jpeg);
  const probe = JSON.parse(new TextDecoder().decode(
    await run([
      "ffprobe",
      "-v",
      "error",
      "-show_entries",
      "stream=width,height",
      "-of",
      "json",
      cached,
    ]),
  ));
  assert.deepEqual(probe.streams[0], { width: 320, height: 240 });

  // Served from the cache: a marker written there comes back.
  await Deno.writeFile(cached, new Uint8Array([0xff, 0xd8, 1, 2]));
  assert.deepEqual(await store.thumbnail(A), new Uint8Array([0xff, 0xd8, 1, 2]));
});

Deno.test("ClipStore.thumbnail of a clip with no frame yet is ClipBusyError", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await Deno.writeFile(join(dir.path, "000001.recording.mkv"), new Uint8Array());
  const store = await ClipStore.open(dir.path);
  await assert.rejects(store.thumbnail("000001"), /^ClipBusyError: Clip has no frame yet: 000001$/);
  assert.deepEqual(await filesIn(join(dir.path, ".thumbs")), []);
});

Deno.test("ClipStore.enforce deletes the oldest unlocked clips on a real disk", async () => {
  await using dir = await tempOutput("clip_store_test_");
  const names = [1, 2, 3, 4, 5, 6].map((seq) => `00000${seq}_20261130-11${seq}000.mkv`);
  await writeClips(dir.path, ...names, "000007.recording.mkv");
  const store = await ClipStore.open(dir.path);
  await store.lock(names[0].slice(0, -4));
  const size = (await sampleClip()).length;

  // Cap: 7 clips' worth is stored; room for 5 including a one-clip reserve → delete 3.
  const capped = await store.enforce({ maxBytes: 5 * size }, { reserveBytes: size });
  assert.equal(capped.ok, true);
  assert.deepEqual(capped.delete, names.slice(1, 4).map((name) => name.slice(0, -4)));
  assert.equal(capped.usedBytes, 7 * size);
  assert.equal(capped.keptBytes, 4 * size);
  assert.deepEqual(await filesIn(dir.path), [
    ...names.slice(4),
    "000007.recording.mkv",
    "locked",
  ]);

  // Within limits now: nothing more goes. The default reserve is the newest closed clip's size.
  const calm = await store.enforce({ maxBytes: 5 * size });
  assert.deepEqual([calm.ok, calm.delete], [true, []]);
});

Deno.test("ClipStore.enforce keeps a free-space floor measured with statfs", async () => {
  await using dir = await tempOutput("clip_store_test_");
  // Big clips (sparse tails) so other processes' writes cannot tip the balance.
  const size = 64 * 1024 ** 2;
  const names = [1, 2, 3, 4].map((seq) => `00000${seq}_20261130-11${seq}000.mkv`);
  await writeClips(dir.path, ...names);
  for (const name of names) await Deno.truncate(join(dir.path, name), size);
  const store = await ClipStore.open(dir.path);

  // A floor 1.5 clips above today's free space: two clips must go.
  const { totalBytes, freeBytes } = await diskSpace(dir.path);
  const bytes = await store.enforce({ minFree: { bytes: freeBytes + 1.5 * size } }, {
    reserveBytes: 0,
  });
  assert.equal(bytes.ok, true, bytes.reason);
  assert.deepEqual(bytes.delete, names.slice(0, 2).map((name) => name.slice(0, -4)));
  assert.deepEqual(await filesIn(dir.path), [...names.slice(2), "locked"]);

  // The same as a percentage of the disk: one more clip above today's free space.
  const now = await diskSpace(dir.path);
  const percent = (now.freeBytes + 0.5 * size) / totalBytes * 100;
  const share = await store.enforce({ minFree: { percent } }, { reserveBytes: 0 });
  assert.equal(share.ok, true, share.reason);
  assert.deepEqual(share.delete, [names[2].slice(0, -4)]);
});

Deno.test("ClipStore.enforce deletes nothing and says why when locked clips fill the cap", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await writeClips(dir.path, `locked/${A}.mkv`, `locked/${B}.mkv`, `${C}.mkv`);
  const store = await ClipStore.open(dir.path);
  const size = (await sampleClip()).length;
  const plan = await store.enforce({ maxBytes: size + 10 }, { reserveBytes: 0 });
  assert.equal(plan.ok, false);
  assert.deepEqual(plan.delete, []);
  assert.match(plan.reason!, /^Locked clips alone take .* over the .* storage limit$/);
  assert.deepEqual(await filesIn(dir.path), [`${C}.mkv`, "locked"]);
});

Deno.test("ClipStore.open refuses a locked/ that is a symlink", async () => {
  await using dir = await tempOutput("clip_store_test_");
  await Deno.symlink("/etc", join(dir.path, "locked"));
  await assert.rejects(
    ClipStore.open(dir.path),
    /^Error: Cannot use .*locked: it is not a directory/,
  );
});
