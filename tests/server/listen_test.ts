/** The HTTP server against descriptor exhaustion: the real program in a child, real sockets. */
import assert from "node:assert/strict";
import { parseClipName } from "../../src/storage/clip_name.ts";
import { waitFor } from "../_helpers.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

/** `mod.ts` under `ulimit -n limit` (bash execs Deno: same pid), recording a small test pattern. */
async function startUnderLimit(limit: number, output: string) {
  const argv = [
    Deno.execPath(),
    "run",
    "--allow-all",
    MOD,
    ...["--host", "127.0.0.1", "--port", "0", "--no-auth", "--source", "test"],
    ...["--width", "160", "--height", "120", "--fps", "10", "--segment", "1", "--output", output],
  ];
  const child = new Deno.Command("bash", {
    args: ["-c", `ulimit -n ${limit} && exec "$@"`, "bash", ...argv],
    env: { NO_COLOR: "1", XDG_CONFIG_HOME: await Deno.makeTempDir() },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) log += text;
  })();
  let exit: number | null = null;
  const status = child.status.then((status) => exit = status.code);
  const url = await waitFor("the URL", () => {
    if (exit !== null) throw new Error(`mod.ts exited with ${exit}; stderr:\n${log}`);
    return /Open (http:\/\/\S+?)\/?\s/.exec(log)?.[1];
  }, 20_000);
  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid,
    get log() {
      return log;
    },
    get exit() {
      return exit;
    },
    async stop(): Promise<number> {
      if (exit === null) child.kill("SIGTERM");
      await status;
      await reading;
      return exit!;
    },
  };
}

async function closedClips(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const clip = parseClipName(entry.name);
    if (entry.isFile && clip && !clip.recording) names.push(entry.name);
  }
  return names.sort();
}

/**
 * Keeps up to `count` idle connections (that never send a byte) open to `port`, opening new ones
 * as the server drops them, until `stop()`; returns how many were opened in all.
 */
function idleConnections(port: number, count: number) {
  const open = new Set<Deno.Conn>();
  let opened = 0;
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      while (!stopped && open.size < count) {
        let conn: Deno.Conn;
        try {
          conn = await Deno.connect({ hostname: "127.0.0.1", port });
        } catch {
          break; // refused while the server is down: try again shortly
        }
        opened++;
        open.add(conn);
        // A read returns null (or throws) when the server closes its side.
        void conn.read(new Uint8Array(1)).catch(() => null).finally(() => {
          open.delete(conn);
          try {
            conn.close();
          } catch {
            // Closed by stop().
          }
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    get open() {
      return open.size;
    },
    get opened() {
      return opened;
    },
    async stop(): Promise<number> {
      stopped = true;
      await running;
      for (const conn of open) conn.close();
      open.clear();
      return opened;
    },
  };
}

Deno.test("listen survives descriptor exhaustion by idle connections: recording goes on, HTTP comes back", async () => {
  const output = await Deno.makeTempDir({ prefix: "listen_test_" });
  const recorder = await startUnderLimit(256, output);
  try {
    await waitFor("a first closed clip", async () => (await closedClips(output)).length >= 1);
    const before = (await closedClips(output)).length;

    // 400 idle sockets against a limit of 256: accept fails with "Too many open files".
    const attack = idleConnections(recorder.port, 400);
    await waitFor("the server to fail", () => {
      if (recorder.exit !== null) {
        throw new Error(`mod.ts exited ${recorder.exit}:\n${recorder.log}`);
      }
      return /HTTP server failed/.test(recorder.log);
    }, 20_000);
    // Clips keep being closed and renamed while the attacker keeps re-filling the descriptors.
    await waitFor(
      "3 more closed clips during the attack",
      async () => (await closedClips(output)).length >= before + 3,
      20_000,
    );
    const opened = await attack.stop();
    assert.equal(recorder.exit, null, `the recorder is alive; stderr:\n${recorder.log}`);
    assert.ok(opened >= 256, `opened ${opened} connections`);
    assert.match(recorder.log, /Too many open files/);
    assert.match(recorder.log, /recording goes on, listening again/);

    const status = await waitFor("the API to answer again", async () => {
      try {
        const response = await fetch(`${recorder.url}/api/status`);
        return response.ok ? await response.json() : null;
      } catch {
        return null;
      }
    }, 15_000);
    assert.equal(status.http.state, "listening");
    assert.ok(status.http.restarts >= 1, `restarts ${status.http.restarts}`);
    assert.match(status.http.last_error, /^HTTP server failed: .*Too many open files/);
    assert.equal(status.recorder.recording, true);

    assert.equal(await recorder.stop(), 0, recorder.log);
    for (const name of await Array.fromAsync(Deno.readDir(output))) {
      assert.ok(!parseClipName(name.name)?.recording, `${name.name} is closed after SIGTERM`);
    }
  } finally {
    await recorder.stop();
    await Deno.remove(output, { recursive: true });
  }
});
