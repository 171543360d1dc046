import assert from "node:assert/strict";
import { join } from "node:path";
import {
  commandArgv,
  h264Defaults,
  rpicamArgv,
  testPatternArgv,
  v4l2Argv,
} from "../../src/camera/argv.ts";
import {
  resolveSource,
  type SourceRequest,
  type SystemProbe,
  systemProbe,
} from "../../src/camera/detect.ts";

const FAKE_BIN = join(import.meta.dirname!, "..", "fixtures", "bin");
const FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";

const capture = { width: 1280, height: 720, fps: 30, quality: 80 };
const h264 = h264Defaults(capture);
const piCapture = { ...capture, codec: "h264" as const, h264 };

/** No overlay asked for. */
const OFF = { active: false, format: "", method: null, reason: "off" };

function request(overrides: Partial<SourceRequest> = {}): SourceRequest {
  return { source: "auto", device: "/dev/video0", ...capture, ...overrides };
}

const UVC_MJPEG = `\
[video4linux2,v4l2 @ 0x55d1c5e0f3c0] Compressed:       mjpeg :          Motion-JPEG : 1920x1080 1280x720 640x480
[video4linux2,v4l2 @ 0x55d1c5e0f3c0] Raw       :     yuyv422 :           YUYV 4:2:2 : 640x480 1280x720
/dev/video0: Immediate exit requested
`;

const UVC_RAW = `\
[video4linux2,v4l2 @ 0x5581e0d4a2c0] Raw       :     yuyv422 :           YUYV 4:2:2 : 640x480 320x240
/dev/video0: Immediate exit requested
`;

interface FakeSystem {
  /** Program name → path, for programs on PATH. */
  executables?: Record<string, string>;
  /** Device → `list_formats` stderr, for devices that exist. */
  devices?: Record<string, string>;
  font?: string;
  /** rpicam-apps' OpenCV plugin (annotate_cv) is installed. */
  opencvPlugin?: boolean;
  /** Files cannot be written. */
  readOnly?: boolean;
}

/** An in-memory system that records which devices had their formats listed. */
function fakeProbe(
  system: FakeSystem,
): SystemProbe & { listed: string[]; written: Map<string, string> } {
  const listed: string[] = [];
  const written = new Map<string, string>();
  return {
    listed,
    written,
    findExecutable: (name) => Promise.resolve(system.executables?.[name]),
    exists: (path) => Promise.resolve(path in (system.devices ?? {})),
    listV4l2Formats(device) {
      listed.push(device);
      const stderr = system.devices?.[device];
      if (stderr === undefined) return Promise.reject(new Error(`No device ${device}`));
      return Promise.resolve(stderr);
    },
    fontFile: () => Promise.resolve(system.font),
    rpicamOpencvPlugin: (program) =>
      Promise.resolve(system.opencvPlugin ? `${program}/../opencv-postproc.so` : undefined),
    writeFile(path, text) {
      if (system.readOnly) return Promise.reject(new Error("Read-only file system"));
      written.set(path, text);
      return Promise.resolve();
    },
  };
}

Deno.test("resolveSource auto picks rpicam-vid when it is on PATH", async () => {
  const probe = fakeProbe({
    executables: { "rpicam-vid": "/usr/bin/rpicam-vid", "libcamera-vid": "/usr/bin/libcamera-vid" },
    devices: { "/dev/video0": UVC_MJPEG },
  });
  const source = await resolveSource(request(), probe);
  assert.deepEqual(source, {
    kind: "rpicam",
    encodes: true,
    codec: "h264",
    h264,
    argv: rpicamArgv("/usr/bin/rpicam-vid", piCapture),
    description: "rpicam (rpicam-vid, H.264)",
    reason: "rpicam-vid found at /usr/bin/rpicam-vid",
    overlay: OFF,
  });
  assert.deepEqual(probe.listed, [], "a webcam is not probed when the Pi camera is there");
});

Deno.test("resolveSource auto falls back to libcamera-vid on older Raspberry Pi OS", async () => {
  const probe = fakeProbe({ executables: { "libcamera-vid": "/usr/bin/libcamera-vid" } });
  const source = await resolveSource(request(), probe);
  assert.deepEqual(source, {
    kind: "rpicam",
    encodes: true,
    codec: "h264",
    h264,
    argv: rpicamArgv("/usr/bin/libcamera-vid", piCapture),
    description: "rpicam (libcamera-vid, H.264)",
    reason: "rpicam-vid not found, libcamera-vid found at /usr/bin/libcamera-vid",
    overlay: OFF,
  });
});

Deno.test("resolveSource auto copies MJPEG from a webcam that offers it", async () => {
  const probe = fakeProbe({ devices: { "/dev/video0": UVC_MJPEG } });
  const source = await resolveSource(request(), probe);
  assert.deepEqual(source, {
    kind: "v4l2",
    codec: "mjpeg",
    encodes: false,
    argv: v4l2Argv("/dev/video0", { ...capture, cameraGivesMjpeg: true }),
    description: "v4l2 /dev/video0 (MJPEG copied)",
    reason: "neither rpicam-vid nor libcamera-vid on PATH, /dev/video0 found",
    overlay: OFF,
  });
  assert.deepEqual(probe.listed, ["/dev/video0"]);
});

Deno.test("resolveSource auto encodes from a webcam that offers only raw frames", async () => {
  const probe = fakeProbe({ devices: { "/dev/video1": UVC_RAW } });
  const source = await resolveSource(request({ device: "/dev/video1" }), probe);
  assert.deepEqual(source, {
    kind: "v4l2",
    codec: "mjpeg",
    encodes: true,
    argv: v4l2Argv("/dev/video1", { ...capture, cameraGivesMjpeg: false }),
    description: "v4l2 /dev/video1 (encoded to MJPEG)",
    reason: "neither rpicam-vid nor libcamera-vid on PATH, /dev/video1 found",
    overlay: OFF,
  });
});

Deno.test("resolveSource auto falls back to the test pattern and says why", async () => {
  const source = await resolveSource(request(), fakeProbe({ font: FONT }));
  assert.deepEqual(source, {
    kind: "test",
    encodes: true,
    codec: "mjpeg",
    argv: testPatternArgv({ ...capture, fontFile: FONT }),
    description: "test pattern 1280x720@30",
    reason: "neither rpicam-vid nor libcamera-vid on PATH, /dev/video0 not found",
    overlay: OFF,
  });
});

Deno.test("resolveSource test draws no clock when no font is installed", async () => {
  const probe = fakeProbe({ executables: { "rpicam-vid": "/usr/bin/rpicam-vid" } });
  const source = await resolveSource(request({ source: "test" }), probe);
  assert.deepEqual(source, {
    kind: "test",
    encodes: true,
    codec: "mjpeg",
    argv: testPatternArgv(capture),
    description: "test pattern 1280x720@30",
    overlay: OFF,
  });
});

Deno.test("resolveSource rpicam throws when neither tool is on PATH", async () => {
  const probe = fakeProbe({ devices: { "/dev/video0": UVC_MJPEG } });
  await assert.rejects(resolveSource(request({ source: "rpicam" }), probe), {
    name: "Error",
    message: "Cannot use source rpicam: neither rpicam-vid nor libcamera-vid is on PATH",
  });
});

Deno.test("resolveSource rpicam uses libcamera-vid when rpicam-vid is missing", async () => {
  const probe = fakeProbe({ executables: { "libcamera-vid": "/usr/bin/libcamera-vid" } });
  const source = await resolveSource(request({ source: "rpicam" }), probe);
  assert.equal(source.kind, "rpicam");
  assert.equal(source.argv[0], "/usr/bin/libcamera-vid");
  assert.equal(source.description, "rpicam (libcamera-vid, H.264)");
  assert.equal(source.reason, undefined);
});

Deno.test("resolveSource v4l2 throws naming a missing device", async () => {
  const probe = fakeProbe({ executables: { "rpicam-vid": "/usr/bin/rpicam-vid" } });
  await assert.rejects(resolveSource(request({ source: "v4l2", device: "/dev/video7" }), probe), {
    name: "Error",
    message: "Cannot use source v4l2: /dev/video7 does not exist",
  });
});

Deno.test("resolveSource v4l2 uses the webcam even when the Pi camera is there", async () => {
  const probe = fakeProbe({
    executables: { "rpicam-vid": "/usr/bin/rpicam-vid" },
    devices: { "/dev/video0": UVC_RAW },
  });
  const source = await resolveSource(request({ source: "v4l2" }), probe);
  assert.equal(source.kind, "v4l2");
  assert.deepEqual(source.argv, v4l2Argv("/dev/video0", { ...capture, cameraGivesMjpeg: false }));
});

Deno.test("resolveSource command runs the command through sh", async () => {
  const command = "curl -s http://cam.local/mjpeg | cat";
  const source = await resolveSource(request({ source: "command", command }), fakeProbe({}));
  assert.deepEqual(source, {
    kind: "command",
    encodes: false,
    codec: "mjpeg",
    argv: commandArgv(command),
    description: `command: ${command}`,
    overlay: OFF,
  });
});

Deno.test("resolveSource command throws without a command", async () => {
  for (const command of [undefined, "", "   "]) {
    await assert.rejects(resolveSource(request({ source: "command", command }), fakeProbe({})), {
      name: "TypeError",
      message: "Cannot use source command: no command given",
    });
  }
});

Deno.test("resolveSource throws on an unknown source kind", async () => {
  const source = "gopro" as SourceRequest["source"];
  await assert.rejects(resolveSource(request({ source }), fakeProbe({})), {
    name: "TypeError",
    message: 'Cannot resolve source: unknown kind "gopro"',
  });
});

/** Runs `fn` with PATH set to `path`, then puts PATH back. */
async function withPath<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const saved = Deno.env.get("PATH");
  Deno.env.set("PATH", path);
  try {
    return await fn();
  } finally {
    if (saved === undefined) Deno.env.delete("PATH");
    else Deno.env.set("PATH", saved);
  }
}

Deno.test("systemProbe.findExecutable finds the fake rpicam-vid on PATH", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withPath(`${dir}/missing::${dir}:${FAKE_BIN}/`, async () => {
      assert.equal(await systemProbe.findExecutable("rpicam-vid"), `${FAKE_BIN}/rpicam-vid`);
      assert.equal(
        await systemProbe.findExecutable("libcamera-vid"),
        `${FAKE_BIN}/libcamera-vid`,
      );
      assert.equal(await systemProbe.findExecutable("no-such-program"), undefined);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("systemProbe.findExecutable finds libcamera-vid when it is the only one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.symlink(`${FAKE_BIN}/rpicam-vid`, `${dir}/libcamera-vid`);
    await withPath(dir, async () => {
      assert.equal(await systemProbe.findExecutable("rpicam-vid"), undefined);
      assert.equal(await systemProbe.findExecutable("libcamera-vid"), `${dir}/libcamera-vid`);
      const source = await resolveSource(request({ source: "rpicam" }));
      assert.equal(source.description, "rpicam (libcamera-vid, H.264)");
      assert.equal(source.argv[0], `${dir}/libcamera-vid`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("systemProbe.findExecutable skips files that are not executable", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/rpicam-vid`, "#!/bin/sh\n", { mode: 0o644 });
    await Deno.mkdir(`${dir}/libcamera-vid`);
    await withPath(dir, async () => {
      assert.equal(await systemProbe.findExecutable("rpicam-vid"), undefined);
      assert.equal(await systemProbe.findExecutable("libcamera-vid"), undefined);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("systemProbe.exists tells existing paths from missing ones", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await systemProbe.exists(dir), true);
    assert.equal(await systemProbe.exists("/dev/null"), true);
    assert.equal(await systemProbe.exists(`${dir}/video0`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("systemProbe.listV4l2Formats returns ffmpeg's complaint for a missing device", async () => {
  const stderr = await systemProbe.listV4l2Formats("/dev/video-missing");
  assert.match(stderr, /Cannot open video device \/dev\/video-missing/);
});

Deno.test("resolveSource auto with the real system falls back to the test pattern", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const source = await withPath(dir, () => resolveSource(request({ device: `${dir}/video0` })));
    assert.equal(source.kind, "test");
    assert.equal(source.argv[0], "ffmpeg");
    assert.equal(
      source.reason,
      `neither rpicam-vid nor libcamera-vid on PATH, ${dir}/video0 not found`,
    );
    const fontFile = await systemProbe.fontFile();
    assert.deepEqual(source.argv, testPatternArgv({ ...capture, fontFile }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const FORMAT = "%Y-%m-%d %H:%M:%S";

Deno.test("resolveSource rpicam burns the time in through annotate_cv when the plugin is there", async () => {
  const probe = fakeProbe({
    executables: { "rpicam-vid": "/usr/bin/rpicam-vid" },
    opencvPlugin: true,
  });
  const file = "/run/user/1000/annotate_cv.json";
  const source = await resolveSource(
    request({ overlay: FORMAT, postProcessFile: file }),
    probe,
  );
  assert.deepEqual(source.overlay, {
    active: true,
    format: FORMAT,
    method: "annotate_cv",
    reason: null,
  });
  assert.deepEqual(
    source.argv,
    rpicamArgv("/usr/bin/rpicam-vid", { ...piCapture, postProcessFile: file }),
  );
  assert.equal(source.argv[source.argv.indexOf("--post-process-file") + 1], file);
  assert.deepEqual(JSON.parse(probe.written.get(file)!), {
    annotate_cv: { text: FORMAT, fg: 255, bg: 0, scale: 1, thickness: 2, alpha: 0.5 },
  });
});

Deno.test("resolveSource rpicam says the annotate_cv package is missing, and records without", async () => {
  const probe = fakeProbe({ executables: { "rpicam-vid": "/usr/bin/rpicam-vid" } });
  const source = await resolveSource(request({ overlay: FORMAT }), probe);
  assert.equal(source.overlay.active, false);
  assert.match(source.overlay.reason!, /install rpicam-apps-opencv-postprocess/);
  assert.ok(!source.argv.includes("--post-process-file"));
  assert.equal(probe.written.size, 0);

  const readOnly = fakeProbe({
    executables: { "rpicam-vid": "/usr/bin/rpicam-vid" },
    opencvPlugin: true,
    readOnly: true,
  });
  const unwritable = await resolveSource(request({ overlay: FORMAT }), readOnly);
  assert.equal(unwritable.overlay.active, false);
  assert.match(unwritable.overlay.reason!, /^Cannot write .*annotate_cv\.json: Read-only/);
  assert.ok(!unwritable.argv.includes("--post-process-file"), "the camera still starts");
});

Deno.test("resolveSource draws the time with drawtext where ffmpeg encodes, and says why not elsewhere", async () => {
  const drawn = { active: true, format: FORMAT, method: "drawtext", reason: null };
  const test = await resolveSource(request({ overlay: FORMAT }), fakeProbe({ font: FONT }));
  assert.deepEqual(test.overlay, drawn);
  assert.deepEqual(
    test.argv,
    testPatternArgv({ ...capture, fontFile: FONT, overlay: { format: FORMAT, fontFile: FONT } }),
  );

  const raw = await resolveSource(
    request({ overlay: FORMAT, device: "/dev/video1" }),
    fakeProbe({ devices: { "/dev/video1": UVC_RAW }, font: FONT }),
  );
  assert.deepEqual(raw.overlay, drawn);
  assert.ok(raw.argv.join(" ").includes("drawtext="), "encoded frames get the overlay");

  const copied = await resolveSource(
    request({ overlay: FORMAT }),
    fakeProbe({ devices: { "/dev/video0": UVC_MJPEG }, font: FONT }),
  );
  assert.equal(copied.overlay.active, false);
  assert.match(copied.overlay.reason!, /own MJPEG is copied: no overlay without re-encoding/);
  assert.ok(!copied.argv.join(" ").includes("drawtext"));

  const command = await resolveSource(
    request({ overlay: FORMAT, source: "command", command: "cat x.mjpg" }),
    fakeProbe({}),
  );
  assert.match(command.overlay.reason!, /copied: no overlay without re-encoding/);

  const noFont = await resolveSource(request({ overlay: FORMAT }), fakeProbe({}));
  assert.equal(noFont.overlay.active, false);
  assert.match(noFont.overlay.reason!, /no font/);
});

Deno.test("resolveSource with the overlay off draws nothing, not even the pattern's clock", async () => {
  const source = await resolveSource(request({ overlay: "" }), fakeProbe({ font: FONT }));
  assert.deepEqual(source.overlay, OFF);
  assert.deepEqual(source.argv, testPatternArgv(capture));
});

Deno.test("systemProbe finds the fake rpicam-vid's OpenCV plugin beside it, as rpicam-apps installs it", async () => {
  const plugin = await systemProbe.rpicamOpencvPlugin(join(FAKE_BIN, "rpicam-vid"));
  assert.ok(plugin?.endsWith("/lib/rpicam-apps-postproc/opencv-postproc.so"), plugin);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "bin"));
    assert.equal(await systemProbe.rpicamOpencvPlugin(join(dir, "bin", "rpicam-vid")), undefined);
    const file = join(dir, "cache", "videorecorder", "annotate_cv.json");
    await systemProbe.writeFile(file, "{}\n");
    assert.equal(await Deno.readTextFile(file), "{}\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
