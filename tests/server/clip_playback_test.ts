import assert from "node:assert/strict";
import { join } from "node:path";
import {
  mjpegClipArgv,
  mjpegClipFrame,
  mjpegClipResponse,
  parseStartOffset,
} from "../../src/server/clip_playback.ts";
import { probeClip, waitFor } from "../_helpers.ts";
import {
  clipFrames,
  FPS,
  frameIndex,
  PartReader,
  startGrowingClip,
  writeLongClip,
} from "./_clip_playback.ts";

async function tempDir() {
  const path = await Deno.makeTempDir({ prefix: "clip_playback_test_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** Every part of a stream, to its end. */
async function allParts(response: Response): Promise<Uint8Array[]> {
  const reader = new PartReader(response.body!);
  const parts = [];
  for (let part = await reader.next(); part; part = await reader.next()) parts.push(part);
  return parts;
}

Deno.test("mjpegClipArgv seeks before the input and follows a clip being written", () => {
  const argv = mjpegClipArgv("/r/000001.mkv", { start: 12.5, follow: true });
  assert.equal(argv[0], "ffmpeg");
  const input = argv.indexOf("-i");
  assert.equal(argv[input + 1], "/r/000001.mkv");
  assert.deepEqual(argv.slice(argv.indexOf("-ss"), argv.indexOf("-ss") + 2), ["-ss", "12.5"]);
  assert.ok(argv.indexOf("-ss") < input, "-ss is an input option: a fast seek");
  assert.ok(argv.indexOf("-follow") < input && argv.indexOf("-re") < input);
  assert.deepEqual(argv.slice(argv.indexOf("-c"), argv.indexOf("-c") + 2), ["-c", "copy"]);
  assert.equal(argv.at(-1), "-");

  const plain = mjpegClipArgv("/r/000001.mkv");
  assert.ok(!plain.includes("-ss") && !plain.includes("-follow") && !plain.includes("-rw_timeout"));
});

Deno.test("parseStartOffset takes seconds from 0 to the duration and refuses the rest", () => {
  assert.equal(parseStartOffset(undefined, 10), 0);
  assert.equal(parseStartOffset("", 10), 0);
  assert.equal(parseStartOffset("0", 10), 0);
  assert.equal(parseStartOffset("1.25", 10), 1.25);
  assert.equal(parseStartOffset("10", 10), 10);
  assert.equal(parseStartOffset("5000", null), 5000, "any when the duration is unknown");
  for (
    const bad of ["-1", "abc", "1e3", "Infinity", "NaN", " 1", "1 ", "0x10", "1.", ".5", "10.01"]
  ) {
    assert.throws(
      () => parseStartOffset(bad, 10),
      (error: Error) =>
        error instanceof RangeError &&
        error.message === `Invalid start time t: expected seconds from 0 to 10, got "${bad}"`,
      bad,
    );
  }
  assert.throws(() => parseStartOffset("-1", null), /expected seconds from 0, got "-1"/);
});

Deno.test("mjpegClipResponse at 1 s starts with the frame 1 s in and plays to the end", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "clip.mkv");
  await writeLongClip(path, 3);
  const frames = await clipFrames(path);
  assert.equal(frames.length, 3 * FPS);

  const response = mjpegClipResponse(path, { start: 1 });
  assert.match(response.headers.get("content-type")!, /^multipart\/x-mixed-replace;boundary=/);
  const parts = await allParts(response);
  const first = frameIndex(frames, parts[0]);
  assert.ok(Math.abs(first / FPS - 1) <= 1 / FPS, `first frame at ${first / FPS} s`);
  assert.equal(frameIndex(frames, parts.at(-1)!), frames.length - 1, "it plays to the end");
  assert.equal(parts.length, frames.length - first, "every frame from there, once");
});

Deno.test("mjpegClipFrame copies the frame at a time out of the clip", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "clip.mkv");
  await writeLongClip(path, 3);
  const frames = await clipFrames(path);
  assert.equal(frameIndex(frames, await mjpegClipFrame(path, 0)), 0);
  assert.equal(frameIndex(frames, await mjpegClipFrame(path, 1)), 10);
  assert.equal(frameIndex(frames, await mjpegClipFrame(path, 2.5)), 25);
  assert.equal(frameIndex(frames, await mjpegClipFrame(path, 3)), 29, "the end: the last frame");
  await Deno.writeTextFile(join(dir.path, "broken.mkv"), "not a clip");
  await assert.rejects(
    () => mjpegClipFrame(join(dir.path, "broken.mkv"), 0),
    /^Error: Cannot read a frame at 0 s: ffmpeg gave no picture$/,
  );
});

Deno.test("mjpegClipResponse follows the clip being written to its end, also from its live edge", async () => {
  await using dir = await tempDir();
  await using growing = startGrowingClip(dir.path, 3, 5);
  // A second is on disk (the segmenter writes a cluster a second).
  await waitFor("a second on disk", async () => {
    try {
      return (await probeClip(growing.path)).frames >= FPS;
    } catch {
      return false;
    }
  }, 15_000);
  const onDisk = (await probeClip(growing.path)).frames;
  const fromStart = allParts(mjpegClipResponse(growing.path, { follow: true }));
  // From the last frame written: without -follow, ffmpeg ends at the end of the file.
  const edge = (onDisk - 1) / FPS;
  const fromEdge = allParts(mjpegClipResponse(growing.path, { start: edge, follow: true }));
  await growing.done;
  const frames = await clipFrames(growing.path);
  assert.ok(frames.length >= 4 * FPS, `the clip has ${frames.length} frames`);
  assert.ok(onDisk < frames.length - FPS, `${onDisk} frames on disk at the start`);

  const all = await fromStart;
  assert.deepEqual(all.map((part) => frameIndex(frames, part)), frames.map((_, i) => i));
  const tail = await fromEdge;
  const firstOfTail = frameIndex(frames, tail[0]);
  assert.ok(Math.abs(firstOfTail - (onDisk - 1)) <= 1, `from frame ${firstOfTail}`);
  assert.equal(frameIndex(frames, tail.at(-1)!), frames.length - 1, "to the last frame");
  assert.equal(tail.length, frames.length - firstOfTail);
});
