import type { Hono } from "@hono/hono";
import type { MjpegStreams } from "./mjpeg_streams.ts";
import { messageOf } from "../errors.ts";

/** Options for {@linkcode listen}. */
export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** How long shutdown() waits for connections to finish. Default 3 s. */
  shutdownGraceMs?: number;
}

/** A listening server. */
export interface Listening {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  /**
   * Ends open live-view streams and stops accepting; resolves when the other requests have
   * finished, or after `shutdownGraceMs` (see {@linkcode finished}).
   */
  shutdown(): Promise<void>;
  /**
   * Resolves when every connection is closed. A client that stopped reading keeps its
   * connection blocked in a write the server cannot cancel (`Deno.serve` has no forced
   * close), so this may only happen when that client goes away or the process exits.
   */
  readonly finished: Promise<void>;
}

/** Serves `app` with `Deno.serve`; throws a sentence naming the address when it cannot listen. */
export function listen(app: Hono, streams: MjpegStreams, options: ListenOptions): Listening {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.host,
      port: options.port,
      onListen: () => {},
    }, app.fetch);
  } catch (error) {
    const reason = error instanceof Deno.errors.AddrInUse
      ? "the address is already in use"
      : messageOf(error);
    throw new Error(`Cannot listen on ${options.host}:${options.port}: ${reason}`);
  }
  const { port } = server.addr;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    finished: server.finished,
    async shutdown() {
      await streams.closeAll();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        server.shutdown(),
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
