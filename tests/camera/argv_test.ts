import assert from "node:assert/strict";
import {
  clockEnv,
  commandArgv,
  jpegQualityToQscale,
  parseV4l2Formats,
  rpicamArgv,
  testPatternArgv,
  v4l2Argv,
} from "../../src/camera/argv.ts";

const capture = { width: 1280, height: 720, fps: 30, quality: 100 };
const ffmpegPrefix = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error"];

Deno.test("rpicamArgv prints MJPEG on stdout until killed", () => {
  assert.deepEqual(rpicamArgv("/usr/bin/rpicam-vid", { ...capture, fps: 25, quality: 80 }), [
    "/usr/bin/rpicam-vid",
    "-t",
    "0",
    "-n",
    "--codec",
    "mjpeg",
    "--width",
    "1280",
    "--height",
    "720",
    "--framerate",
    "25",
    "-q",
    "80",
    "--flush",
    "-o",
    "-",
  ]);
});

Deno.test("v4l2Argv copies the camera's MJPEG", () => {
  assert.deepEqual(v4l2Argv("/dev/video0", { ...capture, cameraGivesMjpeg: true }), [
    ...ffmpegPrefix,
    "-f",
    "v4l2",
    "-input_format",
    "mjpeg",
    "-video_size",
    "1280x720",
    "-framerate",
    "30",
    "-i",
    "/dev/video0",
    "-c:v",
    "copy",
    "-f",
    "mjpeg",
    "-",
  ]);
});

Deno.test("v4l2Argv encodes raw frames to MJPEG", () => {
  assert.deepEqual(v4l2Argv("/dev/video2", { ...capture, quality: 1, cameraGivesMjpeg: false }), [
    ...ffmpegPrefix,
    "-f",
    "v4l2",
    "-video_size",
    "1280x720",
    "-framerate",
    "30",
    "-i",
    "/dev/video2",
    "-c:v",
    "mjpeg",
    "-q:v",
    "31",
    "-pix_fmt",
    "yuvj420p",
    "-f",
    "mjpeg",
    "-",
  ]);
});

Deno.test("testPatternArgv paces testsrc in real time without a font", () => {
  assert.deepEqual(testPatternArgv({ width: 640, height: 480, fps: 15, quality: 100 }), [
    ...ffmpegPrefix,
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc=size=640x480:rate=15",
    "-c:v",
    "mjpeg",
    "-q:v",
    "2",
    "-pix_fmt",
    "yuvj420p",
    "-f",
    "mjpeg",
    "-",
  ]);
});

Deno.test("testPatternArgv draws a wall clock with date, time and zone with a font", () => {
  const fontFile = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
  assert.deepEqual(testPatternArgv({ width: 640, height: 480, fps: 15, quality: 100, fontFile }), [
    ...ffmpegPrefix,
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc=size=640x480:rate=15",
    "-vf",
    `drawtext=fontfile=${fontFile}:text=%{localtime\\\\:%Y-%m-%d %H\\\\\\\\\\\\:%M` +
    "\\\\\\\\\\\\:%S %Z}:fontsize=27:fontcolor=white:box=1" +
    ":boxcolor=black@0.6:boxborderw=6:x=8:y=h-th-14",
    "-c:v",
    "mjpeg",
    "-q:v",
    "2",
    "-pix_fmt",
    "yuvj420p",
    "-f",
    "mjpeg",
    "-",
  ]);
});

Deno.test("testPatternArgv escapes a font path so ffmpeg reads it back unchanged", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Every character that means something to the filtergraph or option parser.
    const fontFile = `${dir}/a b:c,d'e[f];g\\h.ttf`;
    const argv = testPatternArgv({ width: 160, height: 120, fps: 5, quality: 50, fontFile });
    // Run it for one frame at debug level, which logs each filter option as parsed.
    const args = argv.slice(1, -3).map((arg) => arg === "error" ? "debug" : arg)
      .filter((arg) => arg !== "-re");
    const output = await new Deno.Command(argv[0], {
      args: [...args, "-frames:v", "1", "-f", "null", "-"],
      stdout: "null",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.ok(stderr.includes(`Setting 'fontfile' to value '${fontFile}'`), stderr.slice(-2000));
    // As drawtext expands it: the time's colons escaped, so they do not end the format.
    assert.ok(
      stderr.includes("Setting 'text' to value '%{localtime:%Y-%m-%d %H\\:%M\\:%S %Z}'"),
      stderr.slice(-2000),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("clockEnv makes ffmpeg's local time that of the zone", async () => {
  assert.deepEqual(clockEnv("Asia/Kolkata"), { TZ: "Asia/Kolkata" });
  const fontFile = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
  // One frame with ffmpeg's local UTC offset drawn, one with the text it must be.
  const draw = async (text: string, env?: Record<string, string>) => {
    const output = await new Deno.Command("ffmpeg", {
      args: [
        ...["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=size=96x32"],
        ...[
          "-vf",
          `drawtext=fontfile=${fontFile}:text=${text}:fontsize=16:fontcolor=white`,
          "-frames:v",
          "1",
        ],
        ...["-f", "rawvideo", "-pix_fmt", "gray", "-"],
      ],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    return output.stdout;
  };
  // Escaped for the filtergraph, then for the option value: drawtext expands %{localtime:%z}.
  const offset = String.raw`%{localtime\\\:%z}`;
  const kolkata = await draw(offset, clockEnv("Asia/Kolkata"));
  assert.deepEqual(kolkata, await draw("+0530"));
  assert.notDeepEqual(await draw(offset, clockEnv("UTC")), kolkata);
});

Deno.test("commandArgv runs the command through sh -c", () => {
  const command = "gst-launch-1.0 -q v4l2src ! jpegenc ! fdsink | cat";
  assert.deepEqual(commandArgv(command), ["sh", "-c", command]);
});

Deno.test("jpegQualityToQscale maps 100 to 2 and 1 to 31", () => {
  assert.deepEqual(jpegQualityToQscale(100), 2);
  assert.deepEqual(jpegQualityToQscale(1), 31);
  assert.deepEqual(jpegQualityToQscale(50), 17);
});

Deno.test("jpegQualityToQscale never rises as quality rises", () => {
  let previous = jpegQualityToQscale(1);
  for (let quality = 2; quality <= 100; quality++) {
    const qscale = jpegQualityToQscale(quality);
    assert.ok(qscale <= previous, `quality ${quality} gave ${qscale} after ${previous}`);
    assert.ok(Number.isInteger(qscale) && qscale >= 2 && qscale <= 31);
    previous = qscale;
  }
});

Deno.test("jpegQualityToQscale rejects quality outside 1..100", () => {
  for (const quality of [0, 101, -5, NaN]) {
    assert.throws(() => jpegQualityToQscale(quality), {
      name: "RangeError",
      message: /^Cannot map JPEG quality: /,
    });
  }
});

// stderr of `ffmpeg -hide_banner -f v4l2 -list_formats all -i /dev/video0` (ffmpeg 5.1).
const UVC_WEBCAM = `\
[video4linux2,v4l2 @ 0x55d1c5e0f3c0] Compressed:       mjpeg :          Motion-JPEG : 1920x1080 1280x720 800x600 640x480 640x360 352x288 320x240
[video4linux2,v4l2 @ 0x55d1c5e0f3c0] Raw       :     yuyv422 :           YUYV 4:2:2 : 640x480 1280x720 800x600 640x360 352x288 320x240 1920x1080
/dev/video0: Immediate exit requested
`;

const RAW_ONLY_WEBCAM = `\
[video4linux2,v4l2 @ 0x5581e0d4a2c0] Raw       :     yuyv422 :           YUYV 4:2:2 : 640x480 352x288 320x240 176x144 160x120
[video4linux2,v4l2 @ 0x5581e0d4a2c0] Raw       :        nv12 :         Y/CbCr 4:2:0 : Emulated : 640x480 320x240
[video4linux2,v4l2 @ 0x5581e0d4a2c0] Compressed:        h264 :                H.264 : 1920x1080 1280x720
[video4linux2,v4l2 @ 0x5581e0d4a2c0] Compressed: Unsupported :          Motion-JPEG : 640x480
/dev/video0: Immediate exit requested
`;

// The legacy Pi camera driver (bcm2835-v4l2) lists stepwise sizes.
const BCM2835_V4L2 = `\
[video4linux2,v4l2 @ 0x1e6c4a0] Raw       :     yuv420p :     Planar YUV 4:2:0 : {32-2592, 2}x{32-1944, 2}
[video4linux2,v4l2 @ 0x1e6c4a0] Compressed:       mjpeg :            JFIF JPEG : {32-2592, 2}x{32-1944, 2}
[video4linux2,v4l2 @ 0x1e6c4a0] Compressed:        h264 :                H.264 : {32-2592, 2}x{32-1944, 2}
[video4linux2,v4l2 @ 0x1e6c4a0] Compressed:       mjpeg :          Motion-JPEG : {32-2592, 2}x{32-1944, 2}
/dev/video0: Immediate exit requested
`;

Deno.test("parseV4l2Formats finds MJPEG offered by a UVC webcam", () => {
  assert.deepEqual(parseV4l2Formats(UVC_WEBCAM), {
    mjpeg: true,
    h264: false,
    formats: ["mjpeg", "yuyv422"],
  });
});

Deno.test("parseV4l2Formats reports no MJPEG when only raw and H.264 are offered", () => {
  assert.deepEqual(parseV4l2Formats(RAW_ONLY_WEBCAM), {
    mjpeg: false,
    h264: true,
    formats: ["yuyv422", "nv12", "h264"],
  });
});

Deno.test("parseV4l2Formats reads stepwise sizes and lists each format once", () => {
  assert.deepEqual(parseV4l2Formats(BCM2835_V4L2), {
    mjpeg: true,
    h264: true,
    formats: ["yuv420p", "mjpeg", "h264"],
  });
});

Deno.test("parseV4l2Formats finds nothing when the device cannot be opened", () => {
  const stderr = `\
[video4linux2,v4l2 @ 0x564058fde900] Cannot open video device /dev/video0: No such file or directory
/dev/video0: No such file or directory
`;
  assert.deepEqual(parseV4l2Formats(stderr), { mjpeg: false, h264: false, formats: [] });
});
