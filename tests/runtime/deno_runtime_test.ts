import assert from "node:assert/strict";
import { denoRuntime } from "../../src/runtime/deno.ts";
import { RUNTIME_CHECKS } from "./_runtime_checks.ts";

// The same checks run on Node in node_runtime_test.ts.
for (const check of RUNTIME_CHECKS) {
  Deno.test(`denoRuntime ${check.name}`, () => check.run(denoRuntime));
}

Deno.test("denoRuntime unrefTimer lets the process exit while the timer is pending", async () => {
  const url = new URL("../../src/runtime/deno.ts", import.meta.url).href;
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { denoRuntime } from ${JSON.stringify(url)};
       denoRuntime.unrefTimer(setTimeout(() => Deno.exit(3), 3_600_000));
       console.log("unref'd");`,
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.equal(new TextDecoder().decode(output.stdout), "unref'd\n");
  assert.deepEqual([output.code, output.signal], [0, null]);
});
