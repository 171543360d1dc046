import assert from "node:assert/strict";
import { join } from "node:path";
import { bundle } from "../../scripts/bundle.ts";
import { RUNTIME_CHECKS } from "./_runtime_checks.ts";

const SELFCHECK = new URL("./_node_selfcheck.ts", import.meta.url).pathname;

Deno.test("nodeRuntime passes the runtime checks on the host's Node, bundled for Node 18", async () => {
  const dir = await Deno.makeTempDir({ prefix: "node_runtime_" });
  try {
    const outfile = join(dir, "runtime-selfcheck.mjs");
    const report = await bundle(SELFCHECK, outfile);
    assert.deepEqual(report.packages.map((p) => p.split("@").slice(0, -1).join("@")).sort(), [
      "@hono/node-server",
      "hono",
    ]);
    const output = await new Deno.Command("node", {
      args: [outfile],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      // The unref'd hour-long timer must not hold the process: it exits right after the checks.
      signal: AbortSignal.timeout(120_000),
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
    const result = JSON.parse(lines.at(-1)!);
    assert.deepEqual(result.failures, [], stderr);
    assert.equal(result.runtime, "node");
    assert.match(result.version, /^v\d+\./);
    for (const check of RUNTIME_CHECKS) {
      assert.match(stderr, new RegExp(`ok ${escape(check.name)}`));
    }
    assert.deepEqual([output.code, output.signal], [0, null], stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bundle refuses an entry that leaves import.meta.main for Node 18", async () => {
  const dir = await Deno.makeTempDir({ prefix: "node_runtime_" });
  try {
    const entry = join(dir, "main.ts");
    await Deno.writeTextFile(entry, 'if (import.meta.main) console.log("main");\n');
    await assert.rejects(
      bundle(entry, join(dir, "main.mjs")),
      /^Error: Cannot bundle .*main\.ts for Node 18: the output still holds .*import\\\.meta\\\.main/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bundle lowers using declarations for Node 18", async () => {
  const dir = await Deno.makeTempDir({ prefix: "node_runtime_" });
  try {
    const entry = join(dir, "main.ts");
    await Deno.writeTextFile(
      entry,
      "{ using held = { [Symbol.dispose]() { console.log('disposed'); } }; console.log('held'); }\n",
    );
    const outfile = join(dir, "main.mjs");
    await bundle(entry, outfile);
    const code = await Deno.readTextFile(outfile);
    assert.doesNotMatch(code, /\busing held\b/);
    const output = await new Deno.Command("node", { args: [outfile], stdout: "piped" }).output();
    assert.equal(new TextDecoder().decode(output.stdout), "held\ndisposed\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
