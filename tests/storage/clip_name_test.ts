import assert from "node:assert/strict";
import {
  clipFileName,
  parseClipName,
  recordingFileName,
  recordingPattern,
} from "../../src/storage/clip_name.ts";

Deno.test("clipFileName puts the sequence number first and the local start time after", () => {
  const start = new Date(2026, 10, 30, 11, 16, 27).getTime();
  assert.equal(clipFileName(42, start), "000042_20261130-111627.mkv");
  assert.equal(clipFileName(1_234_567, start, "mp4"), "1234567_20261130-111627.mp4");
});

Deno.test("parseClipName reads back closed and recording names", () => {
  const start = new Date(2026, 10, 30, 11, 16, 27).getTime();
  assert.deepEqual(parseClipName(clipFileName(42, start)), {
    seq: 42,
    start,
    recording: false,
    ext: "mkv",
  });
  assert.deepEqual(parseClipName(recordingFileName(7, "mp4")), {
    seq: 7,
    recording: true,
    ext: "mp4",
  });
});

Deno.test("parseClipName ignores every other file", () => {
  for (
    const name of [
      "000042_20261130-111627.avi",
      "42_20261130-111627.mkv",
      "../000042_20261130-111627.mkv",
      "000042.recording.mkv.tmp",
      "pending.json",
      "",
    ]
  ) {
    assert.equal(parseClipName(name), undefined, name);
  }
});

Deno.test("clip names sort in recording order even when the clock jumps back", () => {
  const late = new Date(2026, 10, 30, 12).getTime();
  const early = new Date(2020, 0, 1).getTime();
  const names = [clipFileName(10, late), clipFileName(11, early), clipFileName(9, late)];
  assert.deepEqual(names.sort().map((n) => parseClipName(n)!.seq), [9, 10, 11]);
});

Deno.test("recordingPattern is the ffmpeg form of recordingFileName", () => {
  assert.equal(recordingPattern(), "%06d.recording.mkv");
  assert.equal(recordingPattern("mp4").replace("%06d", "000003"), recordingFileName(3, "mp4"));
});
