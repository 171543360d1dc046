import assert from "node:assert/strict";
import { join } from "node:path";
import { ClipStore } from "../../src/storage/clip_store.ts";
import { formatBytes } from "../../src/storage/byte_size.ts";
import { RetentionGuard, type RetentionStatus } from "../../src/storage/retention_guard.ts";
import { run, waitFor } from "../_helpers.ts";
import { filesIn, sampleClip, tempOutput, writeClips } from "./_clips.ts";

const names = [1, 2, 3, 4].map((seq) => `00000${seq}_20261130-11${seq}000`);

Deno.test("RetentionGuard deletes on each check and reports blocked and cleared", async () => {
  await using dir = await tempOutput("retention_guard_test_");
  await writeClips(dir.path, ...names.map((name) => `${name}.mkv`));
  const store = await ClipStore.open(dir.path);
  const size = (await sampleClip()).length;
  const events: [string, RetentionStatus][] = [];
  const guard = new RetentionGuard(store, {
    limits: { maxBytes: 3 * size },
    reserveBytes: size,
    onBlocked: (plan) => events.push(["blocked", plan]),
    onCleared: (plan) => events.push(["cleared", plan]),
  });
  const first = await guard.check();
  assert.deepEqual(first?.delete, names.slice(0, 2));
  assert.deepEqual(guard.status().deleted, 2);
  assert.equal(guard.status().ok, true);

  // Lock what is left and start a clip: locked, recording and reserve break the cap.
  await store.lock(names[2]);
  await store.lock(names[3]);
  await writeClips(dir.path, "000005.recording.mkv");
  const blocked = await guard.check();
  assert.deepEqual(blocked?.delete, []);
  assert.equal(guard.status().ok, false);
  assert.match(
    guard.status().reason!,
    /^Locked clips and the clip being recorded take .*, leaving less than the .* the next clip needs/,
  );
  await guard.check(); // still blocked: no second event
  assert.deepEqual(events.map(([event]) => event), ["blocked"]);

  await store.unlock(names[2]);
  const cleared = await guard.check();
  assert.deepEqual(cleared?.delete, [names[2]]);
  assert.deepEqual(events.map(([event]) => event), ["blocked", "cleared"]);
  assert.equal(guard.status().deleted, 3);
  assert.deepEqual(await filesIn(dir.path), ["000005.recording.mkv", "locked"]);
});

Deno.test("RetentionGuard checks on its timer and coalesces concurrent checks", async () => {
  await using dir = await tempOutput("retention_guard_test_");
  const store = await ClipStore.open(dir.path);
  const size = (await sampleClip()).length;
  const guard = new RetentionGuard(store, {
    limits: { maxBytes: 2 * size },
    reserveBytes: 0,
    intervalMs: 20,
  });
  guard.start();
  try {
    await writeClips(dir.path, ...names.map((name) => `${name}.mkv`));
    await waitFor("the timer to delete two clips", () => guard.status().deleted === 2);
    const [a, b] = await Promise.all([guard.check(), guard.check()]);
    assert.equal(a, b);
    await guard.stop(); // no write probe in the listing
    assert.deepEqual(await filesIn(dir.path), [`${names[2]}.mkv`, `${names[3]}.mkv`, "locked"]);
  } finally {
    await guard.stop();
  }
});

Deno.test("RetentionGuard blocks while the output folder is missing and clears when it is back", async () => {
  await using dir = await tempOutput("retention_guard_test_");
  const output = join(dir.path, "output");
  const store = await ClipStore.open(output);
  await Deno.remove(output, { recursive: true });
  const events: string[] = [];
  const guard = new RetentionGuard(store, {
    limits: { minFree: { percent: 1 } },
    onBlocked: () => events.push("blocked"),
    onCleared: () => events.push("cleared"),
  });
  assert.equal(await guard.check(), null, "never rejects");
  const missing = guard.status();
  assert.equal(missing.ok, false);
  assert.match(missing.lastError!, /^Cannot read the free space of /);
  assert.equal(missing.reason, missing.lastError, "the status warns with it");

  await Deno.mkdir(join(output, "locked"), { recursive: true });
  assert.ok(await guard.check());
  const back = guard.status();
  assert.deepEqual([back.ok, back.reason, back.lastError], [true, null, null]);
  assert.deepEqual(events, ["blocked", "cleared"]);
});

/** Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN, as on the CI machine). */
async function canMount(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "retention_guard_mount_" });
  try {
    const mounted = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir],
      stderr: "null",
    }).output().catch(() => null);
    if (!mounted?.success) return false;
    await run(["umount", dir]);
    return true;
  } finally {
    await Deno.remove(dir);
  }
}
const mountable = await canMount();

/** An 8 MiB tmpfs (a small card), unmounted and removed on dispose. */
async function smallDisk() {
  const path = await Deno.makeTempDir({ prefix: "retention_guard_disk_" });
  await run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", path]);
  return {
    path,
    async [Symbol.asyncDispose]() {
      await run(["umount", "-l", path]);
      await Deno.remove(path);
    },
  };
}

/** Writes zeros to `path` until the disk is full. */
async function fill(path: string): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024);
  try {
    while (true) await file.write(chunk);
  } catch (error) {
    if (!/No space left/.test(String(error))) throw error;
  }
}

Deno.test({
  name: "RetentionGuard reports a full disk with the numbers the status shows",
  ignore: !mountable,
  async fn() {
    await using disk = await smallDisk();
    const output = join(disk.path, "clips");
    await writeClips(output, `locked/${names[0]}.mkv`, `locked/${names[1]}.mkv`, `${names[2]}.mkv`);
    const store = await ClipStore.open(output);
    const events: string[] = [];
    const guard = new RetentionGuard(store, {
      limits: { minFree: { percent: 5 } },
      onBlocked: () => events.push("blocked"),
      onCleared: () => events.push("cleared"),
    });
    await guard.check();
    assert.equal(guard.status().ok, true);
    assert.equal(guard.status().reason, null);

    // Something else fills the card: deleting the one unlocked clip cannot make room.
    await fill(join(disk.path, "filler"));
    await guard.check();
    const full = guard.status();
    assert.equal(full.ok, false);
    const space = full.space!;
    assert.ok(space.freeBytes < space.floorBytes!, `${space.freeBytes} < ${space.floorBytes}`);
    assert.equal(space.floorBytes, Math.ceil(8 * 1024 * 1024 * 0.05));
    assert.ok(
      full.reason!.startsWith(
        `Free space is ${formatBytes(space.freeBytes)}, under the ` +
          `${formatBytes(space.floorBytes!)} (5% of the disk) free-space floor`,
      ),
      full.reason!,
    );
    assert.deepEqual(await filesIn(output), [`${names[2]}.mkv`, "locked"], "nothing deleted");
    assert.deepEqual(events, ["blocked"]);

    await Deno.remove(join(disk.path, "filler"));
    await guard.check();
    const freed = guard.status();
    assert.deepEqual([freed.ok, freed.reason, freed.lastError], [true, null, null]);
    assert.ok(freed.space!.freeBytes > freed.space!.floorBytes!);
    assert.deepEqual(events, ["blocked", "cleared"]);
  },
});

Deno.test({
  name: "RetentionGuard blocks on a full disk even with no free-space floor",
  ignore: !mountable,
  async fn() {
    await using disk = await smallDisk();
    const store = await ClipStore.open(disk.path);
    const guard = new RetentionGuard(store, { limits: { minFree: { bytes: 0 } } });
    await guard.check();
    assert.equal(guard.status().ok, true);
    await fill(join(disk.path, "filler"));
    await guard.check();
    const full = guard.status();
    assert.equal(full.ok, false);
    assert.match(full.reason!, /^Cannot write to the output folder .*: No space left on device/);
    await Deno.remove(join(disk.path, "filler"));
    await guard.check();
    assert.deepEqual([guard.status().ok, guard.status().lastError], [true, null]);
  },
});

Deno.test({
  name: "RetentionGuard blocks on a read-only card and clears when it is writable again",
  ignore: !mountable,
  async fn() {
    await using disk = await smallDisk();
    const store = await ClipStore.open(disk.path);
    await writeClips(disk.path, `${names[0]}.mkv`);
    const events: string[] = [];
    const guard = new RetentionGuard(store, {
      limits: { minFree: { percent: 5 } },
      onBlocked: () => events.push("blocked"),
      onCleared: () => events.push("cleared"),
    });
    await guard.check();
    assert.equal(guard.status().ok, true);

    // What a card's file system does after an error: statfs still answers, writes fail.
    await run(["mount", "-o", "remount,ro", disk.path]);
    try {
      await guard.check();
      const readOnly = guard.status();
      assert.equal(readOnly.ok, false);
      assert.match(
        readOnly.reason!,
        /^Cannot write to the output folder .*: Read-only file system$/,
      );
      assert.equal(readOnly.lastError, readOnly.reason);
      assert.deepEqual(events, ["blocked"]);
    } finally {
      await run(["mount", "-o", "remount,rw", disk.path]);
    }
    await guard.check();
    const back = guard.status();
    assert.deepEqual([back.ok, back.reason, back.lastError], [true, null, null]);
    assert.deepEqual(events, ["blocked", "cleared"]);
    assert.deepEqual(await filesIn(disk.path), [`${names[0]}.mkv`, "locked"], "no probe left");
  },
});

Deno.test("RetentionGuard checks again soon while blocked", async () => {
  await using dir = await tempOutput("retention_guard_test_");
  const output = join(dir.path, "output");
  const store = await ClipStore.open(output);
  await Deno.remove(output, { recursive: true });
  const guard = new RetentionGuard(store, {
    limits: {},
    intervalMs: 60_000,
    blockedIntervalMs: 20,
  });
  guard.start();
  try {
    await waitFor("the first check", () => guard.status().lastCheckAt !== null);
    assert.equal(guard.status().ok, false);
    await Deno.mkdir(join(output, "locked"), { recursive: true });
    await waitFor("a check on the blocked timer", () => guard.status().ok);
  } finally {
    await guard.stop();
  }
});

Deno.test("RetentionGuard neither deletes nor probes after stop, when the last clip closes", async () => {
  await using dir = await tempOutput("retention_guard_test_");
  const store = await ClipStore.open(dir.path);
  const size = (await sampleClip()).length;
  const guard = new RetentionGuard(store, { limits: { maxBytes: 2 * size }, reserveBytes: 0 });
  guard.start();
  await guard.check();
  const checkedAt = guard.status().lastCheckAt;
  await guard.stop();
  // The recorder stops after the guard: its last clip's save asks for a check.
  await writeClips(dir.path, ...names.map((name) => `${name}.mkv`));
  const plan = await guard.check();
  assert.deepEqual(plan?.delete, []);
  assert.equal(guard.status().lastCheckAt, checkedAt, "no check ran");
  assert.deepEqual(await filesIn(dir.path), [...names.map((name) => `${name}.mkv`), "locked"]);
  // Started again (settings applied): it checks and deletes as before.
  guard.start();
  await guard.check();
  assert.deepEqual(await filesIn(dir.path), [
    ...names.slice(2).map((name) => `${name}.mkv`),
    "locked",
  ]);
  await guard.stop();
});
