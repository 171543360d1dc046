import assert from "node:assert/strict";
import { join } from "node:path";
import { ClipStore } from "../../src/storage/clip_store.ts";
import { RetentionGuard } from "../../src/storage/retention_guard.ts";
import type { RetentionPlan } from "../../src/storage/retention_policy.ts";
import { waitFor } from "../_helpers.ts";
import { filesIn, sampleClip, tempOutput, writeClips } from "./_clips.ts";

const names = [1, 2, 3, 4].map((seq) => `00000${seq}_20261130-11${seq}000`);

Deno.test("RetentionGuard deletes on each check and reports blocked and cleared", async () => {
  await using dir = await tempOutput("retention_guard_test_");
  await writeClips(dir.path, ...names.map((name) => `${name}.mkv`));
  const store = await ClipStore.open(dir.path);
  const size = (await sampleClip()).length;
  const events: [string, RetentionPlan][] = [];
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
    assert.deepEqual(await filesIn(dir.path), [`${names[2]}.mkv`, `${names[3]}.mkv`, "locked"]);
  } finally {
    await guard.stop();
  }
});

Deno.test("RetentionGuard reports an error instead of throwing", async () => {
  await using dir = await tempOutput("retention_guard_test_");
  const store = await ClipStore.open(join(dir.path, "output"));
  await Deno.remove(join(dir.path, "output"), { recursive: true });
  const guard = new RetentionGuard(store, { limits: { minFree: { percent: 1 } } });
  assert.equal(await guard.check(), null);
  assert.match(
    guard.status().lastError!,
    /^Cannot enforce the storage limits: Cannot read the free space of /,
  );
});
