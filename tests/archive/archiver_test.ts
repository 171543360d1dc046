/**
 * The archiver against real servers: Debian's rclone serving SFTP and WebDAV on 127.0.0.1,
 * real clip files in a temp dir, real rclone uploads, kills and a full disk (a tmpfs).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARCHIVE_STATE_FILE } from "../../src/archive/archive_state.ts";
import {
  Archiver,
  type ArchiverOptions,
  type ArchiveTransfer,
} from "../../src/archive/archiver.ts";
import { clipFileName, recordingFileName } from "../../src/storage/clip_name.ts";
import { ClipStore } from "../../src/storage/clip_store.ts";
import { waitFor } from "../_helpers.ts";
import { RcloneServer } from "./_rclone_server.ts";

/** Random bytes: a clip's content, so a swapped or truncated byte is seen. */
function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

interface ClipSpec {
  seq: number;
  size: number;
  locked?: boolean;
}

/** A card: an output folder with closed clips (some locked) and one being written. */
async function card(clips: ClipSpec[]) {
  const dir = await Deno.makeTempDir({ prefix: "archiver_test_" });
  const output = join(dir, "card");
  await Deno.mkdir(join(output, "locked"), { recursive: true });
  const bytes = new Map<string, Uint8Array>();
  const ids = new Map<number, string>();
  const start = Date.UTC(2026, 11, 2, 8, 0, 0);
  for (const clip of clips) {
    const name = clipFileName(clip.seq, start + clip.seq * 60_000, "mkv", "UTC");
    const data = randomBytes(clip.size);
    await Deno.writeFile(join(output, clip.locked ? "locked" : "", name), data);
    bytes.set(name, data);
    ids.set(clip.seq, name.slice(0, -4));
  }
  const recording = recordingFileName(Math.max(...clips.map((c) => c.seq)) + 1);
  await Deno.writeFile(join(output, recording), randomBytes(50_000));
  const store = await ClipStore.open(output);
  return {
    dir,
    output,
    store,
    bytes,
    ids,
    recording,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Short waits, so retries happen within a test. */
const QUICK: Partial<ArchiverOptions> = {
  folder: "car1",
  intervalMs: 500,
  backoff: { initialMs: 300, maxMs: 1_500 },
  connectTimeoutS: 5,
};

async function archiver(store: ClipStore, options: Partial<ArchiverOptions> & { remote: string }) {
  const archived: string[] = [];
  const instance = await Archiver.create(store, {
    ...QUICK,
    ...options,
    onArchived: (id) => archived.push(id),
  });
  instance.start();
  return {
    archiver: instance,
    archived,
    async [Symbol.asyncDispose]() {
      await instance.stop();
    },
  };
}

function assertSameBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string) {
  assert.ok(actual, `${what} is on the server`);
  assert.equal(actual.length, expected.length, `${what}: size`);
  assert.ok(actual.every((byte, i) => byte === expected[i]), `${what}: every byte`);
}

Deno.test("Archiver uploads locked clips newest first over SFTP, byte for byte, and remembers them after a restart", async () => {
  await using c = await card([
    { seq: 1, size: 300_000, locked: true },
    { seq: 2, size: 200_000 },
    { seq: 3, size: 250_000, locked: true },
    { seq: 4, size: 100_000 },
  ]);
  await using server = await RcloneServer.start("sftp", join(c.dir, "nas"));
  const remote = await server.remote("dashcam");
  {
    await using a = await archiver(c.store, { remote });
    await waitFor("both locked clips archived", () => a.archiver.status().archived === 2, 60_000);
    assert.deepEqual(a.archived, [c.ids.get(3), c.ids.get(1)], "newest locked clip first");
    const status = a.archiver.status();
    assert.equal(status.lastArchived?.verified, "md5", "rclone serve sftp has md5sum");
    assert.equal(status.reachable, true);
    await waitFor("the queue to be empty", () => a.archiver.status().queue === 0);
    // The secret is masked, the rest of the target kept.
    const obscured = await server.obscuredPass();
    assert.ok(!status.remote.includes(obscured.slice(0, 8)), status.remote);
    assert.match(status.remote, /^:sftp,host=127\.0\.0\.1,.*pass='\*\*\*'.*:dashcam\/car1$/);
  }
  const files = await server.files("dashcam/car1");
  assert.deepEqual([...files.keys()].sort(), [c.ids.get(1), c.ids.get(3)].map((id) => `${id}.mkv`));
  for (const [name, data] of files) assertSameBytes(data, c.bytes.get(name)!, name);
  // Nothing deleted on the card (keep), the clip being written never uploaded.
  for (const name of c.bytes.keys()) {
    const where = (await Deno.stat(join(c.output, "locked", name)).catch(() => null)) ??
      (await Deno.stat(join(c.output, name)));
    assert.ok(where.isFile);
  }
  assert.ok(!files.has(c.recording));
  const state = JSON.parse(await Deno.readTextFile(join(c.output, ARCHIVE_STATE_FILE)));
  assert.ok(!JSON.stringify(state).includes("127.0.0.1"), "the state holds no remote");

  // A restart (a new archiver over the same card) knows what is archived: with "all" it
  // uploads only the two unlocked clips, newest first.
  await using b = await archiver(await ClipStore.open(c.output), { remote, clips: "all" });
  assert.ok(b.archiver.isArchived(c.ids.get(3)!));
  await waitFor("all four archived", () => b.archiver.status().archived === 4, 60_000);
  assert.deepEqual(b.archived, [c.ids.get(4), c.ids.get(2)]);
  const all = await server.files("dashcam/car1");
  assert.equal(all.size, 4);
  for (const [name, data] of all) assertSameBytes(data, c.bytes.get(name)!, name);
});

Deno.test("Archiver over WebDAV with a named remote verifies by size and, with delete, keeps locked clips", async () => {
  await using c = await card([
    { seq: 7, size: 120_000 },
    { seq: 8, size: 130_000, locked: true },
    { seq: 9, size: 140_000 },
  ]);
  await using server = await RcloneServer.start("webdav", join(c.dir, "dav"));
  const config = join(c.dir, "rclone.conf");
  await Deno.writeTextFile(
    config,
    `[nas]\ntype = webdav\nurl = http://127.0.0.1:${server.port}\nuser = u\npass = ${await server
      .obscuredPass()}\n`,
  );
  await using a = await archiver(c.store, {
    remote: "nas:fleet",
    folder: "van-2",
    clips: "all",
    after: "delete",
    rcloneConfig: config,
  });
  await waitFor("three clips archived", () => a.archiver.status().archived === 3, 60_000);
  assert.deepEqual(a.archived, [8, 9, 7].map((seq) => c.ids.get(seq)));
  assert.equal(a.archiver.status().lastArchived?.verified, "size", "WebDAV here has no hash");
  const files = await server.files("fleet/van-2");
  assert.equal(files.size, 3);
  for (const [name, data] of files) assertSameBytes(data, c.bytes.get(name)!, name);
  await waitFor("the unlocked archived clips deleted", async () => {
    const left = (await c.store.list()).filter((clip) => !clip.recording);
    return left.length === 1 && left[0].id === c.ids.get(8) && left[0].locked;
  });
  assert.equal(a.archiver.status().deleted, 2);
});

Deno.test("Archiver counts no half-file as archived when rclone or the server is killed mid-transfer", async () => {
  await using c = await card([{ seq: 1, size: 900_000, locked: true }]);
  await using server = await RcloneServer.start("sftp", join(c.dir, "nas"));
  const id = c.ids.get(1)!;
  const name = `${id}.mkv`;
  // 100 KiB/s: about nine seconds of transfer to interrupt.
  await using a = await archiver(c.store, { remote: await server.remote(), bwlimit: "100k" });
  const midTransfer = (): ArchiveTransfer | null => {
    const current = a.archiver.status().current;
    const under = current?.phase === "uploading" && current.bytes > 100_000 &&
      current.pid !== null;
    return under ? current : null;
  };

  const first = await waitFor("a transfer under way", midTransfer, 30_000);
  assert.equal(first.total, 900_000);
  assert.ok(first.rate > 0);
  Deno.kill(first.pid!, "SIGKILL");
  await waitFor("the kill reported", () => /SIGKILL/.test(a.archiver.status().lastError ?? ""));
  assert.equal(a.archiver.isArchived(id), false);
  const half = (await server.files("car1")).get(name);
  assert.ok(!half || half.length < 900_000, "the server holds at most part of the clip");

  // Retried after the backoff; then the server goes away mid-transfer.
  const second = await waitFor("the retry under way", () => {
    const current = midTransfer();
    return current?.pid !== first.pid ? current : null;
  }, 30_000);
  const before = a.archiver.status().lastErrorAt;
  await server.kill();
  await waitFor("the lost server reported", () => a.archiver.status().lastErrorAt !== before);
  await waitFor(
    "the remote seen unreachable",
    () => a.archiver.status().reachable === false,
    30_000,
  );
  assert.match(a.archiver.status().lastError!, /^Cannot reach the archive remote: /);
  assert.notEqual(second.pid, null);
  assert.equal(a.archiver.isArchived(id), false);
  const partial = (await server.files("car1")).get(name);
  assert.ok(!partial || partial.length < 900_000);
  assert.ok((await Deno.stat(join(c.output, "locked", name))).size === 900_000, "kept locally");

  await server.restart();
  await waitFor("archived once the server is back", () => a.archiver.isArchived(id), 90_000);
  assertSameBytes((await server.files("car1")).get(name), c.bytes.get(name)!, name);
  assert.equal(a.archiver.status().reachable, true);
});

/** Whether this process may mount a tmpfs (root, or a user namespace that allows it). */
async function canMount(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "archiver_mount_" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => null);
  if (mount?.success) {
    await new Deno.Command("umount", { args: [dir] }).output();
  }
  await Deno.remove(dir);
  return mount?.success ?? false;
}

Deno.test({
  name:
    "Archiver retries when the remote's disk is full, deletes nothing, and finishes once there is room",
  // The full disk is a real one: a 1 MiB tmpfs under the server's folder (needs root).
  ignore: !(await canMount()),
  fn: async () => {
    await using c = await card([
      { seq: 1, size: 1_500_000, locked: true },
      { seq: 2, size: 400_000, locked: true },
    ]);
    const disk = join(c.dir, "nas");
    await Deno.mkdir(disk);
    const mount = (options: string[]) =>
      new Deno.Command("mount", { args: options, stdout: "null", stderr: "piped" }).output();
    assert.ok((await mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs", disk])).success);
    try {
      await using server = await RcloneServer.start("sftp", disk);
      await using a = await archiver(c.store, {
        remote: await server.remote(),
        after: "delete",
      });
      // The newest (seq 2, 400 kB) fits; seq 1 (1.5 MB) does not.
      await waitFor("seq 2 archived", () => a.archiver.isArchived(c.ids.get(2)!), 60_000);
      await waitFor(
        "the full disk reported",
        () => a.archiver.status().lastError !== null && a.archiver.status().queue === 1,
        60_000,
      );
      assert.match(a.archiver.status().lastError!, /no space left on device/);
      assert.equal(a.archiver.isArchived(c.ids.get(1)!), false);
      const name = `${c.ids.get(1)}.mkv`;
      assert.equal((await Deno.stat(join(c.output, "locked", name))).size, 1_500_000);
      // More room on the server: the retry succeeds.
      assert.ok((await mount(["-o", "remount,size=8m", disk])).success);
      await waitFor("seq 1 archived", () => a.archiver.isArchived(c.ids.get(1)!), 90_000);
      assertSameBytes((await server.files("car1")).get(name), c.bytes.get(name)!, name);
      // Locked clips stay on the card even with after: delete.
      assert.equal((await Deno.stat(join(c.output, "locked", name))).size, 1_500_000);
    } finally {
      await new Deno.Command("umount", { args: ["-l", disk] }).output();
    }
  },
});

Deno.test("Archiver refuses bad settings with a sentence", async () => {
  await using c = await card([{ seq: 1, size: 10 }]);
  await assert.rejects(
    () => Archiver.create(c.store, { remote: "nas" }),
    /^RangeError: Invalid archive remote "nas"/,
  );
  await assert.rejects(
    () => Archiver.create(c.store, { remote: "nas:", folder: "../x" }),
    /Invalid archive folder/,
  );
  await assert.rejects(
    () => Archiver.create(c.store, { remote: "nas:", bwlimit: "fast" }),
    /Invalid archive bandwidth limit/,
  );
  await assert.rejects(
    () => Archiver.create(c.store, { remote: "nas:", clips: "some" as "all" }),
    /Invalid archive clips "some": expected locked or all/,
  );
});

Deno.test("Archiver with no rclone says so and keeps the clips", async () => {
  await using c = await card([{ seq: 1, size: 1000, locked: true }]);
  await using a = await archiver(c.store, { remote: "nas:x", rclone: "/nonexistent/rclone" });
  await waitFor("the error", () => a.archiver.status().lastError);
  assert.match(a.archiver.status().lastError!, /Cannot run rclone: .*No such file or directory/);
  assert.equal(a.archiver.status().reachable, false);
  assert.equal(a.archiver.status().archived, 0);
});
