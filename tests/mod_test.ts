/** End to end: the real program in a child process, real camera processes, real HTTP. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseClipName } from "../src/storage/clip_name.ts";
import { recorderFlags } from "./_dashcam.ts";
import { FAKE_BIN, lavfi, probeClip, run, waitFor } from "./_helpers.ts";
import {
  ON_NODE,
  recorderCommand,
  startRecorder as startRecorderProcess,
} from "./_recorder_process.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;

/**
 * `VIDEORECORDER_TEST_RUNTIME=node` runs these tests against the Node bundle on the host's
 * `node` (tests/_recorder_process.ts builds it into a temporary directory) instead of mod.ts
 * on Deno; the tests of Deno's own start-up (start.sh, deno task) are then left out.
 */
const RECORDER: string[] = await recorderCommand();

/** Starts `mod.ts` with `args` (and `--no-auth` unless `auth`), waits until it prints its URL. */
async function startRecorder(
  args: string[],
  env: Record<string, string> = {},
  { auth = false } = {},
) {
  const child = await startRecorderProcess([...(auth ? [] : ["--no-auth"]), ...args], {
    // A config directory of its own: the generated password and saved settings go there.
    env: { XDG_CONFIG_HOME: await Deno.makeTempDir(), ...env },
  });
  return {
    url: child.url,
    get log() {
      return child.log;
    },
    status: async () => await (await fetch(`${child.url}/api/status`)).json(),
    /** SIGTERM, then the exit code. */
    stop: (): Promise<number> => child.stop(),
    /** A power cut: SIGKILL to the recorder and every process under it, all at once. */
    async powerCut(): Promise<void> {
      const tree = [...descendants(child.pid), child.pid];
      for (const pid of tree) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
      await child.kill("SIGKILL");
      await waitFor("the whole tree to be gone", () => tree.every((pid) => !isAlive(pid)));
    },
  };
}

/** Every process below `pid`, from /proc (children run in their own process groups). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(parent, [...children.get(parent) ?? [], Number(entry.name)]);
    } catch {
      // Exited meanwhile.
    }
  }
  const below = (of: number): number[] =>
    (children.get(of) ?? []).flatMap((child) => [child, ...below(child)]);
  return below(pid);
}

function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat); // a zombie is dead, only not yet reaped
  } catch {
    return false;
  }
}

/** Runs mod.ts to completion (for flag errors and --help). */
async function runToExit(args: string[]) {
  const output = await new Deno.Command(RECORDER[0], {
    args: [...RECORDER.slice(1), ...args],
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

async function clipsIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) if (entry.isFile) names.push(entry.name);
  return names.sort();
}

Deno.test("videorecorder --help prints usage and exits 0", async () => {
  const { code, stdout } = await runToExit(["--help"]);
  assert.equal(code, 0);
  assert.match(stdout, /Usage: videorecorder/);
  assert.match(stdout, /--output/);
});

Deno.test("videorecorder exits 2 naming the flag for bad input", async () => {
  const file = await Deno.makeTempFile();
  const cases: [string[], RegExp][] = [
    [["--fps", "0"], /--fps/],
    [["--width", "abc"], /--width.*"abc"/],
    [["--bogus"], /Unknown flag: --bogus/],
    [["--source", "nope"], /--source/],
    [["--output", join(file, "sub")], /--output.*cannot write/],
    [["--source", "command"], /--command/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await runToExit(args);
    assert.equal(code, 2, `${args.join(" ")} exits 2`);
    assert.match(stderr, message, `${args.join(" ")} says ${message}`);
  }
  await Deno.remove(file);
});

Deno.test("videorecorder records, serves live view, and finalizes the last clip on SIGTERM", async () => {
  const output = await Deno.makeTempDir({ prefix: "mod_test_" });
  const recorder = await startRecorder(recorderFlags(output, { segment: 2 }));
  assert.match(recorder.log, /Camera: test pattern 320x240@15/);
  await waitFor("a closed clip", async () => (await recorder.status()).recorder.segments >= 1);

  const snapshot = await fetch(`${recorder.url}/snapshot.jpg`);
  assert.equal(snapshot.status, 200);
  const jpeg = new Uint8Array(await snapshot.arrayBuffer());
  assert.deepEqual([jpeg[0], jpeg[1]], [0xff, 0xd8]);
  const stream = await fetch(`${recorder.url}/stream.mjpg`);
  const reader = stream.body!.getReader();
  assert.ok((await reader.read()).value);
  await reader.cancel();

  const status = await recorder.status();
  assert.equal(status.camera.state, "running");
  assert.ok(status.camera.fps > 0);
  assert.equal(status.recorder.recording, true);
  assert.ok(status.recorder.current.file.endsWith(".recording.mkv"));

  assert.equal(await recorder.stop(), 0);
  assert.match(recorder.log, /SIGTERM: closing the current clip/);
  const names = await clipsIn(output);
  assert.ok(names.length >= 2);
  for (const name of names) {
    assert.ok(parseClipName(name) && !parseClipName(name)!.recording, `${name} is closed`);
    const probe = await probeClip(join(output, name));
    assert.ok(probe.frames > 0 && probe.duration > 0, `${name} plays`);
  }
  await Deno.remove(output, { recursive: true });
});

Deno.test("videorecorder --source command records what the command prints", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mod_test_" });
  const clip = join(dir, "clip.mjpeg");
  await lavfi("testsrc=size=320x240:rate=30", [
    "-frames:v",
    "90",
    "-c:v",
    "mjpeg",
    "-f",
    "mjpeg",
    clip,
  ]);
  const output = join(dir, "out");
  // Exactly the form the issue gives (how the recorder is benchmarked from outside).
  const recorder = await startRecorder([
    "--source",
    "command",
    "--command",
    `ffmpeg -i ${clip} -c copy -f mjpeg -`,
    "--output",
    output,
  ]);
  await waitFor("all 90 frames", async () => (await recorder.status()).recorder.frames >= 90);
  const status = await recorder.status();
  assert.equal(status.camera.source, "command");
  assert.equal(status.camera.garbage_bytes, 0);
  assert.equal(await recorder.stop(), 0);
  const probes = await Promise.all((await clipsIn(output)).map((n) => probeClip(join(output, n))));
  const frames = probes.reduce((n, p) => n + p.frames, 0);
  // The command ends after 90 frames; the camera restarts it after 1 s, so there may be more.
  assert.ok(frames >= 90 && frames % 90 === 0, `${frames} frames recorded`);
  await Deno.remove(dir, { recursive: true });
});

async function snapshotSize(url: string, dir: string): Promise<string> {
  const snapshot = await fetch(`${url}/snapshot.jpg`);
  assert.equal(snapshot.status, 200);
  const file = join(dir, "snapshot.jpg");
  await Deno.writeFile(file, new Uint8Array(await snapshot.arrayBuffer()));
  const size = new TextDecoder().decode(
    await run([
      "ffprobe",
      "-v",
      "error",
      "-show_entries",
      "stream=width,height",
      "-of",
      "csv=p=0",
      file,
    ]),
  );
  await Deno.remove(file);
  return size.trim();
}

Deno.test("videorecorder records H.264 from the Pi camera and previews it on demand", async () => {
  const output = await Deno.makeTempDir({ prefix: "mod_test_" });
  const recorder = await startRecorder(
    ["--width", "1280", "--height", "720", "--fps", "15", "--segment", "2", "--output", output],
    { PATH: `${FAKE_BIN}:${Deno.env.get("PATH")}` },
  );
  assert.match(recorder.log, /Camera: rpicam \(rpicam-vid, H\.264\)/);
  await waitFor("a closed clip", async () => (await recorder.status()).recorder.segments >= 1);
  const status = await recorder.status();
  assert.equal(status.camera.codec, "h264");
  assert.equal(status.camera.keyframe_interval, 15, "--intra defaults to one second");
  assert.deepEqual([status.camera.h264.width, status.camera.h264.height], [1280, 720]);
  assert.equal(status.preview.state, "idle", "no decoding while nobody watches");
  assert.equal(await snapshotSize(recorder.url, output), "640,360");
  assert.equal(await recorder.stop(), 0);
  const names = await clipsIn(output);
  assert.ok(names.length >= 2 && names.every((n) => n.endsWith(".mp4")), `${names}`);
  for (const name of names) assert.ok((await probeClip(join(output, name))).frames > 0);
  await Deno.remove(output, { recursive: true });
});

Deno.test("videorecorder records MJPEG from the Pi camera with --codec mjpeg", async () => {
  const output = await Deno.makeTempDir({ prefix: "mod_test_" });
  const recorder = await startRecorder(
    [
      "--codec",
      "mjpeg",
      "--width",
      "640",
      "--height",
      "360",
      "--fps",
      "10",
      "--output",
      output,
      "--no-record",
    ],
    { PATH: `${FAKE_BIN}:${Deno.env.get("PATH")}` },
  );
  assert.match(recorder.log, /Camera: rpicam \(rpicam-vid, MJPEG\)/);
  await waitFor("frames", async () => (await recorder.status()).camera.frames >= 5);
  assert.equal(await snapshotSize(recorder.url, output), "640,360");
  const status = await recorder.status();
  assert.equal(status.recorder.recording, false, "--no-record");
  assert.equal(status.preview, null, "MJPEG frames are served as they are");
  assert.equal(await recorder.stop(), 0);
  await Deno.remove(output, { recursive: true });
});

Deno.test("videorecorder generates a password on first start and requires it", async () => {
  const home = await Deno.makeTempDir({ prefix: "mod_test_home_" });
  const output = join(home, "clips");
  const args = ["--source", "test", "--width", "160", "--height", "120", "--output", output];
  const env = { HOME: home, XDG_CONFIG_HOME: "" };
  const first = await startRecorder(args, env, { auth: true });
  const password = /with password (\S+) \(generated now/.exec(first.log)?.[1];
  assert.ok(password, `password printed: ${first.log}`);
  const file = join(home, ".config", "videorecorder", "password");
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  assert.equal((await fetch(`${first.url}/api/status`)).status, 401);
  const authorized = await fetch(`${first.url}/api/status`, {
    headers: { authorization: `Basic ${btoa(`admin:${password}`)}` },
  });
  assert.equal(authorized.status, 200);
  await authorized.body?.cancel();
  assert.equal(await first.stop(), 0);

  const second = await startRecorder(args, env, { auth: true });
  assert.doesNotMatch(second.log, /generated now/, "printed only once");
  assert.match(second.log, /Log in as "admin" with the configured password/);
  assert.equal(await second.stop(), 0);
  await Deno.remove(home, { recursive: true });
});

Deno.test("videorecorder loses at most about a second to a power cut, and lists the clip after", async () => {
  const output = await Deno.makeTempDir({ prefix: "mod_test_power_" });
  const args = [
    "--source",
    "test",
    "--width",
    "320",
    "--height",
    "240",
    "--fps",
    "15",
    "--segment",
    "3",
    "--output",
    output,
  ];
  const first = await startRecorder(args);
  await waitFor("a closed clip", async () => (await first.status()).recorder.segments >= 1);
  // Cut the power at some moment inside the next clip.
  await new Promise((resolve) => setTimeout(resolve, 500 + Math.random() * 2_000));
  const { current } = (await first.status()).recorder;
  const cutAt = Date.now();
  await first.powerCut();

  const left = await clipsIn(output);
  const open = left.find((name) => parseClipName(name)?.recording);
  assert.ok(open, `the interrupted clip is on disk: ${left}`);
  assert.equal(parseClipName(open)!.seq, current.seq);
  for (const name of left) {
    const probe = await probeClip(join(output, name));
    assert.ok(probe.frames > 0, `${name} plays after the power cut`);
  }
  // Its footage reaches to within about a second of the cut (a cluster is flushed each second).
  const interrupted = await probeClip(join(output, open));
  const expected = (cutAt - current.start) / 1000;
  assert.ok(
    interrupted.frames / 15 >= expected - 1.5,
    `${interrupted.frames / 15} s of ${expected}`,
  );

  const second = await startRecorder([...args, "--no-record"]);
  // Repaired in the background: listed as closed once its remux is done.
  const repaired = await waitFor("the repaired clip in the list", async () => {
    const response = await fetch(`${second.url}/api/clips`);
    const { clips } = await response.json() as {
      clips: { seq: number; recording: boolean; duration: number }[];
    };
    return clips.find((clip) => clip.seq === current.seq && !clip.recording);
  });
  assert.ok(repaired && !repaired.recording, "listed as a closed clip");
  assert.ok(repaired.duration > 0, "its duration is known again");
  assert.equal(await second.stop(), 0);
  for (const name of await clipsIn(output)) {
    assert.ok(!parseClipName(name)!.recording);
    assert.ok((await probeClip(join(output, name))).frames > 0, `${name} plays`);
  }
  await Deno.remove(output, { recursive: true });
});

/**
 * Runs `argv` (the README's start command, or the start task) as a terminal's foreground job,
 * in a process group of its own, presses Ctrl-C (SIGINT to the whole group) once it records,
 * and checks that the current clip was closed.
 */
async function ctrlCClosesTheClip(argv: string[]): Promise<void> {
  const output = await Deno.makeTempDir({ prefix: "mod_test_ctrl_c_" });
  const child = new Deno.Command(argv[0], {
    args: [
      ...argv.slice(1),
      "--source",
      "test",
      "--width",
      "160",
      "--height",
      "120",
      "--fps",
      "10",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--no-auth",
      "--output",
      output,
    ],
    cwd: new URL("..", import.meta.url).pathname,
    env: { NO_COLOR: "1", XDG_CONFIG_HOME: await Deno.makeTempDir() },
    stdout: "null",
    stderr: "piped",
    detached: true,
  }).spawn();
  let log = "";
  const reading = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) log += text;
  })();
  try {
    await waitFor("a clip being written", async () => {
      return (await clipsIn(output)).some((name) => parseClipName(name)?.recording);
    }, 30_000);
    // Settled: serving and recording, as a user would be when they press Ctrl-C.
    await waitFor("the page's URL", () => /Open http/.test(log));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    Deno.kill(-child.pid, "SIGINT");
    const { code } = await child.status;
    await reading;
    assert.equal(code, 0, log);
    assert.match(log, /SIGINT: closing the current clip/);
    assert.match(log, /Saved \d{6}_\d{8}-\d{6}[+-]\d{4}\.mkv/, log);
    const names = await clipsIn(output);
    assert.ok(names.length >= 1 && names.every((n) => !parseClipName(n)!.recording), `${names}`);
  } finally {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
    await Deno.remove(output, { recursive: true });
  }
}

Deno.test({
  name: "start.sh closes the current clip on Ctrl-C (SIGINT to its whole process group)",
  ignore: ON_NODE,
}, async () => {
  await ctrlCClosesTheClip(["bash", new URL("../scripts/start.sh", import.meta.url).pathname]);
});

Deno.test({
  name: "deno task start closes the current clip on Ctrl-C, which reaches it twice",
  ignore: ON_NODE,
}, async () => {
  await ctrlCClosesTheClip([Deno.execPath(), "task", "start"]);
});

Deno.test("start.sh runs the recorder with the start task's flags", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const script = await Deno.readTextFile(new URL("../scripts/start.sh", import.meta.url));
  assert.ok(script.includes(`exec ${config.tasks.start.command} "$@"`), "same command line");
});

Deno.test({ name: "videorecorder loads no test-only npm package", ignore: ON_NODE }, async () => {
  // A Deno cache holding hono alone: with --cached-only, anything else the app (or a lock
  // file) pulled in would fail to load instead of being downloaded.
  const { npmCache } = JSON.parse(
    new TextDecoder().decode(await run([Deno.execPath(), "info", "--json"])),
  );
  const denoDir = await Deno.makeTempDir({ prefix: "mod_test_deno_dir_" });
  const registry = join(denoDir, "npm", "registry.npmjs.org");
  await Deno.mkdir(registry, { recursive: true });
  await run(["cp", "-r", join(npmCache, "registry.npmjs.org", "hono"), registry]);
  try {
    for (
      const args of [["run", "--cached-only", "-A", MOD, "--help"], ["task", "start", "--help"]]
    ) {
      const output = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: new URL("..", import.meta.url).pathname,
        env: { NO_COLOR: "1", DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, `deno ${args.join(" ")}: ${stderr}`);
      assert.doesNotMatch(stderr, /Download/, `deno ${args.join(" ")} downloads nothing`);
      assert.match(new TextDecoder().decode(output.stdout), /Usage: videorecorder/);
    }
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
});

Deno.test("videorecorder keeps the --command's secrets out of /api/status", async () => {
  const output = await Deno.makeTempDir({ prefix: "mod_test_secret_" });
  // As an RTSP camera's command would: the password in the URL, echoed on stderr.
  const command = "echo 'Opening rtsp://admin:hunter2@cam/1' >&2; " +
    "ffmpeg -v error -re -f lavfi -i testsrc=size=160x120:rate=10 -c:v mjpeg -f mjpeg - " +
    "# rtsp://admin:hunter2@cam/1?password=hunter2";
  const recorder = await startRecorder(["--command", command, "--output", output, "--no-record"]);
  try {
    await waitFor("frames", async () => (await recorder.status()).camera.frames >= 3);
    const status = await recorder.status();
    assert.ok(!JSON.stringify(status).includes("hunter2"), JSON.stringify(status.camera));
    assert.match(
      status.camera.description,
      /^command: echo 'Opening rtsp:\/\/admin:\*\*\*@cam\/1'/,
    );
    assert.ok(status.camera.stderr.includes("Opening rtsp://admin:***@cam/1"));
  } finally {
    assert.equal(await recorder.stop(), 0);
    await Deno.remove(output, { recursive: true });
  }
});
