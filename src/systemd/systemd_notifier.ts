/**
 * sd_notify(3) for Deno: tells systemd that the service is ready (`READY=1`), still alive
 * (`WATCHDOG=1`), what it is doing (`STATUS=...`) and that it is stopping (`STOPPING=1`).
 *
 * The message is one datagram to the unix socket named by `$NOTIFY_SOCKET`. Deno can send it
 * itself with `Deno.listenDatagram` (needs `--unstable-net`, baked into the compiled binary);
 * without that API the notifier runs `systemd-notify` instead. Without `$NOTIFY_SOCKET` (not
 * started by systemd, or not `Type=notify`) every call is a no-op. On Node there is no
 * datagram API for unix sockets, so it always runs `systemd-notify`.
 *
 * @module
 */

import process from "node:process";
import { runtime } from "../runtime/current.ts";

/** How a {@linkcode SystemdNotifier} reaches systemd. */
export type NotifyTransport = "datagram" | "systemd-notify";

/** Options for {@linkcode SystemdNotifier}. */
export interface SystemdNotifierOptions {
  /**
   * The notify socket: a file system path, or `@name` for an abstract socket. Default
   * `$NOTIFY_SOCKET`; when there is none, the notifier does nothing.
   */
  socket?: string;
  /**
   * How to send. Default `"datagram"` when `Deno.listenDatagram` exists (`--unstable-net`),
   * else `"systemd-notify"`.
   */
  transport?: NotifyTransport;
  /** The program for the `"systemd-notify"` transport. Default `"systemd-notify"`. */
  systemdNotify?: string;
  /** Called when a message cannot be sent. Default: one line on stderr. */
  onError?: (error: Error) => void;
}

/** A value of a notify field; numbers are written in decimal. */
export type NotifyValue = string | number;

// Deno.listenDatagram is typed only with the unstable "net" types, which this module must not
// require from its importers, so the few members used are declared here.
interface UnixAddress {
  transport: "unixpacket";
  path: string;
}
interface DatagramSocket {
  send(data: Uint8Array, address: UnixAddress): Promise<number>;
  close(): void;
}
type ListenDatagram = (options: UnixAddress) => DatagramSocket;

function listenDatagramApi(): ListenDatagram | undefined {
  // Not on Node, where there is no Deno at all.
  const deno = (globalThis as unknown as { Deno?: { listenDatagram?: ListenDatagram } }).Deno;
  const api = deno?.listenDatagram;
  return typeof api === "function" ? api.bind(deno) : undefined;
}

/** Whether `error` is Deno's "no permission" (a binary built without the flag it needs). */
function isNotCapable(error: unknown): boolean {
  const deno = (globalThis as unknown as { Deno?: { errors?: { NotCapable?: new () => Error } } })
    .Deno;
  const notCapable = deno?.errors?.NotCapable;
  return notCapable !== undefined && error instanceof notCapable;
}

const FIELD_NAME = /^[A-Z][A-Z0-9_]*$/;

/**
 * Sends sd_notify messages to systemd.
 *
 * @example
 * ```ts ignore
 * import { SystemdNotifier } from "./systemd_notifier.ts";
 *
 * const notifier = new SystemdNotifier();
 * await notifier.ready("Recording");
 * // ...
 * await notifier.stopping("Closing the current clip");
 * notifier.close();
 * ```
 */
export class SystemdNotifier {
  readonly #socket: string | undefined;
  readonly #systemdNotify: string;
  readonly #onError: (error: Error) => void;
  #transport: NotifyTransport;
  #datagram: DatagramSocket | undefined;
  #closed = false;

  /** Creates a notifier; it opens nothing until the first message. */
  constructor(options: SystemdNotifierOptions = {}) {
    const socket = options.socket ?? process.env.NOTIFY_SOCKET;
    this.#socket = socket === "" ? undefined : socket;
    this.#systemdNotify = options.systemdNotify ?? "systemd-notify";
    this.#onError = options.onError ??
      ((error) => console.error(`Cannot notify systemd: ${error.message}`));
    if (options.transport === "datagram" && listenDatagramApi() === undefined) {
      throw new TypeError(
        'Cannot use transport "datagram": Deno.listenDatagram needs --unstable-net',
      );
    }
    this.#transport = options.transport ??
      (listenDatagramApi() !== undefined ? "datagram" : "systemd-notify");
  }

  /** False when there is no notify socket, so every call does nothing. */
  get enabled(): boolean {
    return this.#socket !== undefined && !this.#closed;
  }

  /** How messages are sent (it changes to `"systemd-notify"` if the datagram socket fails). */
  get transport(): NotifyTransport {
    return this.#transport;
  }

  /**
   * Sends one message with the given fields, e.g. `{ READY: 1, STATUS: "Recording" }`.
   * Never throws for a failed send: it reports the error to `onError` and returns false.
   *
   * @returns True when the message was sent, false when disabled or the send failed.
   * @throws {TypeError} When a field name is not upper case, or a value holds a newline.
   */
  async notify(fields: Readonly<Record<string, NotifyValue>>): Promise<boolean> {
    const lines = Object.entries(fields).map(([name, value]) => {
      if (!FIELD_NAME.test(name)) {
        throw new TypeError(`Cannot notify systemd: invalid field name "${name}"`);
      }
      const text = String(value);
      if (/[\n\0]/.test(text)) {
        throw new TypeError(`Cannot notify systemd: the value of ${name} holds a line break`);
      }
      return `${name}=${text}`;
    });
    if (!this.enabled || lines.length === 0) return false;
    const message = lines.join("\n") + "\n";
    try {
      if (this.#transport === "datagram") {
        try {
          await this.#sendDatagram(message);
          return true;
        } catch (error) {
          // No permission for the socket (a binary built without --allow-net/--allow-write):
          // systemd-notify may still get through.
          if (!isNotCapable(error)) throw error;
          this.#transport = "systemd-notify";
        }
      }
      await this.#runSystemdNotify(lines);
      return true;
    } catch (error) {
      this.#onError(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
  }

  /** `READY=1`: start-up is done (with `Type=notify`, systemd waits for this). */
  ready(status?: string): Promise<boolean> {
    return this.notify(status === undefined ? { READY: 1 } : { READY: 1, STATUS: oneLine(status) });
  }

  /** `STATUS=...`: the line `systemctl status` shows. */
  status(text: string): Promise<boolean> {
    return this.notify({ STATUS: oneLine(text) });
  }

  /** `WATCHDOG=1`: the service is alive; systemd restarts it when these stop for `WatchdogSec`. */
  watchdog(): Promise<boolean> {
    return this.notify({ WATCHDOG: 1 });
  }

  /** `STOPPING=1`: shutdown has begun. */
  stopping(status?: string): Promise<boolean> {
    return this.notify(
      status === undefined ? { STOPPING: 1 } : { STOPPING: 1, STATUS: oneLine(status) },
    );
  }

  /** Closes the datagram socket; later calls do nothing. */
  close(): void {
    this.#closed = true;
    this.#datagram?.close();
    this.#datagram = undefined;
  }

  async #sendDatagram(message: string): Promise<void> {
    const socket = this.#socket!;
    if (this.#datagram === undefined) {
      const listenDatagram = listenDatagramApi()!;
      // Deno cannot send from an unbound socket, and refuses the empty path (autobind) unless
      // run with -A, so bind a unique abstract name: no file to clean up afterwards.
      const name = `\0videorecorder-notify-${process.pid}-${crypto.randomUUID()}`;
      this.#datagram = listenDatagram({ transport: "unixpacket", path: name });
    }
    // "@name" is how systemd writes an abstract socket address.
    const path = socket.startsWith("@") ? `\0${socket.slice(1)}` : socket;
    await this.#datagram.send(new TextEncoder().encode(message), {
      transport: "unixpacket",
      path,
    });
  }

  async #runSystemdNotify(lines: string[]): Promise<void> {
    // The message comes from a child, which systemd accepts only with NotifyAccess=all (set
    // in the unit). --pid makes it also name us: systemd-notify exits at once, and a message
    // whose sender is already gone may not be matched to the service.
    const output = await runtime().output(this.#systemdNotify, {
      args: [`--pid=${process.pid}`, ...lines],
      env: { NOTIFY_SOCKET: this.#socket! },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(5_000),
    });
    if (!output.success) {
      const stderr = new TextDecoder().decode(output.stderr).trim();
      throw new Error(
        `${this.#systemdNotify} exited with code ${output.code}` + (stderr ? `: ${stderr}` : ""),
      );
    }
  }
}

/** STATUS= is one line: line breaks become spaces. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\0]+/g, " ").trim();
}
