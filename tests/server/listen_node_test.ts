/** listenNode on the host's Node: tests/server/_listen_node_check.ts, bundled for Node 18. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { bundle } from "../../scripts/bundle.ts";

const CHECK = new URL("./_listen_node_check.ts", import.meta.url).pathname;

Deno.test("listenNode keeps the connection caps and timeouts with node:http", async () => {
  const dir = await Deno.makeTempDir({ prefix: "listen_node_" });
  try {
    const file = join(dir, "listen_node_check.mjs");
    await bundle(CHECK, file);
    const output = await new Deno.Command("node", {
      args: [file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    const failures = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}").failures;
    assert.deepEqual(failures, [], stderr);
    assert.equal(output.code, 0, stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
