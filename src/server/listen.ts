import type { Hono } from "@hono/hono";
import type { MjpegStreams } from "./mjpeg_streams.ts";
import { messageOf } from "../errors.ts";

/** Options for {@linkcode listen}. */
export interface ListenOptions {
  host: string;
  /** 0 picks a free port (kept when listening again). */
  port: number;
  /** How long shutdown() waits for connections to finish. Default 3 s. */
  shutdownGraceMs?: number;
  /** First wait before listening again after the server failed. Default 100 ms. */
  retryMinMs?: number;
  /** Longest wait between attempts to listen again. Default 5 s. */
  retryMaxMs?: number;
  /** Where failures and recoveries are told. Default: stderr. */
  log?: (message: string) => void;
}

/** What the HTTP server is doing, for the status. */
export interface ListenStatus {
  /** `retrying`: the server failed (e.g. out of file descriptors) and listens again soon. */
  state: "listening" | "retrying" | "stopped";
  /** Times the server failed and was started again. */
  restarts: number;
  /** Why it last failed, as a sentence; null when it never did. */
  lastError: string | null;
  /** When the current state began, ms since the epoch. */
  since: number;
  /** When the next attempt to listen is due (state `retrying`), ms since the epoch. */
  retryAt: number | null;
}

/** A listening server. */
export interface Listening {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  /** The server's state, failures and restarts. */
  status(): ListenStatus;
  /**
   * Ends open live-view streams and stops accepting; resolves when the other requests have
   * finished, or after `shutdownGraceMs` (see {@linkcode finished}).
   */
  shutdown(): Promise<void>;
  /**
   * Resolves when every connection is closed after {@linkcode shutdown}. A client that stopped
   * reading keeps its connection blocked in a write the server cannot cancel (`Deno.serve` has
   * no forced close), so this may only happen when that client goes away or the process exits.
   */
  readonly finished: Promise<void>;
}

/** A server (re)started after this long without failing starts its backoff from the minimum. */
const HEALTHY_MS = 30_000;

/**
 * Serves `app` with `Deno.serve`; throws a sentence naming the address when it cannot listen.
 *
 * The server never takes the process down and never gives up: when `Deno.serve` fails (its
 * accept fails with "Too many open files" once idle connections use up the descriptors, and it
 * then closes the listener) the failure is told on stderr, the dead server is shut down, which
 * closes its idle connections (measured: Deno keeps them open otherwise, so the descriptors stay
 * used up), and the same address is listened on again after 100 ms, doubling to 5 s.
 */
export function listen(app: Hono, streams: MjpegStreams, options: ListenOptions): Listening {
  const log = options.log ?? ((message: string) => console.error(message));
  const retryMinMs = options.retryMinMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 5_000;
  const state: ListenStatus = {
    state: "listening",
    restarts: 0,
    lastError: null,
    since: Date.now(),
    retryAt: null,
  };
  // Every server not yet fully shut down: a failed one keeps serving the requests it has.
  const servers = new Map<Deno.HttpServer<Deno.NetAddr>, Promise<void> | null>();
  let current: Deno.HttpServer<Deno.NetAddr> | null = null;
  let stopped = false;
  let retryDelay = retryMinMs;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => resolveFinished = resolve);

  const shutDown = (server: Deno.HttpServer<Deno.NetAddr>): Promise<void> => {
    let ending = servers.get(server);
    if (!ending) {
      // Also closes the connections that never sent a request: a failed server keeps them.
      ending = server.shutdown().catch(() => {});
      servers.set(server, ending);
    }
    return ending;
  };

  const serve = (port: number): Deno.HttpServer<Deno.NetAddr> => {
    const server = Deno.serve({ hostname: options.host, port, onListen: () => {} }, app.fetch);
    const startedAt = Date.now();
    servers.set(server, null);
    current = server;
    server.finished.catch((error) => {
      void shutDown(server).then(() => servers.delete(server));
      if (server === current && !stopped) failed(error, startedAt);
    });
    return server;
  };

  const failed = (error: unknown, startedAt: number) => {
    current = null;
    if (Date.now() - startedAt > HEALTHY_MS) retryDelay = retryMinMs;
    const reason = messageOf(error);
    Object.assign(state, {
      state: "retrying",
      lastError: `HTTP server failed: ${reason}`,
      since: Date.now(),
      retryAt: Date.now() + retryDelay,
    });
    log(`HTTP server failed (${reason}); recording goes on, listening again in ${retryDelay} ms`);
    retryTimer = setTimeout(retry, retryDelay);
    retryDelay = Math.min(retryDelay * 2, retryMaxMs);
  };

  const retry = () => {
    if (stopped) return;
    try {
      serve(port);
    } catch (error) {
      failed(error, Date.now());
      return;
    }
    state.restarts++;
    Object.assign(state, { state: "listening", since: Date.now(), retryAt: null });
    log(`HTTP server listening again on ${url} (restart ${state.restarts})`);
  };

  let port: number;
  try {
    port = serve(options.port).addr.port;
  } catch (error) {
    const reason = error instanceof Deno.errors.AddrInUse
      ? "the address is already in use"
      : messageOf(error);
    throw new Error(`Cannot listen on ${options.host}:${options.port}: ${reason}`);
  }
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  return {
    url,
    port,
    finished,
    status: () => ({ ...state }),
    async shutdown() {
      stopped = true;
      clearTimeout(retryTimer);
      Object.assign(state, { state: "stopped", since: Date.now(), retryAt: null });
      await streams.closeAll();
      const all = Promise.all([...servers.keys()].map(shutDown));
      void all.then(() => resolveFinished());
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        all,
        new Promise((resolve) => timer = setTimeout(resolve, options.shutdownGraceMs ?? 3000)),
      ]);
      clearTimeout(timer);
    },
  };
}

/**
 * URLs a person can open: the address itself, or for a wildcard address (`0.0.0.0`, `::`) each
 * of the machine's IPv4 addresses (the Pi's Wi-Fi address is the one a phone needs).
 */
export function reachableUrls(
  host: string,
  port: number,
  interfaces: () => Deno.NetworkInterfaceInfo[] = Deno.networkInterfaces,
): string[] {
  if (host !== "0.0.0.0" && host !== "::") {
    return [`http://${host.includes(":") ? `[${host}]` : host}:${port}`];
  }
  const addresses = interfaces()
    .filter((info) => info.family === "IPv4")
    .map((info) => info.address);
  return [...new Set(addresses.length ? addresses : ["127.0.0.1"])].map((address) =>
    `http://${address}:${port}`
  );
}
