/**
 * The smoke test (tests/deploy/_smoke.ts) with the host's Deno and exactly the permission flags
 * compiled into the binary: a permission the app needs but the binary lacks fails here.
 * scripts/test-aarch64.sh runs the same smoke test with the aarch64 Deno under qemu.
 */
import assert from "node:assert/strict";
import { runSmoke } from "./_smoke.ts";

const COMPILE = new URL("../../scripts/compile.sh", import.meta.url).pathname;
const MOD = new URL("../../mod.ts", import.meta.url).pathname;

async function binaryFlags(): Promise<string[]> {
  const output = await new Deno.Command("bash", { args: [COMPILE, "--print-flags"] }).output();
  assert.equal(output.code, 0);
  return new TextDecoder().decode(output.stdout).trim().split("\n");
}

Deno.test("videorecorder passes the smoke test with only the binary's permissions", async () => {
  const report = await runSmoke([Deno.execPath(), "run", ...await binaryFlags(), MOD], {
    timeoutMs: 60_000,
  });
  assert.ok(report.clips.length >= 1);
  assert.ok(!/NotCapable|Requires \w+ access/.test(report.stderr), report.stderr);
});

Deno.test({
  name: "videorecorder tells systemd it is ready and pings the watchdog (Type=notify)",
  async fn() {
    const report = await runSmoke([Deno.execPath(), "run", ...await binaryFlags(), MOD], {
      timeoutMs: 60_000,
      notify: true,
    });
    const lines = report.notifications.join("").split("\n");
    assert.ok(lines.includes("READY=1"));
    assert.ok(lines.includes("WATCHDOG=1"));
  },
});
