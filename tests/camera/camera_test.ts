import assert from "node:assert/strict";
import { join } from "node:path";
import { Camera, CAMERA_BACKOFF } from "../../src/camera/camera.ts";
import { commandArgv } from "../../src/camera/argv.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { makeJpegs, waitFor } from "../_helpers.ts";

const MiB = 1024 * 1024;

Deno.test("Camera keeps memory flat on a command that prints truncated JPEGs at full speed", async () => {
  // The camera: the first half of a JPEG over and over, each cut short by the next
  // SOI (after 20 whole frames, to see frames come out). No EOI ever lets the parser reset.
  const dir = await Deno.makeTempDir({ prefix: "camera_test_" });
  const [whole] = await makeJpegs(1, { width: 640, height: 480 });
  const cut = whole.subarray(0, whole.length >> 1);
  await Deno.writeFile(join(dir, "cut.jpg"), cut);
  await Deno.writeFile(join(dir, "whole.jpg"), whole);
  await Deno.writeTextFile(
    join(dir, "g.py"),
    [
      "import sys",
      "sys.stdout.buffer.write(open('whole.jpg', 'rb').read() * 20)",
      "block = open('cut.jpg', 'rb').read() * 50",
      "while True: sys.stdout.buffer.write(block)",
    ].join("\n"),
  );
  const hub = new FrameHub();
  // As `--source command --command "cd … && exec python3 g.py"` runs it.
  const camera = new Camera({ argv: commandArgv(`cd '${dir}' && exec python3 g.py`), hub });
  try {
    camera.start();
    await waitFor("the whole frames", () => camera.status().frames === 20);
    const input = () => camera.status().truncated * cut.length;
    const before = { rss: Deno.memoryUsage().rss, input: input() };
    // 512 MiB through the parser (about a second here): before the fix it held all of it.
    // Stop early if memory runs away, so that a regression fails without eating the machine.
    const bound = 64 * MiB;
    const grown = () => Deno.memoryUsage().rss - before.rss;
    await waitFor("512 MiB of input", () => input() - before.input >= 512 * MiB || grown() > bound);
    const rss = grown();
    const status = camera.status();
    assert.ok(rss <= bound, `RSS grew ${rss} bytes`);
    assert.equal(status.state, "running");
    assert.equal(status.restarts, 0);
    assert.equal(status.frames, 20);
    assert.ok(status.truncated * cut.length >= 512 * MiB, `${status.truncated} cut frames`);
    assert.deepEqual(hub.latest?.data, whole);
  } finally {
    await camera.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Camera retries a failing camera within 2 s, not 30", async () => {
  // A camera that fails at once (unplugged, busy), with the camera's own backoff: 250 ms
  // doubling to 2 s, where a process's default reached 30 s after five failures.
  const dir = await Deno.makeTempDir({ prefix: "camera_test_" });
  const starts = join(dir, "starts");
  const camera = new Camera({
    argv: commandArgv(`date +%s%3N >> '${starts}'; echo 'no cameras available' >&2; exit 1`),
    hub: new FrameHub(),
  });
  const delays: number[] = [];
  try {
    camera.start();
    let seen: number | null = null;
    await waitFor("six restarts scheduled", () => {
      const { restartAt, lastExit, state } = camera.status();
      if (state === "backoff" && restartAt !== null && restartAt !== seen && lastExit) {
        seen = restartAt;
        delays.push(restartAt - lastExit.at);
      }
      return delays.length >= 6;
    }, 15_000);
  } finally {
    await camera.stop();
  }
  const expected = [250, 500, 1_000, 2_000, 2_000, 2_000];
  delays.forEach((delay, i) => {
    assert.ok(delay >= expected[i] && delay < expected[i] + 100, `delay ${i}: ${delays}`);
  });
  assert.equal(CAMERA_BACKOFF.maxMs, 2_000);
  // The camera really was started again each time, and reported why it failed.
  const runs = (await Deno.readTextFile(starts)).trim().split("\n").map(Number);
  assert.ok(runs.length >= 6, `${runs.length} runs`);
  assert.deepEqual(camera.status().stderr.at(-1), "no cameras available");
  assert.match(camera.status().lastError ?? "", /^Camera exited with code 1$/);
  await Deno.remove(dir, { recursive: true });
});
