/** Gps through gpsd on Node (the 32-bit Pis' runtime), bundled for Node 18, against gpsfake. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { bundle } from "../../scripts/bundle.ts";
import { nmeaLog, startGpsfake } from "./_nmea.ts";

const CHECK = new URL("./_gps_node_check.ts", import.meta.url).pathname;

Deno.test("Gps follows gpsd on Node: node:net connects, reads the fix, and lets the process exit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gps_node_test_" });
  try {
    const outfile = join(dir, "gps-check.mjs");
    await bundle(CHECK, outfile);
    const drive = nmeaLog({ epochs: 120 });
    await using gpsd = await startGpsfake(drive.text, { dir });
    const output = await new Deno.Command("node", {
      args: [outfile, String(gpsd.port)],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.deepEqual([output.code, output.signal], [0, null], stderr);
    const { version, status, fixes } = JSON.parse(new TextDecoder().decode(output.stdout));
    assert.match(version, /^v\d+\./);
    assert.equal(status.fix, "3d", JSON.stringify(status));
    assert.equal(status.satellites, 7);
    assert.ok(fixes.length >= 3);
    for (const fix of fixes) {
      const point = drive.points.find((p) => p.time === fix.time);
      assert.ok(point, `${new Date(fix.time).toISOString()} is a time of the log`);
      assert.ok(Math.abs(fix.lat - point.lat) < 1e-6 && Math.abs(fix.lon - point.lon) < 1e-6);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
