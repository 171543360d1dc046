import assert from "node:assert/strict";
import { join } from "node:path";
import { removeTemporaries, writeFileAtomic } from "../../src/storage/write_file_atomic.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "write_file_atomic_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name).sort();
}

Deno.test("writeFileAtomic writes the whole content and replaces the old file, leaving no temp", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "state.json");
    await writeFileAtomic(path, "old\n");
    const big = "x".repeat(3 * 1024 * 1024) + "end\n";
    await writeFileAtomic(path, big);
    assert.equal(await Deno.readTextFile(path), big);
    const bytes = new Uint8Array([0, 255, 1, 254]);
    await writeFileAtomic(path, bytes);
    assert.deepEqual(await Deno.readFile(path), bytes);
    assert.deepEqual(await names(dir), ["state.json"]);
  });
});

Deno.test("writeFileAtomic honours the mode, also when it replaces a file of another mode", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "password");
    await writeFileAtomic(path, "secret\n", { mode: 0o600 });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    await Deno.chmod(path, 0o644);
    await writeFileAtomic(path, "other\n", { mode: 0o600 });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    await writeFileAtomic(path, "open\n", { mode: 0o640 });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640);
  });
});

Deno.test("writeFileAtomic removes its temp file when the rename fails, keeping what was there", async () => {
  await withTempDir(async (dir) => {
    // A non-empty directory where the file should go: the write succeeds, the rename fails.
    const path = join(dir, "state.json");
    await Deno.mkdir(path);
    await Deno.writeTextFile(join(path, "inside"), "kept");
    await assert.rejects(writeFileAtomic(path, "new\n"));
    assert.deepEqual(await names(dir), ["state.json"]);
    assert.equal(await Deno.readTextFile(join(path, "inside")), "kept");
  });
});

Deno.test("writeFileAtomic rejects a missing directory and leaves nothing behind", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      writeFileAtomic(join(dir, "missing", "state.json"), "x"),
      (error: unknown) => (error as { code?: string }).code === "ENOENT",
    );
    assert.deepEqual(await names(dir), []);
  });
});

Deno.test("removeTemporaries removes only writeFileAtomic's temporaries of the files asked", async () => {
  await withTempDir(async (dir) => {
    const uuid = () => crypto.randomUUID();
    const stale = [`.state.json.${uuid()}.tmp`, `.state.json.${uuid()}.tmp`];
    const kept = [
      "state.json",
      `.other.json.${uuid()}.tmp`, // another file's: not asked
      "state.json.tmp", // not the pattern
      `.state.json.${uuid()}.tmp.bak`,
      `.state.json.not-a-uuid.tmp`,
    ];
    for (const name of [...stale, ...kept]) await Deno.writeTextFile(join(dir, name), "x");
    const removed = await removeTemporaries(dir, (name) => name === "state.json");
    assert.deepEqual(removed.sort(), [...stale].sort());
    assert.deepEqual(await names(dir), [...kept].sort());
    assert.deepEqual(await removeTemporaries(join(dir, "missing")), []);
  });
});
