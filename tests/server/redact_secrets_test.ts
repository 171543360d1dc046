import assert from "node:assert/strict";
import { redactAll, redactSecrets } from "../../src/server/redact_secrets.ts";

Deno.test("redactSecrets masks passwords in URLs, named values, flags and headers", () => {
  const cases: [string, string][] = [
    [
      "ffmpeg -rtsp_transport tcp -i rtsp://admin:hunter2@192.168.1.20:554/stream1 -f mjpeg -",
      "ffmpeg -rtsp_transport tcp -i rtsp://admin:***@192.168.1.20:554/stream1 -f mjpeg -",
    ],
    ["curl -s http://token123@cam/snap", "curl -s http://***@cam/snap"],
    [
      "curl 'http://cam/video.cgi?user=admin&password=hunter2&fps=10'",
      "curl 'http://cam/video.cgi?user=admin&password=***&fps=10'",
    ],
    ["cam-tool --password hunter2 --fps 10", "cam-tool --password *** --fps 10"],
    ["cam-tool --token=abc.def -o -", "cam-tool --token=*** -o -"],
    ['gst -e pass="two words" !', "gst -e pass=*** !"],
    [
      "curl -H 'Authorization: Basic YWRtaW46aHVudGVyMg==' http://cam/",
      "curl -H 'Authorization: Basic ***' http://cam/",
    ],
  ];
  for (const [text, redacted] of cases) assert.equal(redactSecrets(text), redacted);
});

Deno.test("redactSecrets keeps text without secrets as it is", () => {
  for (
    const text of [
      "ffmpeg -f v4l2 -i /dev/video0 -c:v mjpeg -f mjpeg -",
      "rtsp://192.168.1.20:554/stream1",
      "rpicam-vid -t 0 --codec mjpeg -o -",
      "user@host: 10 frames",
    ]
  ) {
    assert.equal(redactSecrets(text), text);
  }
});

Deno.test("redactAll masks every string in a status document and keeps its shape", () => {
  const status = {
    camera: {
      description: "command: ffmpeg -i rtsp://admin:hunter2@cam/1 -f mjpeg -",
      stderr: ["Input #0, rtsp, from 'rtsp://admin:hunter2@cam/1':", "frame=1"],
      fps: 10,
      last_error: null,
    },
    record: { state: "camera", message: "Camera failing: rtsp://admin:hunter2@cam/1: 401" },
  };
  const redacted = redactAll(status);
  assert.ok(!JSON.stringify(redacted).includes("hunter2"));
  assert.deepEqual(redacted, {
    camera: {
      description: "command: ffmpeg -i rtsp://admin:***@cam/1 -f mjpeg -",
      stderr: ["Input #0, rtsp, from 'rtsp://admin:***@cam/1':", "frame=1"],
      fps: 10,
      last_error: null,
    },
    record: { state: "camera", message: "Camera failing: rtsp://admin:***@cam/1: 401" },
  });
  assert.equal(status.camera.stderr[0].includes("hunter2"), true, "the original is untouched");
});
