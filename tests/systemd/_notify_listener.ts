/** A real notify socket, as systemd binds it: a unix datagram socket in a temp dir. */

interface DatagramSocket {
  receive(): Promise<[Uint8Array, unknown]>;
  close(): void;
}
type ListenDatagram = (options: { transport: "unixpacket"; path: string }) => DatagramSocket;

/** Receives what is sent to it, one string per datagram. */
export class NotifyListener {
  /** The address as `$NOTIFY_SOCKET` gives it: a path, or `@name` for an abstract socket. */
  readonly address: string;
  readonly #dir: string;
  readonly #socket: DatagramSocket;
  readonly #queue: string[] = [];
  #wake: (() => void) | undefined;
  #reading: Promise<void>;

  private constructor(dir: string, abstract: boolean) {
    const listenDatagram = (Deno as unknown as { listenDatagram?: ListenDatagram })
      .listenDatagram;
    if (typeof listenDatagram !== "function") {
      throw new Error(
        'Deno.listenDatagram is missing: run the tests with --unstable-net ("unstable": ["net"])',
      );
    }
    this.#dir = dir;
    const name = `videorecorder-test-${crypto.randomUUID()}`;
    this.address = abstract ? `@${name}` : `${dir}/notify`;
    this.#socket = listenDatagram({
      transport: "unixpacket",
      path: abstract ? `\0${name}` : this.address,
    });
    this.#reading = this.#read();
  }

  /** Binds a new socket in a temp dir, or in the abstract namespace. */
  static async open(options: { abstract?: boolean } = {}): Promise<NotifyListener> {
    const dir = await Deno.makeTempDir({ prefix: "notify_" });
    return new NotifyListener(dir, options.abstract ?? false);
  }

  /** The next message, or undefined when none comes within `timeoutMs`. */
  async next(timeoutMs = 3_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return this.#queue.shift();
  }

  /** Everything received within `ms`. */
  async collect(ms: number): Promise<string[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.#queue.splice(0);
  }

  async close(): Promise<void> {
    this.#socket.close();
    await this.#reading;
    await Deno.remove(this.#dir, { recursive: true });
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      while (true) {
        const [data] = await this.#socket.receive();
        const text = decoder.decode(data);
        // systemd-notify follows its message with a barrier (an fd to close); not a message.
        if (text === "BARRIER=1") continue;
        this.#queue.push(text);
        this.#wake?.();
      }
    } catch {
      // Closed.
    }
  }
}
