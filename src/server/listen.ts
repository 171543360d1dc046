import type { Hono } from "@hono/hono";
import type { MjpegStreams } from "./mjpeg_streams.ts";

/** Options for {@linkcode listen}. */
export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
}

/** A listening server. */
export interface Listening {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  /** Ends open live-view streams, then stops the server once other requests finish. */
  shutdown(): Promise<void>;
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
      : error instanceof Error
      ? error.message
      : String(error);
    throw new Error(`Cannot listen on ${options.host}:${options.port}: ${reason}`);
  }
  const { port } = server.addr;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    async shutdown() {
      streams.closeAll();
      await server.shutdown();
    },
  };
}
