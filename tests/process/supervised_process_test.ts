import assert from "node:assert/strict";
import { SupervisedProcess } from "../../src/process/supervised_process.ts";
import { waitFor } from "../_helpers.ts";

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test("SupervisedProcess restarts a crashing child with doubling backoff", async () => {
  const starts: number[] = [];
  const child = new SupervisedProcess({
    name: "crasher",
    argv: () => {
      starts.push(performance.now());
      return ["sh", "-c", "echo boom >&2; exit 3"];
    },
    session: async () => {},
    backoff: { initialMs: 100, maxMs: 400, healthyMs: 60_000 },
  });
  child.start();
  await waitFor("five starts", () => starts.length >= 5);
  // Read before stopping: stop() may end the fifth run with SIGTERM (exit 143).
  const crashed = child.status();
  await child.stop();
  const gaps = starts.slice(1).map((t, i) => t - starts[i]);
  // 100, 200, 400, 400 ms (plus the child's own run time).
  assert.ok(gaps[0] >= 100 && gaps[0] < 400, `first gap ${gaps[0]}`);
  assert.ok(gaps[1] >= 200, `second gap ${gaps[1]}`);
  assert.ok(gaps[2] >= 400 && gaps[3] >= 400 && gaps[3] < 1000, `capped gaps ${gaps}`);
  const status = child.status();
  assert.equal(status.state, "stopped");
  assert.ok(status.restarts >= 4);
  assert.deepEqual(crashed.lastExit && crashed.lastExit.code, 3);
  assert.equal(crashed.lastError, "Crasher exited with code 3");
  assert.ok(status.stderr.includes("boom"));
});

Deno.test("SupervisedProcess resets the backoff after a healthy run", async () => {
  const starts: number[] = [];
  const child = new SupervisedProcess({
    name: "flaky",
    argv: () => {
      starts.push(performance.now());
      return ["sleep", "0.3"];
    },
    session: async () => {},
    backoff: { initialMs: 50, maxMs: 5_000, healthyMs: 200 },
  });
  child.start();
  await waitFor("four starts", () => starts.length >= 4, 5_000);
  await child.stop();
  const gaps = starts.slice(1).map((t, i) => t - starts[i]);
  // Each run is "healthy" (300 ms >= 200 ms), so the delay stays at 50 ms instead of doubling.
  for (const gap of gaps) assert.ok(gap < 300 + 200, `gap ${gap} shows the backoff grew`);
});

Deno.test("SupervisedProcess keeps only the last stderr lines and reports spawn failures", async () => {
  const noisy = new SupervisedProcess({
    name: "noisy",
    argv: () => ["sh", "-c", "for i in $(seq 1 50); do echo line$i >&2; done; sleep 10"],
    session: async () => {},
    stderrLines: 5,
  });
  noisy.start();
  await waitFor("stderr", () => noisy.status().stderr.includes("line50"));
  assert.deepEqual(noisy.status().stderr, ["line46", "line47", "line48", "line49", "line50"]);
  await noisy.stop();

  const missing = new SupervisedProcess({
    name: "camera",
    argv: () => ["/nonexistent/rpicam-vid"],
    session: async () => {},
    backoff: { initialMs: 50 },
  });
  missing.start();
  await waitFor("a spawn error", () => missing.status().lastError);
  await missing.stop();
  assert.match(missing.status().lastError!, /^Cannot start camera: \/nonexistent\/rpicam-vid: /);
});

Deno.test("SupervisedProcess stop ends the child's whole process group", async () => {
  const child = new SupervisedProcess({
    name: "pipeline",
    // A shell pipeline, as `--source command` runs: the background sleep must die too.
    argv: () => ["sh", "-c", "sleep 30 & echo $! >&2; sleep 30"],
    session: async () => {},
  });
  child.start();
  const background = Number(await waitFor("the background pid", () => child.status().stderr[0]));
  assert.ok(alive(background));
  const began = performance.now();
  await child.stop();
  assert.ok(performance.now() - began < 2_000, "SIGTERM should end it at once");
  await waitFor("the background sleep to die", () => !alive(background), 3_000);
  assert.equal(child.status().state, "stopped");
  assert.equal(child.status().restarts, 0);
});

Deno.test("SupervisedProcess stopBy session lets the child finish after stdin closes", async () => {
  const out = await Deno.makeTempFile();
  const child = new SupervisedProcess({
    name: "writer",
    // Like ffmpeg: reads stdin to the end, then needs a moment to finish its file.
    argv: () => ["sh", "-c", `cat > ${out}.part; sleep 0.3; mv ${out}.part ${out}`],
    stdin: "piped",
    stopBy: "session",
    session: async (process, signal) => {
      const writer = process.stdin.getWriter();
      await writer.write(new TextEncoder().encode("footage"));
      if (!signal.aborted) {
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      }
      await writer.close();
    },
  });
  child.start();
  await waitFor("the child to run", () => child.status().pid);
  await child.stop();
  assert.equal(await Deno.readTextFile(out), "footage");
  assert.equal(child.status().lastExit?.code, 0);
  await Deno.remove(out);
});

Deno.test("SupervisedProcess kills a child that ignores SIGTERM", async () => {
  const child = new SupervisedProcess({
    name: "stubborn",
    argv: () => ["sh", "-c", "trap '' TERM; echo ready >&2; while :; do sleep 0.1; done"],
    session: async () => {},
    killAfterMs: 300,
  });
  child.start();
  await waitFor("the trap", () => child.status().stderr.includes("ready"));
  await child.stop();
  assert.equal(child.status().lastExit?.signal, "SIGKILL");
});
