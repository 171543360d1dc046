import assert from "node:assert/strict";
import { Hono } from "@hono/hono";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import type { Frame } from "../../src/frames/frame.ts";
import { requireCredentials } from "../../src/server/auth.ts";
import { listen } from "../../src/server/listen.ts";
import { MjpegStreams } from "../../src/live/mjpeg_streams.ts";
import { makeJpegs, run, waitFor } from "../_helpers.ts";

const jpegs = await makeJpegs(5, { width: 640, height: 480 });

/** A live-view server on a free port, and a publisher of real JPEGs. */
function liveServer() {
  const hub = new FrameHub();
  const streams = new MjpegStreams(hub);
  const app = new Hono().get("/stream.mjpg", () => streams.response());
  const server = listen(app, streams, { host: "127.0.0.1", port: 0, shutdownGraceMs: 1000 });
  let seq = 0;
  const publish = (data = jpegs[seq % jpegs.length]): Frame => {
    const frame = { seq: seq++, time: Date.now(), data, keyframe: true };
    hub.publish(frame);
    return frame;
  };
  return { hub, streams, server, publish };
}

/** Reads multipart parts from a live-view response, by their Content-Length. */
async function* parts(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  let buffer = new Uint8Array(0);
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    const merged = new Uint8Array(buffer.length + chunk.length);
    merged.set(buffer);
    merged.set(chunk, buffer.length);
    buffer = merged;
    while (true) {
      const text = decoder.decode(buffer.subarray(0, Math.min(buffer.length, 512)));
      const header = /Content-Length: (\d+)\r\n(?:[^\r\n]*\r\n)*\r\n/.exec(text);
      if (!header) break;
      const start = header.index + header[0].length;
      const end = start + Number(header[1]);
      if (buffer.length < end) break;
      yield buffer.slice(start, end);
      buffer = buffer.slice(end);
    }
  }
}

Deno.test("MjpegStreams sends each new frame whole to a reading client", async () => {
  const { server, publish, hub } = liveServer();
  const response = await fetch(`${server.url}/stream.mjpg`);
  assert.match(response.headers.get("content-type")!, /^multipart\/x-mixed-replace;boundary=/);
  const received: Uint8Array[] = [];
  const reading = (async () => {
    for await (const part of parts(response.body!)) {
      received.push(part);
      if (received.length === 10) break;
    }
  })();
  await waitFor("the viewer", () => hub.consumers.length === 1);
  const sent: Frame[] = [];
  while (received.length < 10) {
    sent.push(publish());
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await reading;
  for (const part of received) assert.ok(jpegs.some((jpeg) => jpeg.length === part.length));
  assert.deepEqual(received[0], sent[0].data);
  await server.shutdown();
});

Deno.test("MjpegStreams skips frames for a stalled client and keeps serving others", async () => {
  const { server, publish, hub } = liveServer();
  // A client that asks for the stream and never reads a byte.
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await stalled.write(new TextEncoder().encode("GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n"));
  await waitFor("the stalled viewer", () => hub.consumers.length === 1);
  const reader = await fetch(`${server.url}/stream.mjpg`);
  const frames = parts(reader.body!);
  await waitFor("both viewers", () => hub.consumers.length === 2);

  // 300 frames of 300 KB: 90 MB, far more than socket buffers hold.
  const big = new Uint8Array(300_000).fill(0xab);
  let last!: Frame;
  for (let i = 0; i < 300; i++) {
    last = publish(big);
    if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  // The reading client still gets the newest frame promptly.
  let got: Uint8Array | undefined;
  for await (const part of frames) {
    got = part;
    if (hub.consumers[1].delivered > 0 && part.length === big.length) break;
  }
  assert.equal(got?.length, last.data.length);
  const [stalledStats] = hub.consumers;
  assert.ok(stalledStats.delivered < 100, `stalled viewer was handed ${stalledStats.delivered}`);

  // Shutdown must not hang on the stalled client: its stream ends, the wait is bounded.
  const began = performance.now();
  await server.shutdown();
  assert.ok(performance.now() - began < 5_000);
  assert.deepEqual(hub.consumers, []);
  stalled.close();
  await server.finished;
});

Deno.test("MjpegStreams forgets a client as soon as it disconnects", async () => {
  const { server, publish, hub, streams } = liveServer();
  const controller = new AbortController();
  const response = await fetch(`${server.url}/stream.mjpg`, { signal: controller.signal });
  const reader = response.body!.getReader();
  publish();
  await reader.read();
  assert.equal(streams.count, 1);
  controller.abort();
  await reader.cancel().catch(() => {});
  const timer = setInterval(() => publish(), 20);
  try {
    await waitFor(
      "the viewer to be freed",
      () => hub.consumers.length === 0 && streams.count === 0,
    );
  } finally {
    clearInterval(timer);
  }
  await server.shutdown();
});

Deno.test("MjpegStreams stream plays in ffmpeg (the client OpenCV and ffplay use)", async () => {
  const { server, publish } = liveServer();
  const timer = setInterval(() => publish(), 30);
  try {
    const out = await run([
      "ffprobe",
      "-v",
      "error",
      "-count_frames",
      "-read_intervals",
      "%+#8",
      "-show_entries",
      "stream=codec_name,width,height,nb_read_frames",
      "-of",
      "csv=p=0",
      `${server.url}/stream.mjpg`,
    ]);
    assert.equal(new TextDecoder().decode(out).trim(), "mjpeg,640,480,8");
  } finally {
    clearInterval(timer);
    await server.shutdown();
  }
});

Deno.test("MjpegStreams stream plays in OpenCV VideoCapture, with credentials in the URL", async () => {
  const hub = new FrameHub();
  const streams = new MjpegStreams(hub);
  const app = new Hono();
  app.use("*", requireCredentials({ user: "admin", password: "s3cret" }));
  app.get("/stream.mjpg", () => streams.response());
  const server = listen(app, streams, { host: "127.0.0.1", port: 0, shutdownGraceMs: 1000 });
  let seq = 0;
  const timer = setInterval(() => {
    hub.publish({ seq: seq++, time: Date.now(), data: jpegs[seq % jpegs.length], keyframe: true });
  }, 30);
  try {
    // Debian's python3 (python3-opencv), as a user's script would open the recorder.
    const script = [
      "import cv2, sys",
      "capture = cv2.VideoCapture(sys.argv[1])",
      "frames = [capture.read() for _ in range(5)]",
      "print(sum(ok for ok, _ in frames), frames[-1][1].shape)",
    ].join("\n");
    const url = `http://admin:s3cret@127.0.0.1:${server.port}/stream.mjpg`;
    const out = await run(["/usr/bin/python3", "-c", script, url]);
    assert.equal(new TextDecoder().decode(out).trim(), "5 (480, 640, 3)");
  } finally {
    clearInterval(timer);
    await server.shutdown();
  }
});
