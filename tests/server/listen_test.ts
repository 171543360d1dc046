/** The HTTP server against descriptor exhaustion: the real program in a child, real sockets. */
import assert from "node:assert/strict";
import { parseClipName } from "../../src/storage/clip_name.ts";
import { listen } from "../../src/server/listen.ts";
import type { MjpegStreams } from "../../src/live/mjpeg_streams.ts";
import { waitFor } from "../_helpers.ts";
import { DENO_RECORDER, type RunningRecorder, startRecorder } from "../_recorder_process.ts";

/** `mod.ts` under `ulimit -n limit` (bash execs Deno: same pid), recording a small test pattern. */
async function startUnderLimit(limit: number, output: string): Promise<RunningRecorder> {
  return await startRecorder(
    [
      ...["--no-auth", "--source", "test", "--width", "160", "--height", "120", "--fps", "10"],
      ...["--segment", "1", "--output", output],
    ],
    {
      // Deno's own descriptor handling is what this tests, on either runtime's test run.
      command: DENO_RECORDER,
      env: { XDG_CONFIG_HOME: await Deno.makeTempDir() },
      wrap: (argv) => ["bash", "-c", `ulimit -n ${limit} && exec "$@"`, "bash", ...argv],
    },
  );
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

Deno.test("listen caps idle connections: 400 against ulimit -n 256 leave recording and the API working", async () => {
  const output = await Deno.makeTempDir({ prefix: "listen_test_" });
  const recorder = await startUnderLimit(256, output);
  try {
    await waitFor("a first closed clip", async () => (await closedClips(output)).length >= 1);
    const before = (await closedClips(output)).length;

    // Without the cap, 400 idle sockets use up the 256 descriptors: the process exited 1.
    const attack = idleConnections(recorder.port, 400);
    await waitFor("200 connections opened", () => attack.opened >= 200, 20_000);
    // The API answers during the attack: each new connection closes the least recently active.
    const during = await waitFor("the API to answer during the attack", async () => {
      try {
        const response = await fetch(`${recorder.url}/api/status`);
        return response.ok ? await response.json() : null;
      } catch {
        return null;
      }
    }, 15_000);
    assert.ok(during.http.connections <= during.http.max_connections, JSON.stringify(during.http));
    assert.ok(during.http.max_connections <= 64, "3 descriptors each, 64 kept free of 256");
    assert.ok(during.http.evicted > 0);
    // Clips keep being closed and renamed while the attacker keeps re-filling its connections.
    await waitFor(
      "3 more closed clips during the attack",
      async () => (await closedClips(output)).length >= before + 3,
      20_000,
    );
    const opened = await attack.stop();
    assert.equal(recorder.exitCode, null, `the recorder is alive; stderr:\n${recorder.log}`);
    assert.ok(opened >= 256, `opened ${opened} connections`);
    assert.doesNotMatch(recorder.log, /Too many open files/);

    assert.equal(await recorder.stop(), 0, recorder.log);
    for (const name of await Array.fromAsync(Deno.readDir(output))) {
      assert.ok(!parseClipName(name.name)?.recording, `${name.name} is closed after SIGTERM`);
    }
  } finally {
    await recorder.stop();
    await Deno.remove(output, { recursive: true });
  }
});

Deno.test("listen survives accepting with no descriptor free and serves again once there are", async () => {
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n 128 && exec "$@"`,
      "bash",
      Deno.execPath(),
      "run",
      "--allow-all",
      new URL("./_exhaust_child.ts", import.meta.url).pathname,
    ],
    env: { NO_COLOR: "1" },
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
  try {
    const url = await waitFor("the URL", () => /Open (http:\/\/\S+?)\//.exec(log)?.[1]);
    const attack = idleConnections(Number(new URL(url).port), 30);
    await waitFor("accept to fail", () => /Cannot accept a connection: Too many open/.test(log));
    const beats = log.split("beat").length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(exit, null, `alive; stderr:\n${log}`);
    assert.ok(log.split("beat").length - beats >= 5, "the event loop went on");

    child.kill("SIGUSR1");
    await waitFor("the hoard to be released", () => log.includes("released"));
    await attack.stop();
    const answer = await waitFor("an answer again", async () => {
      try {
        const response = await fetch(url);
        return response.ok ? await response.json() : null;
      } catch {
        return null;
      }
    }, 15_000);
    assert.deepEqual(answer, { ok: true });
  } finally {
    if (exit === null) child.kill("SIGTERM");
    await status;
    await reading;
  }
  assert.equal(exit, 0, log.replaceAll("beat\n", ""));
});

Deno.test("listen closes connections that send no request head in time, idle ones, and beyond the cap", async () => {
  const { Hono } = await import("@hono/hono");
  const app = new Hono().get("/", (c) => c.json({ ok: true }));
  const server = listen(app, { closeAll: async () => {} } as unknown as MjpegStreams, {
    host: "127.0.0.1",
    port: 0,
    headerTimeoutMs: 300,
    idleTimeoutMs: 2500,
    maxConnections: 4,
    log: () => {},
  });
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const closedWithin = async (conn: Deno.Conn, ms: number) => {
    const buffer = new Uint8Array(4096);
    const deadline = Date.now() + ms;
    const timeout = new Promise<"open">((resolve) => setTimeout(() => resolve("open"), ms));
    while (Date.now() < deadline) {
      const n = await Promise.race([conn.read(buffer).catch(() => null), timeout]);
      if (n === "open") return false;
      if (n === null) return true;
    }
    return false;
  };
  try {
    const slow = await connect();
    await slow.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n")); // never ends
    assert.ok(await closedWithin(slow, 5_000), "slowloris closed");
    slow.close();

    const idle = await connect();
    await idle.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const answer = new Uint8Array(4096);
    assert.match(new TextDecoder().decode(answer.subarray(0, (await idle.read(answer))!)), /200/);
    assert.ok(await closedWithin(idle, 8_000), "kept alive, then idle: closed");
    idle.close();

    const crowd = await Promise.all(Array.from({ length: 10 }, connect));
    const response = await fetch(server.url);
    assert.deepEqual(await response.json(), { ok: true }, "a request gets in past idle ones");
    assert.ok(server.status().connections <= 4, JSON.stringify(server.status()));
    assert.ok(server.status().evicted >= 6);
    for (const conn of crowd) conn.close();
  } finally {
    await server.shutdown();
  }
});

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]);
}

Deno.test("videorecorder refuses a streamed 100 MiB PUT /api/settings with 413, RSS stays put", async () => {
  const output = await Deno.makeTempDir({ prefix: "listen_test_" });
  const recorder = await startUnderLimit(4096, output);
  try {
    await waitFor("a first closed clip", async () => (await closedClips(output)).length >= 1);
    const before = rssKiB(recorder.pid);
    const chunk = new Uint8Array(1024 * 1024).fill(0x61);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 100) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(`${recorder.url}/api/settings`, {
      method: "PUT",
      body,
      headers: { "content-type": "application/json" },
    }).catch((error) => error as Error);
    // Refused after 64 KiB: the answer comes early, or the rest of the upload meets a closed door.
    if (response instanceof Response) {
      assert.equal(response.status, 413);
      assert.match((await response.json()).error, /^Request body too large/);
    }
    assert.ok(sent < 100, `stopped reading early: ${sent} MiB taken`);
    const grown = (rssKiB(recorder.pid) - before) / 1024;
    assert.ok(grown < 50, `RSS grew ${grown.toFixed(1)} MB`);
    assert.equal((await fetch(`${recorder.url}/api/settings`)).status, 200);
  } finally {
    await recorder.stop();
    await Deno.remove(output, { recursive: true });
  }
});
