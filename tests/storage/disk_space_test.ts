import assert from "node:assert/strict";
import { diskSpace } from "../../src/storage/disk_space.ts";
import { run } from "../_helpers.ts";

Deno.test("diskSpace matches df for the same directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk_space_test_" });
  try {
    const space = await diskSpace(dir);
    // df -B1: 1-byte blocks; columns Size, Used, Avail.
    const df = new TextDecoder().decode(
      await run(["df", "-B1", "--output=size,avail", dir]),
    ).trim().split("\n")[1].trim().split(/\s+/).map(Number);
    assert.equal(space.totalBytes, df[0]);
    // Other processes write meanwhile: allow 64 MiB of drift.
    assert.ok(Math.abs(space.freeBytes - df[1]) < 64 * 1024 ** 2, `${space.freeBytes} vs ${df[1]}`);
    assert.ok(space.freeBytes <= space.totalBytes);
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("diskSpace names the path when statfs fails", async () => {
  await assert.rejects(
    diskSpace("/nonexistent/videorecorder-test"),
    /^Error: Cannot read the free space of \/nonexistent\/videorecorder-test: /,
  );
});
