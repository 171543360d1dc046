import type { Hono } from "@hono/hono";
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import type { MjpegStreams } from "../live/mjpeg_streams.ts";
import { messageOf } from "../errors.ts";

/** Options for {@linkcode listen}. */
export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** How long shutdown() waits for requests to finish before closing them. Default 3 s. */
  shutdownGraceMs?: number;
  /**
   * Most connections open at once; a new one beyond closes the least recently active. Default
   * 128, lowered to fit the open-files limit (3 descriptors each, 64 kept free).
   */
  maxConnections?: number;
  /** Most connections from one client address; beyond, its least recently active closes. Default 32. */
  maxConnectionsPerClient?: number;
  /** A connection must have sent its first request head within this. Default 10 s. */
  headerTimeoutMs?: number;
  /** A connection with no byte either way for this long is closed. Default 60 s. */
  idleTimeoutMs?: number;
  /** First wait after a failure (accept, listen); doubles up to `retryMaxMs`. Default 100 ms. */
  retryMinMs?: number;
  /** Longest wait between attempts. Default 5 s. */
  retryMaxMs?: number;
  /** Where failures and recoveries are told. Default: stderr. */
  log?: (message: string) => void;
}

/** What the HTTP server is doing, for the status. */
export interface ListenStatus {
  /** `retrying`: it failed (e.g. out of file descriptors) and tries again at `retryAt`. */
  state: "listening" | "retrying" | "stopped";
  /** Times the inner HTTP server failed and was started again. */
  restarts: number;
  /** The last failure, as a sentence; null when there was none. */
  lastError: string | null;
  /** When the current state began, ms since the epoch. */
  since: number;
  /** When the next attempt is due (state `retrying`), ms since the epoch. */
  retryAt: number | null;
  /** Connections open now. */
  connections: number;
  /** The cap on connections: `maxConnections`, lowered to fit the open-files limit. */
  maxConnections: number;
  /** Idle connections closed to make room for newer ones (the caps). */
  evicted: number;
  /** New connections closed at once: the caps were reached and none was idle. */
  refused: number;
  /** Connections closed for sending no request head in time, or for idling. */
  timedOut: number;
  /** Times accepting a connection failed (e.g. "Too many open files"). */
  acceptErrors: number;
}

/** A listening server. */
export interface Listening {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  /** The server's state, failures, restarts and connections. */
  status(): ListenStatus;
  /**
   * Ends open live-view streams and stops accepting; resolves when the other requests have
   * finished, or after `shutdownGraceMs`, when every connection left is closed.
   */
  shutdown(): Promise<void>;
  /** Resolves once {@linkcode shutdown} has closed every connection. */
  readonly finished: Promise<void>;
}

/** Descriptors kept free of connections: clips, pipes to ffmpeg and the camera, /proc reads. */
const RESERVED_FDS = 64;

/** The soft limit on open files (`ulimit -n`, systemd's LimitNOFILE), from /proc; 1024 if unknown. */
export function openFilesLimit(limits?: string): number {
  try {
    limits ??= readFileSync("/proc/self/limits", "utf8");
  } catch {
    return 1024;
  }
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
  return soft === undefined ? 1024 : soft === "unlimited" ? Infinity : Number(soft);
}

/** A server (re)started after this long without failing starts its backoff from the minimum. */
const HEALTHY_MS = 30_000;

/**
 * Serves `app` on `host:port`; throws a sentence naming the address when it cannot listen.
 *
 * Nothing on the network may end or stall the recording, and `Deno.serve` alone cannot promise
 * that: it has no connection cap and no header or idle timeout, and JavaScript never sees a
 * connection that sent no request, so idle sockets use up the file descriptors; its accept then
 * fails with "Too many open files", it closes its listener and rejects `finished` (measured,
 * Deno 2.9.6). So the address is served by a small relay that accepts every connection itself
 * ({@linkcode ConnectionGuard}: caps, timeouts, an accept loop that survives errors) and pipes
 * it to `Deno.serve` on a loopback port, which is restarted with backoff if it ever fails.
 */
export function listen(app: Hono, streams: MjpegStreams, options: ListenOptions): Listening {
  const log = options.log ?? ((message: string) => console.error(message));
  // Deno 2.9.6 panics (aborts the whole process, uncatchable) the first time it formats an
  // error's stack while no file descriptor is free: it reads /proc/self/maps for the stack
  // limit once per thread. Formatting one now, while descriptors are free, caches that limit.
  void new Error("Stack limit, looked up while descriptors are free").stack;

  // Each relayed connection holds three descriptors (client, relay → server, server side).
  const fitting = Math.max(8, Math.floor((openFilesLimit() - RESERVED_FDS) / 3));
  const maxConnections = Math.min(options.maxConnections ?? 128, fitting);

  let guard: ConnectionGuard;
  const inner = new InnerServer(
    (request, info) => app.fetch(request, { remoteAddr: guard.clientOf(info.remoteAddr) }),
    { ...options, log },
  );
  try {
    guard = new ConnectionGuard(inner, { ...options, maxConnections, log });
  } catch (error) {
    void inner.shutdown(0);
    const reason = error instanceof Deno.errors.AddrInUse
      ? "the address is already in use"
      : messageOf(error);
    throw new Error(`Cannot listen on ${options.host}:${options.port}: ${reason}`);
  }
  const { port } = guard;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => resolveFinished = resolve);
  return {
    url: `http://${host}:${port}`,
    port,
    finished,
    status: () => ({ ...inner.status(), ...guard.status() }),
    async shutdown() {
      guard.stopAccepting();
      await streams.closeAll();
      await inner.shutdown(options.shutdownGraceMs ?? 3000);
      guard.closeAll();
      resolveFinished();
    },
  };
}

/** Options for {@linkcode InnerServer}. */
interface InnerServerOptions {
  retryMinMs?: number;
  retryMaxMs?: number;
  log: (message: string) => void;
}

/**
 * `Deno.serve` on a free loopback port, started again with backoff (100 ms doubling to 5 s)
 * whenever it fails. A failed server is shut down, which also closes the connections that never
 * sent a request: Deno keeps them open otherwise, and their descriptors stay used up.
 */
class InnerServer {
  #handler: Deno.ServeHandler<Deno.NetAddr>;
  #options: InnerServerOptions;
  #state: Pick<ListenStatus, "state" | "restarts" | "lastError" | "since" | "retryAt"> = {
    state: "listening",
    restarts: 0,
    lastError: null,
    since: Date.now(),
    retryAt: null,
  };
  // Every server not fully shut down: a failed one still serves the requests it has.
  #servers = new Map<Deno.HttpServer<Deno.NetAddr>, Promise<void> | null>();
  #current: Deno.HttpServer<Deno.NetAddr> | null = null;
  #stopped = false;
  #retryDelay: number;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(handler: Deno.ServeHandler<Deno.NetAddr>, options: InnerServerOptions) {
    this.#handler = handler;
    this.#options = options;
    this.#retryDelay = options.retryMinMs ?? 100;
    this.#serve();
  }

  /** The loopback port to relay to; null while the server is down. */
  get port(): number | null {
    return this.#current?.addr.port ?? null;
  }

  status() {
    return { ...this.#state };
  }

  /** Gracefully shuts every server down; resolves then or after `graceMs`. */
  async shutdown(graceMs: number): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    Object.assign(this.#state, { state: "stopped", since: Date.now(), retryAt: null });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([...this.#servers.keys()].map((server) => this.#shutDown(server))),
      new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
    ]);
    clearTimeout(timer);
  }

  #serve(): void {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      // Hono answers its own errors; this is for anything that escapes it.
      onError: (error) =>
        Response.json({ error: `Internal error: ${messageOf(error)}` }, { status: 500 }),
    }, this.#handler);
    const startedAt = Date.now();
    this.#servers.set(server, null);
    this.#current = server;
    server.finished.catch((error) => {
      void this.#shutDown(server).then(() => this.#servers.delete(server));
      if (server === this.#current && !this.#stopped) this.#failed(error, startedAt);
    });
  }

  #shutDown(server: Deno.HttpServer<Deno.NetAddr>): Promise<void> {
    let ending = this.#servers.get(server);
    if (!ending) {
      ending = server.shutdown().catch(() => {});
      this.#servers.set(server, ending);
    }
    return ending;
  }

  #failed(error: unknown, startedAt: number): void {
    const min = this.#options.retryMinMs ?? 100;
    this.#current = null;
    if (Date.now() - startedAt > HEALTHY_MS) this.#retryDelay = min;
    const reason = messageOf(error);
    Object.assign(this.#state, {
      state: "retrying",
      lastError: `HTTP server failed: ${reason}`,
      since: Date.now(),
      retryAt: Date.now() + this.#retryDelay,
    });
    this.#options.log(
      `HTTP server failed (${reason}); recording goes on, listening again in ` +
        `${this.#retryDelay} ms`,
    );
    this.#retryTimer = setTimeout(() => this.#retry(), this.#retryDelay);
    this.#retryDelay = Math.min(this.#retryDelay * 2, this.#options.retryMaxMs ?? 5_000);
  }

  #retry(): void {
    if (this.#stopped) return;
    try {
      this.#serve();
    } catch (error) {
      this.#failed(error, Date.now());
      return;
    }
    this.#state.restarts++;
    Object.assign(this.#state, { state: "listening", since: Date.now(), retryAt: null });
    this.#options.log(`HTTP server listening again (restart ${this.#state.restarts})`);
  }
}

/** One relayed connection. */
interface Relay {
  client: Deno.TcpConn;
  upstream: Deno.TcpConn | null;
  address: string;
  openedAt: number;
  /** Last byte read from the client or written to it. */
  activeAt: number;
  /** The first request head (up to its blank line) has arrived. */
  headed: boolean;
  /** How much of "\r\n\r\n" the bytes so far end with. */
  matched: number;
  closed: boolean;
}

/** Options for {@linkcode ConnectionGuard}: the listen options it enforces, and where to log. */
type ConnectionGuardOptions =
  & Pick<
    ListenOptions,
    | "host"
    | "port"
    | "maxConnections"
    | "maxConnectionsPerClient"
    | "headerTimeoutMs"
    | "idleTimeoutMs"
    | "retryMinMs"
    | "retryMaxMs"
  >
  & { log: (message: string) => void };

const HEAD_END = [13, 10, 13, 10];
const ACCEPTS_PER_SECOND = 200;

/**
 * Accepts every connection itself and relays its bytes to the inner server, so that it can
 * close what `Deno.serve` cannot: connections beyond the caps (from the client holding the
 * most: one that never sent a request first, else the least recently active), ones that send no request head in time (slowloris) and
 * ones idle both ways (including a viewer that stopped reading). Its accept loop waits and
 * tries again after an error instead of closing the listener.
 */
class ConnectionGuard {
  readonly port: number;
  #listener: Deno.TcpListener;
  #inner: InnerServer;
  #options: ConnectionGuardOptions;
  #relays = new Set<Relay>();
  /** Inner server's view (the relay's local port) → the client's address. */
  #byLocalPort = new Map<number, Deno.NetAddr>();
  #stats = { evicted: 0, refused: 0, timedOut: 0, acceptErrors: 0 };
  /** Accepts left this second: connection churn may not take the event loop from recording. */
  #tokens = ACCEPTS_PER_SECOND;
  #refilledAt = Date.now();
  #sweeper: ReturnType<typeof setInterval>;
  #accepting = true;

  constructor(inner: InnerServer, options: ConnectionGuardOptions) {
    this.#inner = inner;
    this.#options = options;
    this.#listener = Deno.listen({ hostname: options.host, port: options.port });
    this.port = this.#listener.addr.port;
    this.#sweeper = setInterval(() => this.#sweep(), 1000);
    void this.#acceptLoop();
  }

  /** The client behind a connection the inner server got from this relay. */
  clientOf(address: Deno.NetAddr): Deno.NetAddr {
    return this.#byLocalPort.get(address.port) ?? address;
  }

  status() {
    return {
      connections: this.#relays.size,
      maxConnections: this.#options.maxConnections ?? 128,
      ...this.#stats,
    };
  }

  stopAccepting(): void {
    this.#accepting = false;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
  }

  closeAll(): void {
    clearInterval(this.#sweeper);
    for (const relay of this.#relays) this.#close(relay);
  }

  async #acceptLoop(): Promise<void> {
    const min = this.#options.retryMinMs ?? 100;
    let delay = min;
    while (this.#accepting) {
      const now = Date.now();
      this.#tokens = Math.min(
        ACCEPTS_PER_SECOND,
        this.#tokens + (now - this.#refilledAt) * ACCEPTS_PER_SECOND / 1000,
      );
      this.#refilledAt = now;
      if (this.#tokens < 1) {
        // The rest wait in the kernel's backlog (which refuses them once full).
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      this.#tokens--;
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (!this.#accepting) return;
        this.#stats.acceptErrors++;
        if (delay === min) {
          this.#options.log(
            `Cannot accept a connection: ${messageOf(error)}; recording goes on, trying again`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, this.#options.retryMaxMs ?? 5_000);
        continue;
      }
      delay = min;
      void this.#relay(conn);
    }
  }

  async #relay(client: Deno.TcpConn): Promise<void> {
    const now = Date.now();
    const address = client.remoteAddr.hostname;
    const relay: Relay = {
      client,
      upstream: null,
      address,
      openedAt: now,
      activeAt: now,
      headed: false,
      matched: 0,
      closed: false,
    };
    if (!this.#makeRoom(address)) {
      this.#stats.refused++;
      client.close();
      return;
    }
    this.#relays.add(relay);
    // The inner server is reached only once the client has sent something: an idle
    // connection holds one descriptor here and nothing there.
    const buffer = new Uint8Array(16 * 1024);
    let first: number | null;
    try {
      first = await client.read(buffer);
      const port = this.#inner.port;
      if (first === null || port === null || relay.closed) throw new Error("Nothing to relay");
      relay.activeAt = Date.now();
      this.#scan(relay, buffer.subarray(0, first));
      relay.upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      if (relay.closed) throw new Error("Evicted meanwhile");
    } catch {
      relay.upstream?.close();
      relay.upstream = null;
      this.#close(relay);
      return;
    }
    const { upstream } = relay;
    const local = upstream.localAddr.port;
    this.#byLocalPort.set(local, client.remoteAddr);
    try {
      await writeAll(upstream, buffer.subarray(0, first));
    } catch {
      this.#close(relay);
    }
    await Promise.all([this.#up(relay, upstream, buffer), this.#down(relay, upstream)]);
    this.#byLocalPort.delete(local);
  }

  /** Client → inner server, watching for the end of the first request head. */
  async #up(relay: Relay, upstream: Deno.TcpConn, buffer: Uint8Array): Promise<void> {
    try {
      while (true) {
        const n = await relay.client.read(buffer);
        if (n === null) break;
        relay.activeAt = Date.now();
        if (!relay.headed) this.#scan(relay, buffer.subarray(0, n));
        await writeAll(upstream, buffer.subarray(0, n));
      }
      await upstream.closeWrite(); // the client is done sending; the answer may still come
    } catch {
      this.#close(relay);
    }
  }

  /** Inner server → client; activity counts once the client took the bytes. */
  async #down(relay: Relay, upstream: Deno.TcpConn): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await upstream.read(buffer);
        if (n === null) break;
        await writeAll(relay.client, buffer.subarray(0, n));
        relay.activeAt = Date.now();
      }
    } catch {
      // Either side closed.
    }
    this.#close(relay);
  }

  #scan(relay: Relay, bytes: Uint8Array): void {
    for (const byte of bytes) {
      relay.matched = byte === HEAD_END[relay.matched] ? relay.matched + 1 : byte === 13 ? 1 : 0;
      if (relay.matched === 4) {
        relay.headed = true;
        return;
      }
    }
  }

  /**
   * Before admitting a connection from `address`: when a cap would be exceeded, closes one of
   * the heaviest client's connections that never sent a request head (the least recently
   * active), or returns false to refuse the new one when there is none.
   */
  #makeRoom(address: string): boolean {
    const perClient = this.#options.maxConnectionsPerClient ?? 32;
    const total = this.#options.maxConnections ?? 128;
    const counts = new Map<string, number>();
    for (const relay of this.#relays) {
      counts.set(relay.address, (counts.get(relay.address) ?? 0) + 1);
    }
    let from: string;
    if ((counts.get(address) ?? 0) >= perClient) from = address;
    else if (this.#relays.size >= total) {
      from = [...counts].reduce((most, entry) => entry[1] > most[1] ? entry : most)[0];
    } else return true;
    let oldest: Relay | null = null;
    for (const relay of this.#relays) {
      if (relay.address !== from || relay.headed) continue;
      if (!oldest || relay.activeAt < oldest.activeAt) oldest = relay;
    }
    if (!oldest) return false;
    this.#stats.evicted++;
    this.#close(oldest);
    return true;
  }

  #sweep(): void {
    const now = Date.now();
    const header = this.#options.headerTimeoutMs ?? 10_000;
    const idle = this.#options.idleTimeoutMs ?? 60_000;
    for (const relay of this.#relays) {
      if ((!relay.headed && now - relay.openedAt > header) || now - relay.activeAt > idle) {
        this.#stats.timedOut++;
        this.#close(relay);
      }
    }
  }

  #close(relay: Relay): void {
    this.#relays.delete(relay);
    if (relay.closed) return;
    relay.closed = true;
    for (const conn of [relay.client, relay.upstream]) {
      try {
        conn?.close();
      } catch {
        // Already closed.
      }
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/**
 * URLs a person can open: the address itself, or for a wildcard address (`0.0.0.0`, `::`) each
 * of the machine's IPv4 addresses (the Pi's Wi-Fi address is the one a phone needs).
 */
export function reachableUrls(
  host: string,
  port: number,
  interfaces: () => { family: string | number; address: string }[] = () =>
    Object.values(networkInterfaces()).flat().filter((info) => info !== undefined),
): string[] {
  if (host !== "0.0.0.0" && host !== "::") {
    return [`http://${host.includes(":") ? `[${host}]` : host}:${port}`];
  }
  const addresses = interfaces()
    // Node 18.0-18.3 said 4.
    .filter((info) => info.family === "IPv4" || info.family === 4)
    .map((info) => info.address);
  return [...new Set(addresses.length ? addresses : ["127.0.0.1"])].map((address) =>
    `http://${address}:${port}`
  );
}
