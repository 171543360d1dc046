/**
 * The smoke test (tests/deploy/_smoke.ts) against the Node bundle: `deno task bundle`'s
 * dist/videorecorder.mjs, built here into a temporary directory and run by the host's `node`
 * with nothing beside it (no node_modules, no web/). scripts/test-arm32.sh runs the same smoke
 * test with Debian's armel Node under qemu (the Pi Zero's CPU).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { bundle } from "../../scripts/bundle.ts";
import { runSmoke } from "./_smoke.ts";

const ENTRY = new URL("../../src/node_main.ts", import.meta.url).pathname;

async function bundled<T>(use: (file: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "node_bundle_" });
  try {
    const file = join(dir, "videorecorder.mjs");
    await bundle(ENTRY, file);
    return await use(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("videorecorder.mjs passes the smoke test on the host's Node, alone in its directory", async () => {
  await bundled(async (file) => {
    const report = await runSmoke(["node", file], { timeoutMs: 60_000 });
    assert.ok(report.clips.length >= 1);
    assert.match(report.stderr, /Open http:\/\/\S+\//);
    assert.ok(!/ReferenceError|Deno is not defined/.test(report.stderr), report.stderr);
  });
});

Deno.test("videorecorder.mjs tells systemd it is ready and pings the watchdog through systemd-notify", async () => {
  await bundled(async (file) => {
    const report = await runSmoke(["node", file], { timeoutMs: 60_000, notify: true });
    const lines = report.notifications.join("").split("\n");
    assert.ok(lines.includes("READY=1"), JSON.stringify(report.notifications));
    assert.ok(lines.includes("WATCHDOG=1"), JSON.stringify(report.notifications));
  });
});
