import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Config,
  ConfigError,
  DEFAULTS,
  EDITABLE_SETTINGS,
  HELP,
  loadConfig,
  parseCommandLine,
  validateSettings,
} from "../src/config/mod.ts";

/** Runs `fn` in a fresh temp dir that is removed afterwards. */
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "config_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function assertParseError(args: string[], pattern: RegExp): void {
  assert.throws(
    () => parseCommandLine(args),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

async function assertLoadError(
  promise: Promise<Config>,
  pattern: RegExp,
): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    assert.match(error.message, pattern);
    return error;
  }
  assert.fail("expected loadConfig() to reject");
}

async function writeJson(path: string, value: unknown): Promise<string> {
  await Deno.writeTextFile(path, JSON.stringify(value));
  return path;
}

Deno.test("DEFAULTS is frozen and matches the documented values", () => {
  assert.ok(Object.isFrozen(DEFAULTS));
  assert.deepEqual({ ...DEFAULTS }, {
    source: "auto",
    device: "/dev/video0",
    width: 1280,
    height: 720,
    fps: 30,
    quality: 80,
    segment: 60,
    timezone: "",
    output: "recordings",
    overlay: "%Y-%m-%d %H:%M:%S",
    host: "0.0.0.0",
    port: 8080,
    record: true,
    codec: "auto",
    bitrate: 0,
    intra: 0,
    profile: "high",
    level: "4.2",
    previewWidth: 640,
    previewHeight: 360,
    previewFps: 5,
    maxStorage: "",
    minFree: "5%",
    auth: true,
    user: "admin",
    lockButton: "",
    lockButtonActive: "low",
    ignition: "",
    ignitionActive: "high",
    ignitionPoweroff: false,
    ignitionPoweroffDelay: 60,
    gps: "auto",
    audio: "off",
    audioDevice: "default",
    audioBitrate: 64000,
    archive: "",
    archiveFolder: "",
    archiveClips: "locked",
    archiveBwlimit: "",
    archiveAfter: "keep",
  });
});

Deno.test("HELP starts every option's description in the same column, within 80 columns", () => {
  const options = HELP.slice(HELP.indexOf("Options:\n") + "Options:\n".length).trimEnd()
    .split("\n");
  assert.ok(options.length > 30, `${options.length} option lines`);
  const columns = new Set<number>();
  for (const line of options) {
    // "  --flag VALUE   description" or a continuation "             description".
    const match = /^ {2}(?:(-\S.*?\S) {2,}| +)(\S.*)$/.exec(line);
    assert.ok(match, `"${line}" is a flag with its description, or a continuation`);
    if (match[1] !== undefined) {
      assert.ok(!/ {2}/.test(match[1]), `"${match[1]}" is one flag, not a flag and its text`);
    }
    columns.add(line.length - match[2].length);
    assert.ok(line.length <= 80, `"${line}" fits 80 columns`);
  }
  assert.equal(columns.size, 1, `descriptions start at columns ${[...columns]}`);
  assert.ok(!/--max-storage SIZE cap/.test(HELP), "a flag never runs into its description");
});

Deno.test("HELP lists every flag with its default", () => {
  assert.match(HELP, /^Usage: videorecorder \[options\]/);
  for (
    const flag of [
      "--source",
      "--command",
      "--device",
      "--width",
      "--height",
      "--fps",
      "--quality",
      "--segment",
      "--timezone",
      "-f, --output",
      "--host",
      "--port",
      "--no-record",
      "--codec",
      "--bitrate",
      "--intra",
      "--profile",
      "--level",
      "--preview-width",
      "--preview-height",
      "--preview-fps",
      "--max-storage",
      "--min-free",
      "--user",
      "--password",
      "--no-auth",
      "-c, --config",
      "-h, --help",
    ]
  ) {
    assert.ok(HELP.includes(flag), `HELP lacks ${flag}`);
  }
  for (const value of Object.values(DEFAULTS)) {
    const shown = value === "" ? "none" : value;
    if (typeof value !== "boolean") assert.ok(HELP.includes(`(default: ${shown})`), `${value}`);
  }
});

Deno.test("parseCommandLine returns no flags for no arguments", () => {
  assert.deepEqual(parseCommandLine([]), { help: false, flags: {} });
});

Deno.test("parseCommandLine parses every flag", () => {
  const commandLine = parseCommandLine([
    "--source",
    "v4l2",
    "--command",
    "cat clip.mjpeg",
    "--device",
    "/dev/video2",
    "--width",
    "640",
    "--height=480",
    "--fps",
    "12.5",
    "--quality",
    "95",
    "--segment",
    "0.5e1",
    "--output",
    "clips",
    "--host",
    "0.0.0.0",
    "--port",
    "0",
    "--record",
    "--config",
    "settings.json",
  ]);
  assert.deepEqual(commandLine, {
    help: false,
    configFile: "settings.json",
    flags: {
      source: "v4l2",
      command: "cat clip.mjpeg",
      device: "/dev/video2",
      width: 640,
      height: 480,
      fps: 12.5,
      quality: 95,
      segment: 5,
      output: "clips",
      host: "0.0.0.0",
      port: 0,
      record: true,
    },
  });
});

Deno.test("parseCommandLine accepts the short flags -f, -c and -h", () => {
  assert.deepEqual(parseCommandLine(["-f", "/media/pi/REMOVABLE/output", "-c", "a.json", "-h"]), {
    help: true,
    configFile: "a.json",
    flags: { output: "/media/pi/REMOVABLE/output" },
  });
  assert.equal(parseCommandLine(["--help"]).help, true);
});

Deno.test("parseCommandLine turns recording off with --no-record", () => {
  assert.deepEqual(parseCommandLine(["--no-record"]).flags, { record: false });
  // The last of --record / --no-record wins.
  assert.deepEqual(parseCommandLine(["--no-record", "--record"]).flags, { record: true });
});

Deno.test("parseCommandLine rejects an unknown flag by name", () => {
  assertParseError(["--foo"], /^Unknown flag: --foo$/);
  assertParseError(["-z"], /^Unknown flag: -z$/);
  assertParseError(["--no-fps"], /^Unknown flag: --no-fps$/);
});

Deno.test("parseCommandLine rejects a flag with a missing value", () => {
  assertParseError(["--fps"], /^Missing value for --fps: expected a number greater than 0/);
  assertParseError(["-f"], /^Missing value for --output: expected a non-empty directory path/);
  assertParseError(["--width", "--no-record"], /^Missing value for --width: .*--width=VALUE/);
});

Deno.test("parseCommandLine rejects a value on a boolean flag", () => {
  assertParseError(["--record=yes"], /^Invalid --record: takes no value$/);
});

Deno.test("parseCommandLine rejects positional arguments", () => {
  assertParseError(["recordings"], /^Unexpected argument "recordings": /);
});

Deno.test("parseCommandLine rejects bad numbers naming the flag, value and range", () => {
  const cases: [string, string, string][] = [
    ["width", "a whole number from 16 to 7680", "7681"],
    ["height", "a whole number from 16 to 4320", "4321"],
    ["fps", "a number greater than 0 and at most 120", "120.5"],
    ["quality", "a whole number from 1 to 100", "101"],
    ["segment", "a number from 1 to 3600", "3601"],
    ["port", "a whole number from 0 to 65535", "65536"],
  ];
  for (const [flag, expected, tooBig] of cases) {
    const bad = ["abc", "", "12abc", "1e3x", "NaN", "Infinity", "0x10", " 30", "-1", tooBig];
    if (flag !== "port") bad.push("0");
    for (const value of bad) {
      assert.throws(
        () => parseCommandLine([`--${flag}=${value}`]),
        new ConfigError(`Invalid --${flag}: expected ${expected}, got ${JSON.stringify(value)}`),
        `--${flag}=${value}`,
      );
    }
  }
  assertParseError(["--width", "640.5"], /^Invalid --width: expected a whole number/);
  assertParseError(["--port", "80.5"], /^Invalid --port: expected a whole number/);
});

Deno.test("parseCommandLine accepts numbers at the edges of their ranges", () => {
  const { flags } = parseCommandLine([
    "--width=16",
    "--height=4320",
    "--fps=0.1",
    "--quality=1",
    "--segment=3600",
    "--port=65535",
  ]);
  assert.deepEqual(flags, {
    width: 16,
    height: 4320,
    fps: 0.1,
    quality: 1,
    segment: 3600,
    port: 65535,
  });
});

Deno.test("parseCommandLine accepts only the known sources", () => {
  for (const source of ["auto", "rpicam", "v4l2", "test"]) {
    assert.equal(parseCommandLine(["--source", source]).flags.source, source);
  }
  assert.throws(
    () => parseCommandLine(["--source", "foo"]),
    new ConfigError(
      'Invalid --source: expected one of auto, rpicam, v4l2, test, command, got "foo"',
    ),
  );
  assertParseError(["--source", "RPICAM"], /^Invalid --source: /);
});

Deno.test("parseCommandLine rejects empty strings", () => {
  for (const flag of ["command", "device", "output", "host"]) {
    assertParseError(
      [`--${flag}=`],
      new RegExp(`^Invalid --${flag}: expected a non-empty .*, got ""$`),
    );
  }
  assertParseError(["--config="], /^Invalid --config: expected a non-empty file path, got ""$/);
});

Deno.test("parseCommandLine sets source command when --command comes without --source", () => {
  assert.deepEqual(parseCommandLine(["--command", "cat a.mjpeg"]).flags, {
    source: "command",
    command: "cat a.mjpeg",
  });
  assert.equal(parseCommandLine(["--command", "x", "--source", "test"]).flags.source, "test");
});

Deno.test("loadConfig returns frozen defaults with an absolute output it created", async () => {
  await withTempDir(async (dir) => {
    const config = await loadConfig(parseCommandLine([]), { cwd: dir });
    assert.ok(Object.isFrozen(config));
    assert.deepEqual(config, { ...DEFAULTS, output: join(dir, "recordings") });
    assert.ok((await Deno.stat(config.output)).isDirectory);
    assert.throws(() => {
      (config as { fps: number }).fps = 1;
    }, TypeError);
    // The write probe is cleaned up.
    assert.deepEqual(await Array.fromAsync(Deno.readDir(config.output)), []);
  });
});

Deno.test("loadConfig resolves a relative --output against cwd and creates it recursively", async () => {
  await withTempDir(async (dir) => {
    const config = await loadConfig(parseCommandLine(["-f", "a/b/c", "--no-record"]), {
      cwd: dir,
    });
    assert.equal(config.output, join(dir, "a", "b", "c"));
    assert.equal(config.record, false);
    assert.ok((await Deno.stat(config.output)).isDirectory);
  });
});

Deno.test("loadConfig rejects source command without --command", async () => {
  await withTempDir(async (dir) => {
    await assertLoadError(
      loadConfig(parseCommandLine(["--source", "command"]), { cwd: dir }),
      /^Missing --command: /,
    );
  });
});

Deno.test("loadConfig reads the config file and lets flags override it", async () => {
  await withTempDir(async (dir) => {
    const file = await writeJson(join(dir, "config.json"), {
      source: "test",
      fps: 10,
      width: 640,
      height: 480,
      record: false,
      output: join(dir, "from-file"),
      host: "0.0.0.0",
    });
    const config = await loadConfig(
      parseCommandLine(["-c", "config.json", "--fps", "25", "--record", "--port", "0"]),
      { cwd: dir },
    );
    assert.deepEqual(config, {
      ...DEFAULTS,
      source: "test",
      fps: 25,
      width: 640,
      height: 480,
      record: true,
      port: 0,
      output: join(dir, "from-file"),
      host: "0.0.0.0",
      configFile: file,
    });
    assert.ok(Object.isFrozen(config));
  });
});

Deno.test("loadConfig implies source command from a file that gives only a command", async () => {
  await withTempDir(async (dir) => {
    await writeJson(join(dir, "config.json"), { command: "cat a.mjpeg" });
    const fromFile = await loadConfig(parseCommandLine(["-c", "config.json"]), { cwd: dir });
    assert.equal(fromFile.source, "command");
    assert.equal(fromFile.command, "cat a.mjpeg");
    const overridden = await loadConfig(
      parseCommandLine(["-c", "config.json", "--source", "test"]),
      { cwd: dir },
    );
    assert.equal(overridden.source, "test");
  });
});

Deno.test("loadConfig resolves a relative output in the file against the file's directory", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "etc"));
    await Deno.mkdir(join(dir, "work"));
    await writeJson(join(dir, "etc", "config.json"), { output: "clips" });
    const config = await loadConfig(parseCommandLine(["--config", "../etc/config.json"]), {
      cwd: join(dir, "work"),
    });
    assert.equal(config.output, join(dir, "etc", "clips"));
    assert.equal(config.configFile, join(dir, "etc", "config.json"));
    assert.ok((await Deno.stat(config.output)).isDirectory);

    // A relative --output still resolves against cwd.
    const flagged = await loadConfig(
      parseCommandLine(["--config", "../etc/config.json", "-f", "mine"]),
      { cwd: join(dir, "work") },
    );
    assert.equal(flagged.output, join(dir, "work", "mine"));
  });
});

Deno.test("loadConfig rejects an unknown key in the file naming key and file", async () => {
  await withTempDir(async (dir) => {
    const file = await writeJson(join(dir, "config.json"), { fps: 10, fsp: 10 });
    await assertLoadError(
      loadConfig(parseCommandLine(["-c", file]), { cwd: dir }),
      new RegExp(`^Unknown key "fsp" in ${RegExp.escape(file)}: expected one of source, `),
    );
    await writeJson(file, { configFile: "other.json" });
    await assertLoadError(
      loadConfig(parseCommandLine(["-c", file]), { cwd: dir }),
      /^Unknown key "configFile" in /,
    );
  });
});

Deno.test("loadConfig rejects a wrong JSON type in the file naming key and file", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config.json");
    const cases: [Record<string, unknown>, string][] = [
      [
        { fps: "30" },
        `Invalid "fps" in ${file}: expected a number greater than 0 and at most 120, got "30" (a string, not a JSON number)`,
      ],
      [
        { fps: 0 },
        `Invalid "fps" in ${file}: expected a number greater than 0 and at most 120, got 0`,
      ],
      [
        { width: 640.5 },
        `Invalid "width" in ${file}: expected a whole number from 16 to 7680, got 640.5`,
      ],
      [
        { record: "no" },
        `Invalid "record" in ${file}: expected true or false, got "no" (a string, not a JSON boolean)`,
      ],
      [
        { port: null },
        `Invalid "port" in ${file}: expected a whole number from 0 to 65535, got null`,
      ],
      [
        { source: "foo" },
        `Invalid "source" in ${file}: expected one of auto, rpicam, v4l2, test, command, got "foo"`,
      ],
      [{ output: 5 }, `Invalid "output" in ${file}: expected a non-empty directory path, got 5`],
    ];
    for (const [settings, message] of cases) {
      await writeJson(file, settings);
      const error = await assertLoadError(
        loadConfig(parseCommandLine(["-c", file]), { cwd: dir }),
        /^Invalid "/,
      );
      assert.equal(error.message, message);
    }
  });
});

Deno.test("loadConfig rejects a missing config file naming it", async () => {
  await withTempDir(async (dir) => {
    await assertLoadError(
      loadConfig(parseCommandLine(["-c", "missing.json"]), { cwd: dir }),
      new RegExp(
        `^Invalid --config: cannot read ${
          RegExp.escape(join(dir, "missing.json"))
        }: file not found$`,
      ),
    );
    await assertLoadError(
      loadConfig(parseCommandLine(["-c", "."]), { cwd: dir }),
      new RegExp(`^Invalid --config: cannot read ${RegExp.escape(dir)}: `),
    );
  });
});

Deno.test("loadConfig rejects invalid JSON and a non-object naming the file", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config.json");
    await Deno.writeTextFile(file, "{ fps: 10 }");
    await assertLoadError(
      loadConfig(parseCommandLine(["-c", file]), { cwd: dir }),
      new RegExp(`^Invalid --config: ${RegExp.escape(file)} is not valid JSON: .+`),
    );
    await writeJson(file, [{ fps: 10 }]);
    await assertLoadError(
      loadConfig(parseCommandLine(["-c", file]), { cwd: dir }),
      new RegExp(
        `^Invalid --config: ${RegExp.escape(file)} must hold a JSON object, got an array$`,
      ),
    );
  });
});

Deno.test("loadConfig rejects an output directory it cannot write", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "file.txt"), "not a directory");
    const output = join(dir, "file.txt", "sub");
    const error = await assertLoadError(
      loadConfig(parseCommandLine(["--output", output]), { cwd: dir }),
      new RegExp(`^Invalid --output: cannot write to ${RegExp.escape(output)}: .+`),
    );
    assert.equal((error.cause as { code?: string }).code, "ENOTDIR");

    // Coming from the file, the message points at the file instead.
    const file = await writeJson(join(dir, "config.json"), { output: "file.txt/sub" });
    await assertLoadError(
      loadConfig(parseCommandLine(["-c", file]), { cwd: dir }),
      new RegExp(
        `^Invalid "output" in ${RegExp.escape(file)}: cannot write to ${RegExp.escape(output)}: `,
      ),
    );
  });
});

Deno.test("parseCommandLine parses the H.264 and preview flags", () => {
  const { flags } = parseCommandLine([
    "--codec",
    "h264",
    "--bitrate",
    "6M",
    "--intra",
    "15",
    "--profile",
    "main",
    "--level",
    "4.1",
    "--preview-width",
    "480",
    "--preview-height",
    "270",
    "--preview-fps",
    "2.5",
  ]);
  assert.deepEqual(flags, {
    codec: "h264",
    bitrate: 6_000_000,
    intra: 15,
    profile: "main",
    level: "4.1",
    previewWidth: 480,
    previewHeight: 270,
    previewFps: 2.5,
  });
  assert.equal(parseCommandLine(["--bitrate", "2500k"]).flags.bitrate, 2_500_000);
  assert.equal(parseCommandLine(["--bitrate", "4000000"]).flags.bitrate, 4_000_000);
});

Deno.test("parseCommandLine names multi-word flags in errors", () => {
  assert.throws(() => parseCommandLine(["--preview-fps", "0"]), {
    name: "ConfigError",
    message: /^Invalid --preview-fps: expected a number greater than 0 and at most 30, got "0"$/,
  });
  assert.throws(() => parseCommandLine(["--codec", "h265"]), {
    message: /^Invalid --codec: expected one of auto, mjpeg, h264, got "h265"$/,
  });
  assert.throws(() => parseCommandLine(["--bitrate", "6G"]), { message: /^Invalid --bitrate/ });
  assert.throws(() => parseCommandLine(["--preview-width"]), {
    message: /^Missing value for --preview-width: expected a whole number from 16 to 1920$/,
  });
});

Deno.test("loadConfig reads camelCase keys for multi-word settings from the file", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "config.json");
  await Deno.writeTextFile(file, JSON.stringify({ previewWidth: 320, codec: "h264" }));
  const config = await loadConfig(parseCommandLine(["--config", file]), { cwd: dir });
  assert.equal(config.previewWidth, 320);
  assert.equal(config.codec, "h264");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadConfig takes the password from flag, environment or file, in that order", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "config.json");
  await Deno.writeTextFile(file, JSON.stringify({ password: "from-file", user: "pi" }));
  const env = { VIDEORECORDER_PASSWORD: "from-env" };
  const fromFile = await loadConfig(parseCommandLine(["-c", file]), { cwd: dir, env: {} });
  assert.deepEqual([fromFile.user, fromFile.password], ["pi", "from-file"]);
  const fromEnv = await loadConfig(parseCommandLine(["-c", file]), { cwd: dir, env });
  assert.equal(fromEnv.password, "from-env");
  const fromFlag = await loadConfig(parseCommandLine(["-c", file, "--password", "x"]), {
    cwd: dir,
    env,
  });
  assert.equal(fromFlag.password, "x");
  const none = await loadConfig(parseCommandLine(["--no-auth"]), { cwd: dir, env: {} });
  assert.deepEqual([none.auth, none.password], [false, undefined]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseCommandLine checks storage limits", () => {
  const { flags } = parseCommandLine(["--max-storage", "20G", "--min-free", "10%"]);
  assert.deepEqual(flags, { maxStorage: "20G", minFree: "10%" });
  assert.throws(() => parseCommandLine(["--max-storage", "lots"]), {
    message: /^Invalid --max-storage: expected a size like 20G, or empty for no cap, got "lots"$/,
  });
  assert.throws(() => parseCommandLine(["--min-free", "150%"]), { message: /^Invalid --min-free/ });
});

/** The ConfigError `fn` throws. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error;
  }
  throw new assert.AssertionError({ message: "expected a ConfigError" });
}

Deno.test("validateSettings reports every invalid setting, each in its page label's words", () => {
  const error = configError(() =>
    validateSettings({
      fps: 0,
      width: 640,
      segment: 99999,
      maxStorage: "lots",
      codec: "vp9",
      minFree: "",
      bitrate: "fast",
    })
  );
  assert.deepEqual(error.errors, [
    {
      field: "fps",
      error: "Frame rate must be more than 0 and at most 120 frames per second, got 0",
    },
    { field: "segment", error: "Clip length must be from 1 to 3600 seconds, got 99999" },
    {
      field: "maxStorage",
      error: 'Space for clips must be a size like 20G, or empty for no cap, got "lots"',
    },
    { field: "codec", error: 'Codec must be auto, mjpeg or h264, got "vp9"' },
    {
      field: "minFree",
      error: "Free space to keep must be a size like 1G or a percentage like 10%, got nothing",
    },
    {
      field: "bitrate",
      error: 'Bitrate must be from 0 to 100M bits per second, e.g. 6M (0 picks one), got "fast"',
    },
  ]);
  assert.equal(error.message, error.errors[0].error, "the first is the message");
  assert.equal(error.key, "fps");
});

Deno.test("validateSettings words an error for every editable setting without config keys", () => {
  for (const key of EDITABLE_SETTINGS) {
    const [{ field, error }] = configError(() => validateSettings({ [key]: { bad: 1 } })).errors;
    assert.equal(field, key);
    // The page's label: words, and a parenthesis such as "GPS (gpsd)".
    assert.match(error, /^[A-Z][\w ]+(?: \([\w ]+\))? must be .+, got \{"bad":1\}$/, error);
    assert.ok(!error.includes(key) || !/[A-Z]/.test(key), `${error} does not say ${key}`);
    assert.ok(!/undefined|expected/.test(error), error);
  }
  assert.equal(
    configError(() => validateSettings({ width: 10.5 })).message,
    "Width must be a whole number of pixels from 16 to 7680, got 10.5",
  );
  assert.equal(
    configError(() => validateSettings({ quality: "80" })).message,
    'JPEG quality must be a whole number from 1 to 100, got "80"',
  );
});

Deno.test("validateSettings refuses settings the page cannot change, and accepts good ones", () => {
  assert.deepEqual(configError(() => validateSettings({ host: "0.0.0.0", foo: 1 })).errors, [
    {
      field: "host",
      error: 'Cannot change "host" from the page: set it in the config file or on the command line',
    },
    {
      field: "foo",
      error: `Unknown setting "foo": expected one of ${EDITABLE_SETTINGS.join(", ")}`,
    },
  ]);
  assert.deepEqual(configError(() => validateSettings([])).errors, [
    { field: null, error: "Invalid settings: expected a JSON object of settings" },
  ]);
  assert.deepEqual(validateSettings({ fps: 0.5, segment: 30, maxStorage: "" }), {
    fps: 0.5,
    segment: 30,
    maxStorage: "",
  });
});

Deno.test("timezone takes an IANA zone or nothing, from a flag, the file and the page", async () => {
  assert.deepEqual(parseCommandLine(["--timezone", "Europe/Berlin"]).flags, {
    timezone: "Europe/Berlin",
  });
  assertParseError(
    ["--timezone", "Mars/Olympus"],
    /^Invalid --timezone: expected a time zone like "Europe\/Berlin", or empty for the phone's, got "Mars\/Olympus"$/,
  );
  const dir = await Deno.makeTempDir();
  try {
    const file = await writeJson(join(dir, "config.json"), { timezone: "Asia/Tokyo" });
    const config = await loadConfig(parseCommandLine(["-c", file, "-f", join(dir, "out")]));
    assert.equal(config.timezone, "Asia/Tokyo");
    const bad = await writeJson(join(dir, "bad.json"), { timezone: "Asia/Nowhere" });
    await assert.rejects(
      loadConfig(parseCommandLine(["-c", bad, "-f", join(dir, "out")])),
      /^ConfigError: Invalid "timezone" in .*bad\.json: expected a time zone/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok((EDITABLE_SETTINGS as readonly string[]).includes("timezone"));
  assert.deepEqual(validateSettings({ timezone: "" }), { timezone: "" });
  assert.deepEqual(validateSettings({ timezone: "America/New_York" }), {
    timezone: "America/New_York",
  });
  assert.equal(
    configError(() => validateSettings({ timezone: "New York" })).message,
    'Time zone must be a time zone like "Europe/Berlin", or empty, got "New York"',
  );
});

Deno.test("parseCommandLine still names the flag when the page would name the label", () => {
  assertParseError(["--segment", "99999"], /^Invalid --segment: expected a number from 1 to 3600/);
  assertParseError(["--preview-fps", "0"], /^Invalid --preview-fps: expected a number greater/);
});

Deno.test("parseCommandLine --no-overlay turns the timestamp off, the last of the two flags wins", () => {
  assert.deepEqual(parseCommandLine(["--no-overlay"]).flags, { overlay: "" });
  assert.deepEqual(parseCommandLine(["--overlay", "%F", "--no-overlay"]).flags, { overlay: "" });
  assert.deepEqual(parseCommandLine(["--no-overlay", "--overlay", "%T"]).flags, { overlay: "%T" });
  assert.deepEqual(parseCommandLine(["--overlay", ""]).flags, { overlay: "" });
  assert.throws(() => parseCommandLine(["--overlay", "%{pts}"]), /Invalid --overlay/);
  assert.throws(() => parseCommandLine(["--no-width"]), /--no-width/);
});
