/**
 * What every {@linkcode Runtime} must do, as checks that run on Deno (tests/runtime/
 * deno_runtime_test.ts) and, bundled, on Node (tests/runtime/_node_selfcheck.ts, run by
 * tests/runtime/node_runtime_test.ts on the host's Node and by scripts/test-arm32.sh on the
 * Pi Zero's Node under qemu). Only `node:` modules and Web APIs here: this runs on both.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect } from "node:net";
import { readFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import process from "node:process";
import { type Runtime, SpawnError } from "../../src/runtime/runtime.ts";

/** One behaviour of a runtime; `run` throws when it is not there. */
export interface RuntimeCheck {
  name: string;
  run(runtime: Runtime): Promise<void>;
}

/** Limit for each wait in a check; generous, as qemu runs Node 20-50 times slower. */
const WAIT_MS = 60_000;

/** The checks, named "<symbol> <criteria>" as tests are. */
export const RUNTIME_CHECKS: RuntimeCheck[] = [
  {
    name: "spawn reads ffmpeg -version from stdout as a Web stream",
    async run(runtime) {
      const child = await runtime.spawn("ffmpeg", { args: ["-version"], stdout: "piped" });
      assert.ok(child.pid > 0, `pid ${child.pid}`);
      assert.ok(child.stdout instanceof ReadableStream);
      let text = "";
      for await (const part of child.stdout.pipeThrough(new TextDecoderStream())) text += part;
      assert.match(text, /^ffmpeg version /);
      assert.deepEqual({ ...await child.status }, { success: true, code: 0, signal: null });
    },
  },
  {
    name: "spawn rejects a missing program with SpawnError ENOENT",
    async run(runtime) {
      await assert.rejects(runtime.spawn("videorecorder-no-such-program"), (error) => {
        assert.ok(error instanceof SpawnError, String(error));
        assert.equal(error.code, "ENOENT");
        assert.equal(error.reason, "No such file or directory");
        assert.equal(
          error.message,
          "Cannot start videorecorder-no-such-program: No such file or directory",
        );
        return true;
      });
    },
  },
  {
    name: "spawn throws a TypeError for a stream that is not piped",
    async run(runtime) {
      const child = await runtime.spawn("true");
      assert.throws(() => child.stdout, TypeError);
      assert.throws(() => child.stdin, TypeError);
      await child.status;
    },
  },
  {
    name: "status gives the exit code",
    async run(runtime) {
      const child = await runtime.spawn("sh", { args: ["-c", "exit 3"] });
      assert.deepEqual({ ...await child.status }, { success: false, code: 3, signal: null });
    },
  },
  {
    name: "kill after the child exited does nothing",
    async run(runtime) {
      const child = await runtime.spawn("true");
      await child.status;
      child.kill("SIGTERM");
      child.kill("SIGKILL");
    },
  },
  {
    name: "killGroup ends a detached child and what it started",
    async run(runtime) {
      const child = await runtime.spawn("sh", {
        args: ["-c", "sleep 60 & echo $!; wait"],
        stdout: "piped",
        detached: true,
      });
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let line = "";
      while (!line.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        line += value;
      }
      const sleeper = Number(line.trim());
      assert.ok(sleeper > 0, `the shell printed ${JSON.stringify(line)}`);
      child.killGroup("SIGTERM");
      assert.deepEqual({ ...await within(child.status, "the shell's exit") }, {
        success: false,
        code: 143,
        signal: "SIGTERM",
      });
      await within(until(() => !alive(sleeper)), `sleep ${sleeper} ending`);
      child.killGroup("SIGKILL"); // the group is gone: fine
      await reader.cancel();
    },
  },
  {
    name: "killGroup refuses a child that is not detached",
    async run(runtime) {
      const child = await runtime.spawn("sleep", { args: ["60"] });
      assert.throws(() => child.killGroup("SIGTERM"), TypeError);
      child.kill("SIGKILL");
      assert.equal((await child.status).signal, "SIGKILL");
    },
  },
  {
    name: "stdin and stdout carry 4 MiB through cat in order as plain Uint8Arrays",
    async run(runtime) {
      const child = await runtime.spawn("cat", { stdin: "piped", stdout: "piped" });
      const chunk = new Uint8Array(64 * 1024);
      const writing = (async () => {
        const writer = child.stdin.getWriter();
        for (let i = 0; i < 64; i++) {
          // The same buffer each time: a write must be done with it once it resolves.
          chunk.fill(i);
          await writer.write(chunk);
        }
        await writer.close();
      })();
      let bytes = 0;
      let plain = true;
      let ordered = true;
      for await (const part of child.stdout) {
        plain &&= Object.getPrototypeOf(part) === Uint8Array.prototype;
        for (let i = 0; i < part.length; i += 4096) {
          ordered &&= part[i] === Math.floor((bytes + i) / chunk.length);
        }
        bytes += part.length;
      }
      await writing;
      assert.equal(bytes, 64 * chunk.length);
      assert.ok(ordered, "the bytes came back out of order or changed");
      assert.ok(plain, "stdout gave a Uint8Array subclass (a Buffer)");
      assert.equal((await child.status).code, 0);
    },
  },
  {
    name: "stdin write rejects once the child is gone, without ending this process",
    async run(runtime) {
      const child = await runtime.spawn("sh", { args: ["-c", "exit 0"], stdin: "piped" });
      await child.status;
      const writer = child.stdin.getWriter();
      const chunk = new Uint8Array(64 * 1024);
      let rejected = false;
      for (let i = 0; i < 64 && !rejected; i++) {
        await writer.write(chunk).catch(() => rejected = true);
      }
      assert.ok(rejected, "4 MiB written to a child that had exited");
    },
  },
  {
    name: "output collects stdout, stderr and the code",
    async run(runtime) {
      const output = await runtime.output("sh", {
        args: ["-c", 'echo out; echo "$GREETING" >&2; exit 2'],
        env: { GREETING: "err" },
      });
      assert.equal(new TextDecoder().decode(output.stdout), "out\n");
      assert.equal(new TextDecoder().decode(output.stderr), "err\n");
      assert.deepEqual([output.success, output.code, output.signal], [false, 2, null]);
    },
  },
  {
    name: "output keeps this process's environment next to env",
    async run(runtime) {
      const output = await runtime.output("sh", {
        args: ["-c", 'printf "%s" "$PATH"'],
        env: { GREETING: "hi" },
      });
      assert.equal(new TextDecoder().decode(output.stdout), process.env.PATH);
    },
  },
  {
    name: "output ends the child with SIGTERM when its signal aborts",
    async run(runtime) {
      const output = await runtime.output("sleep", {
        args: ["60"],
        signal: AbortSignal.timeout(200),
      });
      assert.deepEqual([output.success, output.code, output.signal], [false, 143, "SIGTERM"]);
    },
  },
  {
    name: "serve answers a request, and shutdown ends it",
    async run(runtime) {
      const server = await runtime.serve(
        (request) => new Response(`${request.method} ${new URL(request.url).pathname}`),
        { hostname: "127.0.0.1", port: 0 },
      );
      assert.ok(server.port > 0);
      const response = await fetch(`http://127.0.0.1:${server.port}/api/status`, {
        method: "POST",
      });
      assert.equal(await response.text(), "POST /api/status");
      await within(server.shutdown(), "shutdown");
      await within(server.finished, "finished");
    },
  },
  {
    name: "serve refuses a port in use with a sentence",
    async run(runtime) {
      const first = await runtime.serve(() => new Response("first"), {
        hostname: "127.0.0.1",
        port: 0,
      });
      try {
        await assert.rejects(
          runtime.serve(() => new Response("second"), { hostname: "127.0.0.1", port: first.port }),
          (error) => {
            assert.ok(error instanceof Error);
            assert.equal(
              error.message,
              `Cannot listen on 127.0.0.1:${first.port}: the address is already in use`,
            );
            return true;
          },
        );
      } finally {
        await first.shutdown();
      }
    },
  },
  {
    name: "serve cancels a streamed body when the client goes away",
    async run(runtime) {
      let cancelled!: () => void;
      const cancel = new Promise<void>((resolve) => cancelled = resolve);
      const server = await runtime.serve(() =>
        new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              await new Promise((resolve) => setTimeout(resolve, 10));
              controller.enqueue(new Uint8Array(1024));
            },
            cancel: () => cancelled(),
          }),
        ), { hostname: "127.0.0.1", port: 0 });
      try {
        // A raw socket, as a phone that leaves closes it (Node's fetch keeps an aborted
        // connection open for about 3 s more, which only delays the shutdown below).
        const socket = connect(server.port, "127.0.0.1");
        socket.on("error", () => {});
        socket.write("GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
        const head = await within(
          new Promise<string>((resolve) => socket.once("data", (data) => resolve(String(data)))),
          "the response",
        );
        assert.match(head, /^HTTP\/1\.1 200 /);
        socket.destroy();
        await within(cancel, "the body's cancel()");
      } finally {
        await server.shutdown();
      }
    },
  },
  {
    name: "serve pulls no more than the socket takes from a client that stopped reading",
    async run(runtime) {
      let pulled = 0;
      let cancelled!: () => void;
      const cancel = new Promise<void>((resolve) => cancelled = resolve);
      const server = await runtime.serve(() =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              pulled += 64 * 1024;
              controller.enqueue(new Uint8Array(64 * 1024));
            },
            cancel: () => cancelled(),
          }, { highWaterMark: 0 }),
        ), { hostname: "127.0.0.1", port: 0 });
      try {
        const socket = connect(server.port, "127.0.0.1");
        socket.on("error", () => {});
        socket.pause();
        socket.write("GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
        await within(until(() => pulled > 0), "the first pull");
        // The socket buffers fill within milliseconds; an unbounded server pulls on.
        let before = -1;
        for (let i = 0; i < 20 && before !== pulled; i++) {
          before = pulled;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        assert.ok(pulled < 64 * 1024 * 1024, `pulled ${pulled} bytes for a stalled client`);
        socket.destroy();
        await within(cancel, "the body's cancel() after the stalled client left");
      } finally {
        await server.shutdown();
      }
    },
  },
  {
    name: "execPath is the runtime's executable",
    run(runtime) {
      assert.ok(isAbsolute(runtime.execPath), runtime.execPath);
      assert.match(runtime.execPath, runtime.name === "deno" ? /deno[^/]*$/ : /node[^/]*$/);
      return Promise.resolve();
    },
  },
];

/** Runs every check; returns the failures as "name: message". */
export async function runChecks(
  runtime: Runtime,
  log: (line: string) => void = () => {},
): Promise<string[]> {
  const failures: string[] = [];
  for (const check of RUNTIME_CHECKS) {
    const started = performance.now();
    try {
      await check.run(runtime);
      log(`ok ${check.name} (${Math.round(performance.now() - started)} ms)`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${check.name}: ${message}`);
      log(`FAILED ${check.name}: ${message}`);
    }
  }
  return failures;
}

/** `promise`, or a rejection naming `what` after {@linkcode WAIT_MS}. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `condition` holds, polling every 20 ms (bounded by {@linkcode within}). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether `pid` still runs (a zombie waiting to be reaped does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}
