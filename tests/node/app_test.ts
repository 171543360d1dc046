/**
 * App-level tests of what a dashcam must survive, against the real program in a child
 * process: mod.ts on Deno, or the Node bundle on the host's `node` with
 * `VIDEORECORDER_TEST_RUNTIME=node` (`deno task test:node`), so a regression on either
 * runtime fails.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { lavfi, probeClip, waitFor } from "../_helpers.ts";
import { startRecorder } from "../web/_page_helpers.ts";

/** An MJPEG clip of `frames` frames made with ffmpeg's test source. */
async function makeClip(path: string, size: string, frames: number, quality: number) {
  await lavfi(`testsrc2=size=${size}:rate=30`, [
    "-frames:v",
    String(frames),
    "-q:v",
    String(quality),
    "-f",
    "mjpeg",
    path,
  ]);
}

/** Counts the JPEG parts of a `multipart/x-mixed-replace` body as they arrive. */
function countParts(
  body: ReadableStream<Uint8Array>,
): { count: () => number; done: Promise<void> } {
  let count = 0;
  let carry = "";
  const done = (async () => {
    try {
      for await (const text of body.pipeThrough(new TextDecoderStream("latin1"))) {
        const parts = (carry + text).split("Content-Type: image/jpeg");
        count += parts.length - 1;
        carry = parts.at(-1)!.slice(-30);
      }
    } catch {
      // The stream ends with the recorder.
    }
  })();
  return { count: () => count, done };
}

async function clipFrames(dir: string): Promise<number> {
  let frames = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".mkv")) {
      frames += (await probeClip(join(dir, entry.name))).frames;
    }
  }
  return frames;
}

Deno.test("videorecorder keeps the live view and the recording going past a viewer that never reads", async () => {
  const FRAMES = 450;
  const dir = await Deno.makeTempDir({ prefix: "app_test_" });
  const clip = join(dir, "clip.mjpeg");
  // 450 frames of about 70 KB: 30 MB, several times what the sockets of a stalled viewer hold
  // (on Deno it is handed about 130 frames before they are full, on Node about 60).
  await makeClip(clip, "1280x720", FRAMES, 1);
  const output = join(dir, "out");
  await using recorder = await startRecorder([
    "--source",
    "command",
    "--command",
    // Paused until the stalled viewer is in (the file appears), then 2x real time, then it stays.
    `while [ ! -e ${dir}/go ]; do sleep 0.1; done; ` +
    `ffmpeg -v error -readrate 2 -framerate 30 -i ${clip} -c copy -f mjpeg - && sleep 600`,
    "--output",
    output,
  ], { env: { XDG_CONFIG_HOME: join(dir, "config") } });
  const { port } = new URL(recorder.url);
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  // The Host the recorder knows (it refuses others: DNS rebinding).
  await stalled.write(
    new TextEncoder().encode(`GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`),
  );
  // The camera starts now: the stream answers once there is a frame to send.
  await Deno.writeTextFile(join(dir, "go"), "");
  const response = await fetch(`${recorder.url}/stream.mjpg`);
  assert.equal(response.status, 200);
  const reader = countParts(response.body!);
  await waitFor("both viewers", async () => (await recorder.get("api/status")).viewers.count === 2);

  await waitFor(
    "the camera to deliver the clip and the recorder to take it",
    async () => {
      const { camera, recorder: rec } = await recorder.get("api/status");
      return camera.frames >= FRAMES && rec.frames + rec.dropped >= FRAMES;
    },
    60_000,
  );
  await waitFor(
    "the reading viewer to see the clip's end",
    () => reader.count() >= FRAMES - 50,
    20_000,
  )
    .catch((error) => {
      throw new Error(`${error.message}: it got ${reader.count()} of ${FRAMES} frames`);
    });
  const status = await recorder.get("api/status");
  const handed = status.viewers.clients.map((client: { frames: number }) => client.frames);
  assert.equal(handed.length, 2, `viewers: ${JSON.stringify(status.viewers)}`);
  const stalledFrames = Math.min(...handed);
  assert.ok(
    stalledFrames < FRAMES / 2,
    `the stalled viewer was handed ${stalledFrames} of ${FRAMES} frames`,
  );
  assert.equal(status.recorder.dropped, 0, "the recorder dropped frames");

  // The stalled socket must not hold up shutdown, and the last clip is whole.
  assert.equal(await recorder.stop(), 0);
  stalled.close();
  await reader.done;
  assert.equal(await clipFrames(output), FRAMES);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("videorecorder restarts a camera that crashes and records on after it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "app_test_" });
  const output = join(dir, "out");
  await using recorder = await startRecorder([
    "--source",
    "command",
    "--command",
    "ffmpeg -v error -re -f lavfi -i testsrc=size=320x240:rate=30 -c:v mjpeg -f mjpeg -",
    "--output",
    output,
  ], { env: { XDG_CONFIG_HOME: join(dir, "config") } });
  const before = await waitFor("30 frames recorded", async () => {
    const status = await recorder.get("api/status");
    return status.recorder.frames >= 30 && status.camera.pid ? status : undefined;
  }, 30_000);
  // The camera dies as a crashed driver would: SIGKILL to its whole process group.
  Deno.kill(-before.camera.pid, "SIGKILL");
  const after = await waitFor("the camera back and 60 more frames recorded", async () => {
    const status = await recorder.get("api/status");
    return status.camera.restarts >= 1 && status.camera.state === "running" &&
        status.recorder.frames >= before.recorder.frames + 60
      ? status
      : undefined;
  }, 30_000);
  assert.notEqual(after.camera.pid, before.camera.pid);
  assert.equal(after.camera.last_exit?.signal, "SIGKILL", JSON.stringify(after.camera));
  assert.equal(await recorder.stop(), 0);
  const frames = await clipFrames(output);
  assert.ok(frames >= before.recorder.frames + 60, `${frames} frames recorded in all`);
  await Deno.remove(dir, { recursive: true });
});
