// The fake rpicam-vid stands in for the Pi camera in every other test, so it is held to the
// real tool's command line and bytes here.
import assert from "node:assert/strict";
import { join } from "node:path";
import { rpicamArgv } from "../../src/camera/argv.ts";

const FAKE_RPICAM = join(import.meta.dirname!, "..", "fixtures", "bin", "rpicam-vid");
const SOI = [0xff, 0xd8, 0xff];
const EOI = [0xff, 0xd9];

/** The argv the app runs, with `-t 0` (forever) replaced by `timeout`. */
function appArgv(timeout: string): string[] {
  const argv = rpicamArgv(FAKE_RPICAM, { width: 320, height: 240, fps: 15, quality: 50 });
  const at = argv.indexOf("-t");
  assert.equal(argv[at + 1], "0");
  argv[at + 1] = timeout;
  return argv;
}

/** The argv of rpicamArgv switched to H.264, the way rpicam-vid is run for recording. */
function h264Argv(timeout: string, ...extra: string[]): string[] {
  const argv = appArgv(timeout);
  argv[argv.indexOf("--codec") + 1] = "h264";
  return [...argv.slice(0, -2), ...extra, "-o", "-"];
}

interface Run {
  code: number;
  stdout: Uint8Array;
  stderr: string;
  ms: number;
}

async function run(argv: string[], env: Record<string, string> = {}): Promise<Run> {
  const started = performance.now();
  const output = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  return {
    code: output.code,
    stdout: output.stdout,
    stderr: new TextDecoder().decode(output.stderr),
    ms: performance.now() - started,
  };
}

function indexesOf(bytes: Uint8Array, pattern: number[]): number[] {
  const found: number[] = [];
  outer: for (let i = 0; i + pattern.length <= bytes.length; i++) {
    for (let j = 0; j < pattern.length; j++) {
      if (bytes[i + j] !== pattern[j]) continue outer;
    }
    found.push(i);
  }
  return found;
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

/** Width and height from the baseline SOF0 segment of a JPEG. */
function jpegSize(jpeg: Uint8Array): { width: number; height: number } {
  const sof = indexesOf(jpeg, [0xff, 0xc0])[0];
  assert.ok(sof !== undefined, "no SOF0 marker");
  return {
    height: (jpeg[sof + 5] << 8) | jpeg[sof + 6],
    width: (jpeg[sof + 7] << 8) | jpeg[sof + 8],
  };
}

/** NAL unit types in stream order, from Annex B start codes. */
function nalTypes(stream: Uint8Array): number[] {
  return indexesOf(stream, [0, 0, 1]).map((at) => stream[at + 3] & 0x1f);
}

/** How many IDR pictures there are, and how many of them have an SPS since the last picture. */
function idrHeaders(types: number[]): { idr: number; withSps: number } {
  let idr = 0;
  let withSps = 0;
  let spsSinceSlice = false;
  let previous = -1;
  for (const type of types) {
    if (type === 7) spsSinceSlice = true;
    // Several slices of one picture follow each other; count the picture once.
    if (type === 5 && previous !== 5) {
      idr++;
      if (spsSinceSlice) withSps++;
    }
    if (type === 1 || type === 5) spsSinceSlice = false;
    previous = type;
  }
  return { idr, withSps };
}

Deno.test("fake rpicam-vid prints paced MJPEG frames for rpicamArgv", async () => {
  const { code, stdout, stderr, ms } = await run(appArgv("1000"));
  assert.equal(code, 0, stderr);
  assert.ok(startsWith(stdout, SOI), "stdout starts with a JPEG SOI");
  const starts = indexesOf(stdout, SOI);
  assert.ok(starts.length >= 10 && starts.length <= 20, `${starts.length} frames in 1 s at 15 fps`);
  assert.ok(indexesOf(stdout, EOI).length >= starts.length);
  const frames = starts.map((start, i) => stdout.subarray(start, starts[i + 1]));
  for (const frame of frames) {
    assert.ok(startsWith(frame.subarray(-2), EOI), "every frame ends with EOI");
    assert.deepEqual(jpegSize(frame), { width: 320, height: 240 });
  }
  assert.ok(ms >= 900, `frames are paced in real time, not dumped (took ${ms} ms)`);
  assert.match(stderr, /\] \[\d+\] {2}INFO Camera camera_manager\.cpp:\d+ libcamera v/);
});

Deno.test("fake rpicam-vid maps -q to the JPEG quality", async () => {
  async function firstFrameSize(quality: string): Promise<number> {
    const argv = appArgv("200");
    argv[argv.indexOf("-q") + 1] = quality;
    const { code, stdout, stderr } = await run(argv);
    assert.equal(code, 0, stderr);
    const starts = indexesOf(stdout, SOI);
    return starts[1] - starts[0];
  }
  assert.ok(await firstFrameSize("95") > await firstFrameSize("10"));
});

Deno.test("fake rpicam-vid --codec h264 --inline puts SPS before every IDR", async () => {
  const { code, stdout, stderr } = await run(h264Argv("2000", "--inline", "--intra", "15"));
  assert.equal(code, 0, stderr);
  assert.ok(startsWith(stdout, [0, 0, 0, 1]), "stdout starts with an Annex B start code");
  const types = nalTypes(stdout);
  assert.equal(types[0], 7, "the stream opens with an SPS");
  assert.ok(types.includes(8), "there is a PPS");
  const { idr, withSps } = idrHeaders(types);
  assert.ok(idr >= 2, `an IDR every 15 frames gives at least 2 in 2 s, got ${idr}`);
  assert.equal(withSps, idr);
});

Deno.test("fake rpicam-vid --codec h264 without --inline sends SPS only once", async () => {
  const { code, stdout, stderr } = await run(
    h264Argv("2000", "--intra=15", "--profile", "baseline", "--level", "4.2", "-b", "2mbps"),
  );
  assert.equal(code, 0, stderr);
  const types = nalTypes(stdout);
  const { idr, withSps } = idrHeaders(types);
  assert.ok(idr >= 2, `got ${idr} IDR pictures`);
  assert.equal(withSps, 1);
  // profile_idc and level_idc follow the SPS NAL header.
  const sps = stdout.subarray(indexesOf(stdout, [0, 0, 1, 0x67])[0] + 4);
  assert.equal(sps[0], 66, "baseline profile_idc");
  assert.equal(sps[2], 42, "level 4.2");
});

Deno.test("fake rpicam-vid rejects an unknown option like rpicam-apps", async () => {
  const { code, stdout, stderr } = await run([...appArgv("1000"), "--foo"]);
  assert.notEqual(code, 0);
  assert.equal(stdout.length, 0);
  assert.match(stderr, /^ERROR: \*\*\* unrecognised option '--foo' \*\*\*$/m);
});

Deno.test("fake rpicam-vid rejects missing and invalid numbers", async () => {
  const cases: [string[], RegExp][] = [
    [["--width", "wide"], /the argument \('wide'\) for option '--width' is invalid/],
    [["--framerate=fast"], /the argument \('fast'\) for option '--framerate' is invalid/],
    [["-t", "soon"], /Invalid time string provided/],
    [["--height"], /the required argument for option '--height' is missing/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await run([FAKE_RPICAM, "-n", "-o", "-", ...args]);
    assert.notEqual(code, 0, args.join(" "));
    assert.match(stderr, message);
  }
});

Deno.test("fake rpicam-vid rejects an option given twice", async () => {
  const { code, stderr } = await run([...appArgv("1000"), "--width", "640"]);
  assert.notEqual(code, 0);
  assert.match(stderr, /option '--width' cannot be specified more than once/);
});

Deno.test("fake rpicam-vid rejects a codec it cannot encode", async () => {
  const argv = appArgv("1000");
  argv[argv.indexOf("--codec") + 1] = "yuv420";
  const { code, stdout, stderr } = await run(argv);
  assert.notEqual(code, 0);
  assert.equal(stdout.length, 0);
  assert.match(stderr, /ERROR: \*\*\* Unrecognised codec yuv420 \*\*\*/);
});

Deno.test("fake rpicam-vid --list-cameras lists one imx219", async () => {
  const { code, stdout } = await run([FAKE_RPICAM, "--list-cameras"]);
  assert.equal(code, 0);
  const text = new TextDecoder().decode(stdout);
  assert.match(text, /^Available cameras\n-----------------\n/);
  assert.match(
    text,
    /^0 : imx219 \[3280x2464 10-bit RGGB\] \(\/base\/soc\/i2c0mux\/i2c@1\/imx219@10\)$/m,
  );
});

Deno.test("fake rpicam-vid --version prints the build versions", async () => {
  const { code, stdout } = await run([`${FAKE_RPICAM}`, "--version"]);
  assert.equal(code, 0);
  assert.match(new TextDecoder().decode(stdout), /^rpicam-apps build: v\d.*\nlibcamera build: v/);
});

Deno.test("fake rpicam-vid exits 1 when FAKE_RPICAM_FAIL_AFTER_MS runs out", async () => {
  const { code, stdout, stderr, ms } = await run(appArgv("0"), {
    FAKE_RPICAM_FAIL_AFTER_MS: "300",
  });
  assert.equal(code, 1);
  assert.ok(startsWith(stdout, SOI), "frames flow until the failure");
  assert.match(stderr, /ERROR/);
  assert.ok(ms >= 250 && ms < 5_000, `failed after ${ms} ms`);
});

async function assertKillStopsFrames(env: Record<string, string>): Promise<void> {
  const argv = appArgv("0");
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  const first = await reader.read();
  assert.ok(!first.done && startsWith(first.value, SOI));
  child.kill("SIGTERM");
  // stdout only closes when no process holds it, so this proves ffmpeg died too.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  try {
    await Promise.race([
      closed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("stdout still open 5 s after SIGTERM")), 5_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
  const status = await child.status;
  assert.equal(status.success, false);
}

Deno.test("fake rpicam-vid stops its encoder when killed", async () => {
  await assertKillStopsFrames({});
});

Deno.test("fake rpicam-vid stops its encoder when killed before a simulated failure", async () => {
  await assertKillStopsFrames({ FAKE_RPICAM_FAIL_AFTER_MS: "60000" });
});
