/**
 * The time burned into recorded frames, read back by OCR (Debian's tesseract) and checked
 * against the clip's start time: through the (fake) Pi camera's annotate_cv stage and through
 * ffmpeg's drawtext on the test pattern.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { clockEnv } from "../../src/camera/argv.ts";
import { Camera } from "../../src/camera/camera.ts";
import { resolveSource, type SourceRequest, systemProbe } from "../../src/camera/detect.ts";
import { DEFAULT_OVERLAY } from "../../src/camera/overlay.ts";
import { FrameHub } from "../../src/frames/frame_hub.ts";
import { type SavedClip, SegmentRecorder } from "../../src/recorder/segment_recorder.ts";
import { loadConfig, parseCommandLine } from "../../src/config/mod.ts";
import { Dashcam } from "../../src/dashcam.ts";
import { statusReport } from "../../src/server/app.ts";
import { FAKE_BIN, run, waitFor } from "../_helpers.ts";

/** Not the machine's zone: the burned-in time must be the one the camera is told. */
const ZONE = "Asia/Kolkata";

/** "2026-12-02 22:45:03" in `ZONE`, as DEFAULT_OVERLAY prints it. */
function localTime(ms: number): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: ZONE,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    }).formatToParts(ms).map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

/** Ms since the epoch of a "YYYY-MM-DD HH:MM:SS" in `ZONE` (+05:30, no daylight saving). */
function parseLocal(text: string): number {
  return Date.parse(`${text.replace(" ", "T")}+05:30`);
}

/**
 * The text in the top `height` rows of the clip's first frame: white text kept (black on
 * white), the rest blanked, a margin added, as tesseract reads best.
 */
async function burnedText(clip: string, height: number): Promise<string> {
  const png = await run([
    "ffmpeg",
    "-v",
    "error",
    "-i",
    clip,
    "-frames:v",
    "1",
    "-vf",
    `crop=iw/2:${height}:0:0,format=gray,geq=lum='if(gt(lum(X\\,Y)\\,200)\\,0\\,255)',` +
    "pad=iw+40:ih+40:20:20:white",
    "-f",
    "image2pipe",
    "-c:v",
    "png",
    "-",
  ]);
  const text = await run(["tesseract", "-", "-", "--psm", "7"], { stdin: png });
  return new TextDecoder().decode(text).trim();
}

async function recordOneClip(request: SourceRequest): Promise<{ clip: SavedClip; path: string }> {
  const output = await Deno.makeTempDir({ prefix: "overlay_test_" });
  const probe = {
    ...systemProbe,
    findExecutable: (name: string) => Promise.resolve(join(FAKE_BIN, name)),
    writeFile: (path: string, text: string) => Deno.writeTextFile(path, text),
  };
  const source = await resolveSource(
    { ...request, postProcessFile: join(output, "annotate_cv.json") },
    probe,
  );
  assert.equal(source.overlay.active, true, source.overlay.reason ?? "");
  const hub = new FrameHub();
  const camera = new Camera({
    argv: source.argv,
    codec: source.codec,
    hub,
    env: () => clockEnv(ZONE),
  });
  const clips: SavedClip[] = [];
  const recorder = new SegmentRecorder({
    hub,
    output,
    segmentSeconds: 2,
    codec: source.codec,
    fps: request.fps,
    timeZone: () => ZONE,
    onClip: (clip) => void clips.push(clip),
  });
  try {
    camera.start();
    await waitFor("the first keyframe", () => hub.latest?.keyframe, 20_000);
    await recorder.start();
    await waitFor("a closed clip", () => clips.length > 0, 30_000);
    await recorder.stop();
    const clip = clips[0];
    const path = join(output, clip.file);
    const copy = await Deno.makeTempFile({ suffix: clip.file.slice(clip.file.lastIndexOf(".")) });
    await Deno.copyFile(path, copy);
    return { clip, path: copy };
  } finally {
    await recorder.stop();
    await camera.stop();
    await Deno.remove(output, { recursive: true });
  }
}

const cases = [
  {
    name: "the Pi camera's annotate_cv stage (fake rpicam-vid, H.264)",
    request: { source: "rpicam" as const, codec: "h264" as const },
    // annotate_cv's text at 1280 wide: about 32 px, from the top edge.
    rows: 44,
  },
  {
    name: "ffmpeg's drawtext on the test pattern (MJPEG)",
    request: { source: "test" as const, codec: "mjpeg" as const },
    // 720 / 18 = 40 px text from y = 8, and its box.
    rows: 70,
  },
];

for (const { name, request, rows } of cases) {
  Deno.test(`Recorded frames carry their time burned in by ${name}`, async () => {
    const { clip, path } = await recordOneClip({
      ...request,
      device: "/dev/null/none",
      width: 1280,
      height: 720,
      fps: 10,
      quality: 70,
      overlay: DEFAULT_OVERLAY,
    });
    try {
      const text = await burnedText(path, rows);
      const match = /(\d{4}-\d\d-\d\d) ?(\d\d):?(\d\d):?(\d\d)/.exec(text);
      assert.ok(match, `no time read from "${text}"`);
      const burned = `${match[1]} ${match[2]}:${match[3]}:${match[4]}`;
      const offset = parseLocal(burned) - clip.start;
      // The first frame's time, to the second it was drawn in; the clip starts at its capture.
      assert.ok(
        Math.abs(offset) <= 2_000,
        `burned in "${burned}", clip starts ${localTime(clip.start)} (${ZONE})`,
      );
    } finally {
      await Deno.remove(path);
    }
  });
}

/** The status of a recorder built from `args` on the fake Pi camera, the plugin there or not. */
async function overlayStatus(args: string[], opencvPlugin: boolean) {
  const dir = await Deno.makeTempDir({ prefix: "overlay_status_test_" });
  try {
    const config = await loadConfig(
      parseCommandLine(["--source", "rpicam", "-f", join(dir, "clips"), ...args]),
      { env: { XDG_CACHE_HOME: dir } },
    );
    const dashcam = await Dashcam.create(config, {
      probe: {
        ...systemProbe,
        findExecutable: (name) => Promise.resolve(join(FAKE_BIN, name)),
        rpicamOpencvPlugin: (program) =>
          opencvPlugin ? systemProbe.rpicamOpencvPlugin(program) : Promise.resolve(undefined),
        writeFile: (_path, text) => Deno.writeTextFile(join(dir, "annotate_cv.json"), text),
      },
    });
    return {
      overlay: statusReport(dashcam.status(), [], Date.now()).overlay,
      argv: dashcam.status().source.argv,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("/api/status says whether the time is burned in, and why not", async () => {
  const on = await overlayStatus([], true);
  assert.deepEqual(on.overlay, {
    active: true,
    format: DEFAULT_OVERLAY,
    method: "annotate_cv",
    reason: null,
  });
  assert.ok(on.argv.includes("--post-process-file"));

  // Raspberry Pi OS Lite: rpicam-vid without rpicam-apps-opencv-postprocess.
  const lite = await overlayStatus([], false);
  assert.equal(lite.overlay.active, false);
  assert.match(lite.overlay.reason!, /install rpicam-apps-opencv-postprocess/);
  assert.ok(!lite.argv.includes("--post-process-file"), "the camera records without it");

  const off = await overlayStatus(["--overlay", ""], true);
  assert.deepEqual(off.overlay, { active: false, format: "", method: null, reason: "off" });

  const custom = await overlayStatus(["--overlay", "%d.%m.%Y %X"], true);
  assert.equal(custom.overlay.format, "%d.%m.%Y %X");
  await assert.rejects(overlayStatus(["--overlay", "%{pts}"], true), /overlay/i);
});
