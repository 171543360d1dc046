/** Real archive servers for the tests: Debian's rclone serving SFTP or WebDAV on 127.0.0.1. */
import { join } from "node:path";
import { run, waitFor } from "../_helpers.ts";

/** A free TCP port on 127.0.0.1 (free when asked; the server binds it right after). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** `rclone obscure TEXT`: the form rclone takes passwords in, on its command line too. */
export async function obscure(text: string): Promise<string> {
  return new TextDecoder().decode(await run(["rclone", "obscure", text])).trim();
}

/** A running `rclone serve sftp|webdav` over `dir`, user `u`, password `p`. */
export class RcloneServer {
  readonly kind: "sftp" | "webdav";
  readonly dir: string;
  readonly port: number;
  #child: Deno.ChildProcess | null = null;
  #pass: Promise<string> | null = null;

  private constructor(kind: "sftp" | "webdav", dir: string, port: number) {
    this.kind = kind;
    this.dir = dir;
    this.port = port;
  }

  /** Serves `dir` on a free port (or `port`) and waits until it accepts connections. */
  static async start(
    kind: "sftp" | "webdav",
    dir: string,
    port = freePort(),
  ): Promise<RcloneServer> {
    const server = new RcloneServer(kind, dir, port);
    await server.restart();
    return server;
  }

  /** The inline remote for the archiver: `:sftp,host=127.0.0.1,port=N,user=u,pass=OBSCURED:`. */
  async remote(path = ""): Promise<string> {
    const pass = await this.obscuredPass();
    if (this.kind === "sftp") {
      // shell_type: rclone would otherwise try to save what it found out into rclone.conf.
      return `:sftp,host=127.0.0.1,port=${this.port},user=u,pass=${pass},shell_type=unix:${path}`;
    }
    return `:webdav,url='http://127.0.0.1:${this.port}',user=u,pass=${pass}:${path}`;
  }

  /** The password as the remote strings give it (obscure's output differs each run). */
  obscuredPass(): Promise<string> {
    return this.#pass ??= obscure("p");
  }

  /** Starts the server again (same port, same folder) after {@linkcode kill}. */
  async restart(): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    this.#child = new Deno.Command("rclone", {
      args: [
        "serve",
        this.kind,
        "--addr",
        `127.0.0.1:${this.port}`,
        "--user",
        "u",
        "--pass",
        "p",
        this.dir,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitFor(`rclone serve ${this.kind} on ${this.port}`, async () => {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        conn.close();
        return true;
      } catch {
        return false;
      }
    }, 20_000);
  }

  /** Kills the server at once (SIGKILL), as a NAS switched off or a network gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child) return;
    try {
      child.kill("SIGKILL");
    } catch {
      // gone already
    }
    await child.status;
  }

  /** The files under `folder` on the server, by name. */
  async files(folder: string): Promise<Map<string, Uint8Array>> {
    const files = new Map<string, Uint8Array>();
    try {
      for await (const entry of Deno.readDir(join(this.dir, folder))) {
        if (entry.isFile) {
          files.set(entry.name, await Deno.readFile(join(this.dir, folder, entry.name)));
        }
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return files;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }
}
