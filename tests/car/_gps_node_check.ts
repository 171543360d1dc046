/**
 * Gps (and so GpsdClient over node:net) on Node, bundled by scripts/bundle.ts for Node 18:
 *
 * ```sh
 * node gps-check.mjs PORT
 * ```
 *
 * Follows gpsd at 127.0.0.1:PORT until a 3D fix with a time and satellites (or 60 s), then
 * prints the status and the fixes it passed on as one JSON line, stops, and exits (a socket
 * or timer left behind would keep Node running: the test would time out).
 *
 * @module
 */
import process from "node:process";
import { Gps, type GpsFix } from "../../src/car/gps.ts";

const port = Number(process.argv[2]);
const fixes: GpsFix[] = [];
const gps = new Gps(`127.0.0.1:${port}`, {
  backoff: { initialMs: 200, maxMs: 1_000 },
  onFix: (fix) => fixes.push(fix),
});
gps.start();
const deadline = Date.now() + 60_000;
while (Date.now() < deadline) {
  const status = gps.status();
  if (status.fix === "3d" && status.time !== null && status.satellites === 7 && fixes.length >= 3) {
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const status = gps.status();
await gps.stop();
console.log(JSON.stringify({ version: process.version, status, fixes }));
