/** Loop recording with an archive: archived clips are the first to go, locked ones never. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { clipFileName } from "../../src/storage/clip_name.ts";
import { ClipStore } from "../../src/storage/clip_store.ts";
import { planRetention, type RetentionClip } from "../../src/storage/retention_policy.ts";

const clip = (seq: number, extra: Partial<RetentionClip> = {}): RetentionClip => ({
  id: `c${seq}`,
  seq,
  size: 100,
  locked: false,
  recording: false,
  ...extra,
});

Deno.test("planRetention deletes archived clips before older ones that are not", () => {
  const plan = planRetention({
    clips: [
      clip(1),
      clip(2),
      clip(3, { archived: true }),
      clip(4, { archived: true, locked: true }),
      clip(5, { archived: true }),
      clip(6, { recording: true }),
    ],
    limits: { maxBytes: 350 },
    disk: { totalBytes: 10_000, freeBytes: 9_000 },
  });
  // 600 bytes, cap 350: three go, archived first (oldest archived first), locked never.
  assert.deepEqual(plan.delete, ["c3", "c5", "c1"]);
  assert.equal(plan.ok, true);
  // Without archived clips, the oldest go, as before.
  const plain = planRetention({
    clips: [clip(1), clip(2), clip(3)],
    limits: { maxBytes: 150 },
    disk: { totalBytes: 10_000, freeBytes: 9_000 },
  });
  assert.deepEqual(plain.delete, ["c1", "c2"]);
});

Deno.test("ClipStore.enforce deletes the archived clip and keeps the older one not archived", async () => {
  const output = await Deno.makeTempDir({ prefix: "retention_archived_" });
  try {
    const names = [1, 2, 3].map((seq) =>
      clipFileName(seq, Date.UTC(2026, 11, 2, 8, seq), "mkv", "UTC")
    );
    for (const name of names) await Deno.writeFile(join(output, name), new Uint8Array(1000));
    const store = await ClipStore.open(output);
    const archivedId = names[1].slice(0, -4);
    const plan = await store.enforce({ maxBytes: 2500 }, {
      reserveBytes: 0,
      archived: (id, size) => id === archivedId && size === 1000,
    });
    assert.deepEqual(plan.delete, [archivedId]);
    const left = (await store.list()).map((c) => c.id).sort();
    assert.deepEqual(left, [names[0], names[2]].map((name) => name.slice(0, -4)));
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});
