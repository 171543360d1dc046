/**
 * Checks of {@linkcode listenNode} that run on Node (bundled by tests/server/listen_node_test.ts
 * with scripts/bundle.ts): the connection caps and timeouts `node:http` keeps instead of the
 * relay Deno has. Prints one JSON line `{ "failures": [...] }` and exits 1 when one failed.
 *
 * @module
 */
import { Hono } from "@hono/hono";
import { connect, type Socket } from "node:net";
import process from "node:process";
import { setRuntime } from "../../src/runtime/current.ts";
import { nodeRuntime } from "../../src/runtime/node.ts";
import type { MjpegStreams } from "../../src/live/mjpeg_streams.ts";
import type { Listening, ListenOptions } from "../../src/server/listen.ts";
import { listenNode } from "../../src/server/listen_node.ts";

setRuntime(nodeRuntime);

const app = new Hono();
app.get("/who", (c) => {
  const address = (c.env as { remoteAddr?: { hostname?: string } }).remoteAddr;
  return c.text(address?.hostname ?? "none");
});
let closedStreams = 0;
const streams = {
  closeAll: () => {
    closedStreams++;
    return Promise.resolve();
  },
} as unknown as MjpegStreams;

const failures: string[] = [];
function check(name: string, ok: boolean, detail: unknown): void {
  console.error(`listen_node: ${ok ? "ok" : "FAILED"} ${name}`);
  if (!ok) failures.push(`${name}: ${JSON.stringify(detail)}`);
}

async function withServer(
  options: Partial<ListenOptions>,
  use: (server: Listening) => Promise<void>,
): Promise<void> {
  const server = await listenNode(app, streams, { host: "127.0.0.1", port: 0, ...options });
  try {
    await use(server);
  } finally {
    await server.shutdown();
  }
}

/** Opens a raw connection; resolves once connected. */
function open(port: number): Promise<Socket & { closedAt: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, "127.0.0.1") as Socket & { closedAt: Promise<number> };
    socket.closedAt = new Promise((done) => socket.once("close", () => done(Date.now() - started)));
    socket.on("error", () => {});
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

function closedWithin(socket: { closedAt: Promise<number> }, ms: number): Promise<boolean> {
  return Promise.race([
    socket.closedAt.then(() => true),
    new Promise<boolean>((done) => setTimeout(() => done(false), ms)),
  ]);
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

// The app sees the client's address, as it does behind Deno's relay.
await withServer({}, async (server) => {
  const who = await (await fetch(`${server.url}/who`)).text();
  check("the app gets the client's address as env.remoteAddr", who === "127.0.0.1", who);
});

// A client holding more than its share: its oldest connection gives way.
await withServer({ maxConnectionsPerClient: 2 }, async (server) => {
  const first = await open(server.port);
  await sleep(50);
  const others = [await open(server.port), await open(server.port)];
  const closed = await closedWithin(first, 2000);
  check("a client's third connection closes its oldest", closed, server.status());
  check("evictions are counted", server.status().evicted === 1, server.status());
  for (const socket of [first, ...others]) socket.destroy();
});

// Beyond maxConnections, new connections are closed at once.
await withServer({ maxConnections: 2, maxConnectionsPerClient: 10 }, async (server) => {
  const held = [await open(server.port), await open(server.port)];
  await sleep(100);
  const extra = await open(server.port);
  const closed = await closedWithin(extra, 2000);
  check("a connection beyond maxConnections is closed", closed, server.status());
  check("refusals are counted", server.status().refused >= 1, server.status());
  check("the status gives the cap", server.status().maxConnections === 2, server.status());
  for (const socket of [...held, extra]) socket.destroy();
});

// A connection that sends no request head in time (slowloris) is closed.
await withServer({ headerTimeoutMs: 1000, idleTimeoutMs: 60_000 }, async (server) => {
  const socket = await open(server.port);
  socket.write("GET /who HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  const trickle = setInterval(() => socket.write("X-Slow: 1\r\n"), 200);
  const closed = await closedWithin(socket, 5000);
  clearInterval(trickle);
  check("a request head not complete within headerTimeoutMs is closed", closed, server.status());
  socket.destroy();
});

// A connection idle both ways is closed.
await withServer({ headerTimeoutMs: 60_000, idleTimeoutMs: 1000 }, async (server) => {
  const socket = await open(server.port);
  const closed = await closedWithin(socket, 4000);
  check("a connection idle for idleTimeoutMs is closed", closed, server.status());
  check("timeouts are counted", server.status().timedOut >= 1, server.status());
  socket.destroy();
});

// A port in use is refused with a sentence.
await withServer({}, async (server) => {
  const error = await listenNode(app, streams, { host: "127.0.0.1", port: server.port })
    .then(() => null, (error: Error) => error.message);
  check(
    "a port in use is refused with a sentence",
    error === `Cannot listen on 127.0.0.1:${server.port}: the address is already in use`,
    error,
  );
});

// shutdown() ends the live streams and closes connections still open after the grace.
{
  const server = await listenNode(app, streams, {
    host: "127.0.0.1",
    port: 0,
    shutdownGraceMs: 300,
  });
  const socket = await open(server.port);
  const before = closedStreams;
  const started = Date.now();
  await server.shutdown();
  await server.finished;
  const closed = await closedWithin(socket, 1000);
  check("shutdown ends the live streams", closedStreams === before + 1, closedStreams);
  check("shutdown closes what is left after the grace", closed, Date.now() - started);
  check("the status says stopped", server.status().state === "stopped", server.status());
}

console.log(JSON.stringify({ failures }));
process.exit(failures.length === 0 ? 0 : 1);
