/**
 * For listen_test.ts: `listen()` serving a tiny app while this process holds all but a few of
 * its file descriptors, and a heartbeat on stderr standing for the recording. SIGUSR1 lets them go.
 */
import { Hono } from "@hono/hono";
import { listen } from "../../src/server/listen.ts";
import type { MjpegStreams } from "../../src/live/mjpeg_streams.ts";

const app = new Hono().get("/", (c) => c.json({ ok: true }));
const server = listen(app, { closeAll: async () => {} } as unknown as MjpegStreams, {
  host: "127.0.0.1",
  port: 0,
});
// Needs no new descriptor, so it shows that the event loop goes on while none is free.
setInterval(() => Deno.stderr.writeSync(new TextEncoder().encode("beat\n")), 50);

// Every descriptor but 6 held, as a leak or a busy recorder would.
const hoard: Deno.FsFile[] = [];
while (true) {
  try {
    hoard.push(Deno.openSync("/dev/null"));
  } catch {
    break;
  }
}
for (const file of hoard.splice(0, 6)) file.close();
Deno.addSignalListener("SIGUSR1", () => {
  for (const file of hoard.splice(0)) file.close();
  console.error("released");
});
Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  Deno.exit(0);
});
console.error(`Open ${server.url}/ holding ${hoard.length}`);
