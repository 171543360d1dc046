import assert from "node:assert/strict";
import { parseSegmentListLine, segmenterArgv } from "../../src/recorder/segmenter_argv.ts";

function valueOf(argv: string[], flag: string): string | undefined {
  const at = argv.indexOf(flag);
  return at < 0 ? undefined : argv[at + 1];
}

Deno.test("segmenterArgv copies frames from stdin into flushed Matroska clips", () => {
  const argv = segmenterArgv({ output: "/card/clips", segmentSeconds: 60, startNumber: 42 });
  assert.equal(argv[0], "ffmpeg");
  assert.equal(valueOf(argv, "-f"), "matroska", "input: our Matroska stream with capture times");
  assert.equal(valueOf(argv, "-i"), "pipe:0");
  assert.ok(!argv.includes("-use_wallclock_as_timestamps"));
  assert.equal(valueOf(argv, "-c"), "copy");
  assert.equal(valueOf(argv, "-segment_time"), "60");
  assert.equal(valueOf(argv, "-segment_format"), "matroska");
  assert.match(valueOf(argv, "-segment_format_options")!, /flush_packets=1/);
  assert.equal(valueOf(argv, "-segment_start_number"), "42");
  assert.equal(valueOf(argv, "-segment_list"), "pipe:2");
  assert.equal(argv.at(-1), "/card/clips/%06d.recording.mkv");
});

Deno.test("parseSegmentListLine reads ffmpeg's CSV lines and ignores log lines", () => {
  assert.deepEqual(parseSegmentListLine("000042.recording.mkv,0.000000,60.033333"), {
    file: "000042.recording.mkv",
    start: 0,
    end: 60.033333,
  });
  for (
    const line of [
      "[segment @ 0x55d7] Non-monotonous DTS in output stream 0:0; previous: 0, current: 0",
      "Opening 'x.mkv' for writing",
      "../x.mkv,0.0,1.0",
      "000042.recording.mkv,abc,1",
    ]
  ) {
    assert.equal(parseSegmentListLine(line), undefined, line);
  }
});

Deno.test("segmenterArgv writes H.264 into fragmented MP4 clips", () => {
  const argv = segmenterArgv({ output: "/c", segmentSeconds: 10, startNumber: 0, codec: "h264" });
  assert.equal(valueOf(argv, "-segment_format"), "mp4");
  assert.match(valueOf(argv, "-segment_format_options")!, /frag_keyframe\+empty_moov/);
  assert.equal(argv.at(-1), "/c/%06d.recording.mp4");
});

Deno.test("segmenterArgv cuts at the keyframe nearest each boundary", () => {
  const base = { output: "/c", segmentSeconds: 2, startNumber: 0 };
  // Every JPEG is a keyframe: half a frame, so a frame arriving a hair early still starts the clip.
  assert.equal(
    valueOf(segmenterArgv({ ...base, frameRate: 30 }), "-segment_time_delta"),
    "0.016667",
  );
  assert.equal(
    valueOf(segmenterArgv(base), "-segment_time_delta"),
    "0.016667",
    "30 fps by default",
  );
  // H.264 from our encoder, a keyframe every second: half a second either way.
  const h264 = { ...base, codec: "h264" as const, frameRate: 30 };
  assert.equal(
    valueOf(segmenterArgv({ ...h264, keyframeInterval: 30 }), "-segment_time_delta"),
    "0.500000",
  );
  // A camera's own H.264, keyframes unknown: as if any frame could be one.
  assert.equal(valueOf(segmenterArgv(h264), "-segment_time_delta"), "0.016667");
  // The keyframe interval says nothing about MJPEG.
  assert.equal(
    valueOf(segmenterArgv({ ...base, frameRate: 10, keyframeInterval: 30 }), "-segment_time_delta"),
    "0.050000",
  );
});

Deno.test("segmenterArgv refuses a frame rate that is not over 0", () => {
  for (const frameRate of [0, -1, NaN]) {
    assert.throws(
      () => segmenterArgv({ output: "/c", segmentSeconds: 2, startNumber: 0, frameRate }),
      RangeError,
    );
  }
});
