import assert from "node:assert/strict";
import { concat, FAKE_BIN, run, waitFor } from "../_helpers.ts";
import { startRecorder } from "../web/_page_helpers.ts";
import { nalTypesOf, readBoxes } from "./_fmp4.ts";

const FAKE_PATH = { PATH: `${FAKE_BIN}:${Deno.env.get("PATH")}` };

Deno.test("GET /live.mp4 streams the Pi camera's H.264 as fragmented MP4 that ffprobe reads", async () => {
  const output = await Deno.makeTempDir({ prefix: "live_mp4_route_test_" });
  try {
    await using recorder = await startRecorder(
      ["--width", "1280", "--height", "720", "--fps", "15", "--output", output, "--no-record"],
      { env: FAKE_PATH },
    );
    const response = await fetch(`${recorder.url}/live.mp4`);
    assert.equal(response.status, 200);
    const codec = /^video\/mp4; codecs="(avc1\.[0-9A-F]{6})"$/.exec(
      response.headers.get("content-type")!,
    )?.[1];
    assert.ok(codec, response.headers.get("content-type")!);
    const reader = response.body!.getReader();
    let bytes: Uint8Array = new Uint8Array(0);
    while (readBoxes(bytes).fragments.length < 20) {
      bytes = concat(bytes, (await reader.read()).value!);
    }
    const status = await recorder.get("api/status");
    assert.deepEqual(status.viewers.clients.map((c: { kind: string }) => c.kind), ["mp4"]);
    assert.equal(status.viewers.count, 1);
    const { profileIdc, levelIdc } = status.camera.h264;
    assert.equal(codec.slice(5, 7), profileIdc.toString(16).toUpperCase().padStart(2, "0"));
    assert.equal(codec.slice(9), levelIdc.toString(16).toUpperCase().padStart(2, "0"));
    assert.equal(status.preview.state, "idle", "nothing is decoded for an MP4 viewer");
    await reader.cancel();
    const { types, fragments } = readBoxes(bytes);
    assert.deepEqual(types.slice(0, 3), ["ftyp", "moov", "moof"]);
    assert.ok(fragments[0].keyframe && nalTypesOf(fragments[0].data).includes(5));
    const file = `${output}/live.mp4`;
    await Deno.writeFile(file, bytes);
    const probe = new TextDecoder().decode(
      await run([
        "ffprobe",
        "-v",
        "error",
        "-count_frames",
        "-show_entries",
        "stream=width,height,nb_read_frames",
        "-of",
        "csv=p=0",
        file,
      ]),
    ).trim();
    const [width, height, frames] = probe.split(",").map(Number);
    assert.deepEqual([width, height], [1280, 720]);
    assert.ok(frames >= 20, probe);
    await waitFor("the viewer to leave", async () => {
      return (await recorder.get("api/status")).viewers.count === 0;
    });
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});

Deno.test("GET /live.mp4 in MJPEG mode is a 409 that points to /stream.mjpg", async () => {
  const output = await Deno.makeTempDir({ prefix: "live_mp4_route_test_" });
  try {
    await using recorder = await startRecorder(
      ["--codec", "mjpeg", "--width", "320", "--height", "240", "--output", output, "--no-record"],
      { env: FAKE_PATH },
    );
    const response = await fetch(`${recorder.url}/live.mp4`);
    assert.equal(response.status, 409);
    assert.match((await response.json()).error, /^No H\.264 live video: .*\/stream\.mjpg/);
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});
