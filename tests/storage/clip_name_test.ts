import assert from "node:assert/strict";
import {
  clipFileName,
  parseClipName,
  recordingFileName,
  recordingPattern,
} from "../../src/storage/clip_name.ts";

Deno.test("clipFileName puts the sequence number first and the zone's start time and offset after", () => {
  const start = Date.UTC(2026, 10, 30, 10, 16, 27, 450);
  assert.equal(clipFileName(42, start, "mkv", "Europe/Berlin"), "000042_20261130-111627+0100.mkv");
  assert.equal(clipFileName(1_234_567, start, "mp4", "UTC"), "1234567_20261130-101627+0000.mp4");
  assert.equal(
    clipFileName(7, start, "mkv", "America/New_York"),
    "000007_20261130-051627-0500.mkv",
  );
  assert.equal(clipFileName(7, start, "mkv", "Asia/Kolkata"), "000007_20261130-154627+0530.mkv");
  // Summer time: the offset follows the date, not the zone's standard one.
  const july = Date.UTC(2026, 6, 1, 10);
  assert.equal(clipFileName(8, july, "mkv", "Europe/Berlin"), "000008_20260701-120000+0200.mkv");
});

Deno.test("clipFileName defaults to the system's zone", () => {
  const start = Date.UTC(2026, 10, 30, 10, 16, 27);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  assert.equal(clipFileName(42, start), clipFileName(42, start, "mkv", zone));
});

Deno.test("parseClipName reads back closed and recording names in any zone", () => {
  const start = Date.UTC(2026, 10, 30, 10, 16, 27);
  for (
    const zone of ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]
  ) {
    assert.deepEqual(parseClipName(clipFileName(42, start, "mkv", zone)), {
      seq: 42,
      start,
      recording: false,
      ext: "mkv",
    }, zone);
  }
  assert.deepEqual(parseClipName(recordingFileName(7, "mp4")), {
    seq: 7,
    recording: true,
    ext: "mp4",
  });
});

Deno.test("parseClipName tells apart the two 02:30 of the night summer time ends", () => {
  // Berlin, 25 October 2026: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
  const first = Date.UTC(2026, 9, 25, 0, 30);
  const second = Date.UTC(2026, 9, 25, 1, 30);
  const a = clipFileName(1, first, "mkv", "Europe/Berlin");
  const b = clipFileName(2, second, "mkv", "Europe/Berlin");
  assert.equal(a, "000001_20261025-023000+0200.mkv");
  assert.equal(b, "000002_20261025-023000+0100.mkv");
  assert.equal(parseClipName(a)!.start, first);
  assert.equal(parseClipName(b)!.start, second);
});

Deno.test("parseClipName reads names from before the offset in the system's zone", () => {
  // Such names were written with the process's local time (Date#getHours).
  assert.deepEqual(parseClipName("000042_20261130-111627.mkv"), {
    seq: 42,
    start: new Date(2026, 10, 30, 11, 16, 27).getTime(),
    recording: false,
    ext: "mkv",
  });
});

Deno.test("parseClipName ignores every other file", () => {
  for (
    const name of [
      "000042_20261130-111627.avi",
      "42_20261130-111627.mkv",
      "../000042_20261130-111627.mkv",
      "000042_20261130-111627+01.mkv",
      "000042_20261130-111627 0100.mkv",
      "000042.recording.mkv.tmp",
      "pending.json",
      "",
    ]
  ) {
    assert.equal(parseClipName(name), undefined, name);
  }
});

Deno.test("clip names sort in recording order even when the clock or the zone jumps", () => {
  const late = Date.UTC(2026, 10, 30, 12);
  const early = Date.UTC(2020, 0, 1);
  const names = [
    clipFileName(10, late, "mkv", "Asia/Tokyo"),
    clipFileName(11, early, "mkv", "UTC"),
    clipFileName(9, late, "mkv", "America/New_York"),
  ];
  assert.deepEqual(names.sort().map((n) => parseClipName(n)!.seq), [9, 10, 11]);
});

Deno.test("recordingPattern is the ffmpeg form of recordingFileName", () => {
  assert.equal(recordingPattern(), "%06d.recording.mkv");
  assert.equal(recordingPattern("mp4").replace("%06d", "000003"), recordingFileName(3, "mp4"));
});
