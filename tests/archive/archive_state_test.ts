/** The archive state on the card: durable, per target, tolerant of a broken file. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARCHIVE_STATE_FILE, ArchiveState } from "../../src/archive/archive_state.ts";

Deno.test("ArchiveState keeps verified clips across a reload, for its own target only", async () => {
  const output = await Deno.makeTempDir({ prefix: "archive_state_" });
  try {
    const target = ":sftp,host=nas,pass=SECRET99:dashcam/car1";
    const state = await ArchiveState.load(output, target);
    assert.equal(state.isArchived("000001_20261202-080000+0000"), false);
    await state.mark("000001_20261202-080000+0000", {
      size: 1000,
      verified: "md5",
      hash: "ab",
      at: 1,
    });
    const text = await Deno.readTextFile(join(output, ARCHIVE_STATE_FILE));
    assert.ok(!text.includes("SECRET99") && !text.includes("nas"), "no remote in the file");
    const again = await ArchiveState.load(output, target);
    assert.equal(again.isArchived("000001_20261202-080000+0000", 1000), true);
    assert.equal(again.isArchived("000001_20261202-080000+0000", 999), false, "another size");
    assert.deepEqual(again.get("000001_20261202-080000+0000"), {
      size: 1000,
      verified: "md5",
      hash: "ab",
      at: 1,
    });
    // Another folder of the same remote: nothing archived there yet.
    const other = await ArchiveState.load(output, ":sftp,host=nas,pass=SECRET99:dashcam/car2");
    assert.equal(other.size, 0);
    // No temp file left beside it.
    const names = [...Deno.readDirSync(output)].map((entry) => entry.name);
    assert.deepEqual(names, [ARCHIVE_STATE_FILE]);
    await again.forget(["000001_20261202-080000+0000"]);
    assert.equal((await ArchiveState.load(output, target)).size, 0);
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});

Deno.test("ArchiveState starts empty from a broken file and writes a good one", async () => {
  const output = await Deno.makeTempDir({ prefix: "archive_state_" });
  try {
    await Deno.writeTextFile(join(output, ARCHIVE_STATE_FILE), '{"target": "x", "clips": {');
    const state = await ArchiveState.load(output, "nas:d");
    assert.equal(state.size, 0);
    await state.mark("000002_20261202-080000+0000", { size: 5, verified: "size", at: 2 });
    assert.equal((await ArchiveState.load(output, "nas:d")).size, 1);
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});

Deno.test("ArchiveState fails the mark and keeps the clip un-archived when the card is gone", async () => {
  const output = await Deno.makeTempDir({ prefix: "archive_state_" });
  try {
    const state = await ArchiveState.load(output, "nas:d");
    await Deno.remove(output, { recursive: true }); // the card pulled out
    await assert.rejects(() =>
      state.mark("000003_20261202-080000+0000", { size: 5, verified: "size", at: 3 })
    );
    assert.equal(state.isArchived("000003_20261202-080000+0000"), false);
  } finally {
    await Deno.remove(output, { recursive: true }).catch(() => {});
  }
});
