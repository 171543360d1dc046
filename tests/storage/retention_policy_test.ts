import assert from "node:assert/strict";
import {
  planRetention,
  type RetentionClip,
  type RetentionInput,
} from "../../src/storage/retention_policy.ts";

const G = 1024 ** 3;
const M = 1024 ** 2;

function clip(seq: number, size: number, flags: Partial<RetentionClip> = {}): RetentionClip {
  return { id: String(seq).padStart(6, "0"), seq, size, locked: false, recording: false, ...flags };
}

/** A 100 GiB disk with plenty free, unless a test says otherwise. */
function plan(input: Partial<RetentionInput> & Pick<RetentionInput, "clips" | "limits">) {
  return planRetention({ disk: { totalBytes: 100 * G, freeBytes: 50 * G }, ...input });
}

Deno.test("planRetention deletes nothing when within limits", () => {
  const result = plan({
    clips: [clip(1, G), clip(2, G)],
    limits: { maxBytes: 20 * G, minFree: { percent: 10 } },
    reserveBytes: G,
  });
  assert.deepEqual(result.delete, []);
  assert.equal(result.ok, true);
  assert.equal(result.reason, undefined);
  assert.equal(result.usedBytes, 2 * G);
  assert.equal(result.keptBytes, 2 * G);
  assert.equal(result.freeAfter, 50 * G);
  assert.equal(result.floorBytes, 10 * G);
});

Deno.test("planRetention deletes nothing without limits", () => {
  const result = plan({ clips: [clip(1, 90 * G)], limits: {}, reserveBytes: G });
  assert.deepEqual([result.delete, result.ok, result.floorBytes], [[], true, null]);
});

Deno.test("planRetention deletes the oldest clips, by seq, down to the size cap", () => {
  // Listed out of order: the plan sorts by seq, not by input order or id.
  const clips = [clip(12, 5 * G), clip(10, 5 * G), clip(11, 5 * G), clip(13, 5 * G)];
  const result = plan({ clips, limits: { maxBytes: 12 * G } });
  assert.deepEqual(result.delete, ["000010", "000011"]);
  assert.equal(result.ok, true);
  assert.equal(result.usedBytes, 20 * G);
  assert.equal(result.keptBytes, 10 * G);
  assert.equal(result.freeAfter, 60 * G);
});

Deno.test("planRetention keeps exactly at the cap", () => {
  const result = plan({ clips: [clip(1, 5 * G), clip(2, 5 * G)], limits: { maxBytes: 10 * G } });
  assert.deepEqual(result.delete, []);
});

Deno.test("planRetention counts the reserve for the next clip against the cap", () => {
  const clips = [clip(1, 5 * G), clip(2, 5 * G)];
  const limits = { maxBytes: 10 * G };
  assert.deepEqual(plan({ clips, limits, reserveBytes: 0 }).delete, []);
  assert.deepEqual(plan({ clips, limits, reserveBytes: 1 }).delete, ["000001"]);
});

Deno.test("planRetention keeps a free-space floor given in bytes", () => {
  const clips = [clip(1, 300 * M), clip(2, 300 * M), clip(3, 300 * M)];
  const disk = { totalBytes: 32 * G, freeBytes: 500 * M };
  const result = plan({ clips, disk, limits: { minFree: { bytes: G } } });
  // 500 MiB free + 300 + 300 = 1100 MiB >= 1 GiB: two clips go.
  assert.deepEqual(result.delete, ["000001", "000002"]);
  assert.equal(result.freeAfter, 1100 * M);
  assert.equal(result.floorBytes, G);
  assert.equal(result.ok, true);
});

Deno.test("planRetention keeps a free-space floor given as a percentage of the disk", () => {
  const clips = [clip(1, G), clip(2, G), clip(3, G), clip(4, G)];
  const disk = { totalBytes: 32 * G, freeBytes: 2 * G };
  const result = plan({ clips, disk, limits: { minFree: { percent: 10 } }, reserveBytes: 0.2 * G });
  // Floor 3.2 GiB + 0.2 GiB reserve = 3.4 GiB free needed: 2 + 1 + 1 = 4 GiB after two.
  assert.deepEqual(result.delete, ["000001", "000002"]);
  assert.equal(result.floorBytes, Math.ceil(3.2 * G));
});

Deno.test("planRetention deletes enough for both limits at once", () => {
  const clips = [1, 2, 3, 4, 5].map((seq) => clip(seq, G));
  // The cap alone needs one deletion, the floor three.
  const result = plan({
    clips,
    disk: { totalBytes: 10 * G, freeBytes: 0 },
    limits: { maxBytes: 4 * G, minFree: { bytes: 3 * G } },
  });
  assert.deepEqual(result.delete, ["000001", "000002", "000003"]);
  assert.equal(result.keptBytes, 2 * G);
});

Deno.test("planRetention never deletes locked clips, and skips past them", () => {
  const clips = [clip(1, 5 * G, { locked: true }), clip(2, 5 * G), clip(3, 5 * G)];
  const result = plan({ clips, limits: { maxBytes: 10 * G } });
  assert.deepEqual(result.delete, ["000002"]);
  assert.equal(result.ok, true);
});

Deno.test("planRetention never deletes the clip being recorded", () => {
  const clips = [clip(1, 5 * G), clip(2, 5 * G, { recording: true })];
  const result = plan({ clips, limits: { maxBytes: 6 * G } });
  assert.deepEqual(result.delete, ["000001"]);
  assert.equal(result.ok, true);
  assert.equal(result.keptBytes, 5 * G);
});

Deno.test("planRetention gives up, deleting nothing, when locked clips alone break the cap", () => {
  const clips = [
    clip(1, 11 * G, { locked: true }),
    clip(2, 10.3 * G, { locked: true }),
    clip(3, G),
    clip(4, 0.1 * G, { recording: true }),
  ];
  const result = plan({ clips, limits: { maxBytes: 20 * G } });
  assert.equal(result.ok, false);
  assert.deepEqual(result.delete, []);
  assert.equal(result.reason, "Locked clips alone take 21.3 GiB, over the 20 GiB storage limit");
  assert.equal(result.keptBytes, result.usedBytes);
  assert.equal(result.freeAfter, 50 * G);
});

Deno.test("planRetention gives up when locked clips leave no room for the next clip", () => {
  const clips = [clip(1, 9 * G, { locked: true }), clip(2, G, { recording: true }), clip(3, G)];
  const result = plan({ clips, limits: { maxBytes: 10.5 * G }, reserveBytes: G });
  assert.equal(result.ok, false);
  assert.deepEqual(result.delete, []);
  assert.equal(
    result.reason,
    "Locked clips and the clip being recorded take 10 GiB, leaving less than the 1 GiB " +
      "the next clip needs under the 10.5 GiB storage limit",
  );
});

Deno.test("planRetention gives up when the disk is too full even with every clip gone", () => {
  const clips = [clip(1, G), clip(2, G, { locked: true })];
  const disk = { totalBytes: 32 * G, freeBytes: G };
  const result = plan({ clips, disk, limits: { minFree: { percent: 10 } } });
  assert.equal(result.ok, false);
  assert.deepEqual(result.delete, []);
  assert.equal(
    result.reason,
    "Free space is 1 GiB, under the 3.2 GiB (10% of the disk) free-space floor, " +
      "and deleting every unlocked clip would free only 1 GiB",
  );
});

Deno.test("planRetention names every limit it cannot meet", () => {
  const clips = [clip(1, 30 * G, { locked: true })];
  const disk = { totalBytes: 32 * G, freeBytes: 0 };
  const result = plan({ clips, disk, limits: { maxBytes: 20 * G, minFree: { bytes: G } } });
  assert.equal(result.ok, false);
  assert.equal(
    result.reason,
    "Locked clips alone take 30 GiB, over the 20 GiB storage limit; " +
      "Free space is 0 B, under the 1 GiB free-space floor",
  );
});

Deno.test("planRetention refuses nonsense limits", () => {
  assert.throws(() => plan({ clips: [], limits: { maxBytes: -1 } }), RangeError);
  assert.throws(() => plan({ clips: [], limits: { maxBytes: NaN } }), RangeError);
  assert.throws(() => plan({ clips: [], limits: { minFree: { percent: 100 } } }), RangeError);
  assert.throws(() => plan({ clips: [], limits: {}, reserveBytes: -5 }), RangeError);
});
