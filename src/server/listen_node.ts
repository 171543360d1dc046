/**
 * {@linkcode listen} for Node.js: `node:http` (through `@hono/node-server`) has what
 * `Deno.serve` lacks, so no relay sits in front of it: a connection cap (`maxConnections`),
 * a deadline for the request head (`headersTimeout`) and for the whole request
 * (`requestTimeout`, streamed responses are not requests), idle keep-alive connections closed
 * (`keepAliveTimeout`), and a socket timeout for connections idle both ways (a viewer that
 * stopped reading). An accept error (EMFILE) is an `error` event on the server, which Node
 * survives: the listener stays open.
 *
 * Imported only by the Node entry (`src/node_main.ts`): it pulls in `@hono/node-server`.
 *
 * @module
 */

import type { Hono } from "@hono/hono";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { createAdaptorServer } from "../runtime/_hono_node_server.ts";
import type { MjpegStreams } from "../live/mjpeg_streams.ts";
import { type Listening, type ListenOptions, type ListenStatus, openFilesLimit } from "./listen.ts";
import { messageOf } from "../errors.ts";

/** Descriptors kept free of connections: clips, pipes to ffmpeg and the camera, /proc reads. */
const RESERVED_FDS = 64;

/**
 * Serves `app` on `host:port` with Node's `http` server; rejects with a sentence naming the
 * address when it cannot listen. The same options and status as {@linkcode listen}.
 */
export function listenNode(
  app: Hono,
  streams: MjpegStreams,
  options: ListenOptions,
): Promise<Listening> {
  const log = options.log ?? ((message: string) => console.error(message));
  // One descriptor per connection here (no relay).
  const fitting = Math.max(8, openFilesLimit() - RESERVED_FDS);
  const maxConnections = Math.min(options.maxConnections ?? 128, fitting);
  const perClient = options.maxConnectionsPerClient ?? 32;
  const headerTimeoutMs = options.headerTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const state: ListenStatus = {
    state: "listening",
    restarts: 0,
    lastError: null,
    since: Date.now(),
    retryAt: null,
    connections: 0,
    maxConnections,
    evicted: 0,
    refused: 0,
    timedOut: 0,
    acceptErrors: 0,
  };
  const sockets = new Set<Socket>();
  const byClient = new Map<string, Set<Socket>>();

  const server = createAdaptorServer({
    fetch: (request: Request, env: { incoming: Pick<IncomingMessage, "socket"> }) => {
      const socket = env.incoming.socket;
      return app.fetch(request, {
        remoteAddr: {
          transport: "tcp",
          hostname: socket.remoteAddress ?? "unknown",
          port: socket.remotePort ?? 0,
        },
      });
    },
    serverOptions: {
      headersTimeout: headerTimeoutMs,
      // A whole request (its body: settings are tiny); the response may stream for hours.
      requestTimeout: headerTimeoutMs * 3,
      keepAliveTimeout: 5_000,
      // How often Node checks the two timeouts above (default 30 s).
      connectionsCheckingInterval: 1_000,
    },
  });
  server.maxConnections = maxConnections;
  server.on("drop", () => state.refused++);
  server.on("connection", (socket: Socket) => {
    const client = socket.remoteAddress ?? "unknown";
    const mine = byClient.get(client) ?? new Set<Socket>();
    if (mine.size >= perClient) {
      // The client's oldest connection gives way, as the relay does on Deno.
      const oldest = mine.values().next().value!;
      oldest.destroy();
      state.evicted++;
    }
    mine.add(socket);
    byClient.set(client, mine);
    sockets.add(socket);
    state.connections = sockets.size;
    socket.setTimeout(idleTimeoutMs, () => {
      state.timedOut++;
      socket.destroy();
    });
    socket.once("close", () => {
      sockets.delete(socket);
      mine.delete(socket);
      if (mine.size === 0 && byClient.get(client) === mine) byClient.delete(client);
      state.connections = sockets.size;
    });
  });

  return new Promise((resolve, reject) => {
    const refused = (error: Error & { code?: string }) => {
      const reason = error.code === "EADDRINUSE"
        ? "the address is already in use"
        : error.code === "EADDRNOTAVAIL"
        ? "the address is not available on this machine"
        : messageOf(error);
      reject(new Error(`Cannot listen on ${options.host}:${options.port}: ${reason}`));
    };
    server.once("error", refused);
    server.listen(options.port, options.host, () => {
      server.off("error", refused);
      // E.g. accept() failing with EMFILE: Node keeps listening and tries again.
      server.on("error", (error: Error) => {
        state.acceptErrors++;
        state.lastError = `HTTP server failed: ${messageOf(error)}`;
        log(`HTTP server error (${messageOf(error)}); recording goes on`);
      });
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : options.port;
      const host = options.host.includes(":") ? `[${options.host}]` : options.host;
      let resolveFinished!: () => void;
      const finished = new Promise<void>((done) => resolveFinished = done);
      resolve({
        url: `http://${host}:${port}`,
        port,
        finished,
        status: () => ({ ...state }),
        async shutdown() {
          Object.assign(state, { state: "stopped", since: Date.now() });
          const closed = new Promise<void>((done) => server.close(() => done()));
          await streams.closeAll();
          (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([
            closed,
            new Promise((done) => timer = setTimeout(done, options.shutdownGraceMs ?? 3000)),
          ]);
          clearTimeout(timer);
          for (const socket of sockets) socket.destroy();
          await closed;
          resolveFinished();
        },
      });
    });
  });
}
