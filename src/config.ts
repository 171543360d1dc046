/**
 * Command-line flags and an optional JSON file merged into one frozen, validated
 * {@linkcode Config}. Every error names the flag (or the file key) that caused it.
 *
 * `parseCommandLine` and the validation are pure; the file system is touched only by
 * `loadConfig` (reading the file, creating and probing the output directory).
 *
 * @example
 * ```ts
 * import { ConfigError, HELP, loadConfig, parseCommandLine } from "./config.ts";
 *
 * try {
 *   const commandLine = parseCommandLine(Deno.args);
 *   if (commandLine.help) {
 *     console.log(HELP);
 *   } else {
 *     const config = await loadConfig(commandLine);
 *     console.log(`Recording to ${config.output}`);
 *   }
 * } catch (error) {
 *   if (!(error instanceof ConfigError)) throw error;
 *   console.error(error.message);
 *   Deno.exit(2);
 * }
 * ```
 *
 * @module
 */

import { mkdir, open, readFile, rename, unlink, writeFile } from "node:fs/promises";
import process from "node:process";
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { parseByteSize, parseFreeSpaceFloor } from "./storage/byte_size.ts";
import { messageOf } from "./errors.ts";
import { isTimeZone } from "./clock.ts";

/**
 * Where frames come from: `rpicam` (rpicam-vid), `v4l2` (a USB camera through ffmpeg),
 * `test` (an ffmpeg test pattern), `command` (any shell command) or `auto` (the first
 * camera found, else the test pattern).
 */
export type SourceKind = "auto" | "rpicam" | "v4l2" | "test" | "command";

/** The codec setting: a codec, or `auto`. */
export type CodecSetting = "auto" | "mjpeg" | "h264";

/** The validated settings the recorder runs with; {@linkcode loadConfig} returns it frozen. */
export interface Config {
  /** Where frames come from. Default `"auto"`. */
  source: SourceKind;
  /** The shell command for source `"command"`; required then. */
  command?: string;
  /** The V4L2 device for source `"v4l2"`. Default `"/dev/video0"`. */
  device: string;
  /** Frame width in pixels, a whole number from 16 to 7680. Default 1280. */
  width: number;
  /** Frame height in pixels, a whole number from 16 to 4320. Default 720. */
  height: number;
  /** Frames per second, greater than 0 and at most 120. Default 30. */
  fps: number;
  /** JPEG quality, a whole number from 1 to 100. Default 80. */
  quality: number;
  /** Clip length in seconds, from 1 to 3600. Default 60. */
  segment: number;
  /**
   * The IANA time zone of clip names, the burned-in clock and the page, e.g. `"Europe/Berlin"`;
   * `""` for the phone's (sent with its time), else the system's. Default `""`.
   */
  timezone: string;
  /** The recordings directory, as an absolute path. Default `"recordings"` (below the cwd). */
  output: string;
  /** The address the web server listens on. Default `"0.0.0.0"` (every interface: the phone). */
  host: string;
  /** The web server port, 0 to 65535 (0 picks a free port). Default 8080. */
  port: number;
  /** Whether to start recording at launch. Default true. */
  record: boolean;
  /** `mjpeg`, `h264`, or `auto` (H.264 for the Pi camera, MJPEG otherwise). Default `"auto"`. */
  codec: CodecSetting;
  /** H.264 bits per second; 0 picks about 0.1 bit per pixel. Default 0. */
  bitrate: number;
  /** H.264 keyframe interval in frames; 0 means one second's worth. Default 0. */
  intra: number;
  /** H.264 profile. Default `"high"`. */
  profile: "baseline" | "main" | "high";
  /** H.264 level. Default `"4.2"`. */
  level: "4" | "4.1" | "4.2";
  /** Live-view size and rate in H.264 mode (decoded from the camera's stream). */
  previewWidth: number;
  previewHeight: number;
  previewFps: number;
  /** Cap on the total size of the clips, e.g. `"20G"`; `""` for none. Default `""`. */
  maxStorage: string;
  /** Free space to keep on the disk, e.g. `"1G"` or `"10%"`. Default `"5%"`. */
  minFree: string;
  /** Whether the web server asks for a password. Default true; `--no-auth` turns it off. */
  auth: boolean;
  /** The user name for HTTP Basic authentication. Default `"admin"`. */
  user: string;
  /**
   * The password (also from `$VIDEORECORDER_PASSWORD`). When none is set, one is generated on
   * first start and kept in the config directory.
   */
  password?: string;
  /** The absolute path of the JSON file loaded, if any. */
  configFile?: string;
}

/** The settings used when neither a flag nor the config file gives one. */
/** The settings that have a default: all but the command, the config file and the password. */
export type Defaults = Readonly<Omit<Config, "command" | "configFile" | "password">>;

export const DEFAULTS: Defaults = Object.freeze({
  source: "auto",
  device: "/dev/video0",
  width: 1280,
  height: 720,
  fps: 30,
  quality: 80,
  segment: 60,
  timezone: "",
  output: "recordings",
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
});

/**
 * A bad flag, config file or output directory. The one error callers are meant to catch:
 * `mod.ts` prints the message and exits with code 2.
 */
export class ConfigError extends Error {
  /** The setting at fault, when there is one (the page shows the message next to it). */
  readonly key?: string;
  /**
   * Every invalid setting when several were checked at once ({@linkcode validateSettings}),
   * the first being this error's own message and key.
   */
  readonly errors: readonly SettingError[];

  /** Creates a `ConfigError` with a message meant for the user. */
  constructor(
    message: string,
    options?: ErrorOptions & { key?: string; errors?: readonly SettingError[] },
  ) {
    super(message, options);
    this.name = "ConfigError";
    this.key = options?.key;
    this.errors = options?.errors ?? [{ field: this.key ?? null, error: message }];
  }
}

/** One invalid setting: the key (null when none is at fault) and a sentence for the user. */
export interface SettingError {
  field: string | null;
  error: string;
}

/** The command line after parsing and validation, before the config file is read. */
export interface CommandLine {
  /** True when `--help` (`-h`) was given. */
  help: boolean;
  /** The `--config` path as given (relative paths are resolved by `loadConfig`). */
  configFile?: string;
  /**
   * The validated flag values. `output` is kept as given; `source` is `"command"` when
   * `--command` was given without `--source`.
   */
  flags: Partial<Config>;
}

/** Options for {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /** The directory relative paths on the command line are resolved against. Default `process.cwd()`. */
  cwd?: string;
  /** Environment variables (`VIDEORECORDER_PASSWORD`). Default `process.env`. */
  env?: Record<string, string | undefined>;
}

/**
 * The options in help order: the flag with its value's name, and its description.
 * {@linkcode HELP} lays them out in two columns, so every description starts in one column.
 */
const HELP_OPTIONS: readonly (readonly [flag: string, text: string])[] = [
  [
    "--source KIND",
    `auto, rpicam, v4l2, test or command; auto uses the first camera found, else the test pattern (default: ${DEFAULTS.source})`,
  ],
  [
    "--command CMD",
    'shell command for source "command"; implies --source command when --source is not given',
  ],
  ["--device PATH", `V4L2 device for source v4l2 (default: ${DEFAULTS.device})`],
  ["--width PIXELS", `frame width, 16 to 7680 (default: ${DEFAULTS.width})`],
  ["--height PIXELS", `frame height, 16 to 4320 (default: ${DEFAULTS.height})`],
  ["--fps RATE", `frames per second, above 0 and at most 120 (default: ${DEFAULTS.fps})`],
  ["--quality Q", `JPEG quality, 1 to 100 (default: ${DEFAULTS.quality})`],
  ["--segment SECONDS", `clip length, 1 to 3600 (default: ${DEFAULTS.segment})`],
  [
    "--timezone ZONE",
    "time zone of clip names, the burned-in clock and the page, e.g. Europe/Berlin (default: the phone's, else the system's)",
  ],
  ["-f, --output DIR", `recordings directory, created if missing (default: ${DEFAULTS.output})`],
  ["--host ADDRESS", `address the web server listens on (default: ${DEFAULTS.host})`],
  ["--port PORT", `web server port, 0 to 65535; 0 picks a free one (default: ${DEFAULTS.port})`],
  [
    "--max-storage SIZE",
    "cap on the clips' total size, e.g. 20G; the oldest unlocked clips are deleted to stay under it (default: none)",
  ],
  [
    "--min-free SIZE",
    `free space to keep on the disk, e.g. 1G or 10%; the oldest unlocked clips are deleted to keep it (default: ${DEFAULTS.minFree})`,
  ],
  ["--user NAME", `user name for the web page's password prompt (default: ${DEFAULTS.user})`],
  [
    "--password TEXT",
    "its password; also $VIDEORECORDER_PASSWORD. Without one, a password is generated on first start, kept in the config directory (mode 0600) and printed once",
  ],
  ["--no-auth", "no password at all: anyone on the network controls the recorder"],
  ["--record", "start recording at launch (default)"],
  ["--no-record", "start with recording off"],
  [
    "--codec CODEC",
    `auto, mjpeg or h264; auto is h264 for the Pi camera (its hardware encoder), mjpeg otherwise (default: ${DEFAULTS.codec})`,
  ],
  [
    "--bitrate BPS",
    `H.264 bits per second, e.g. 6000000 or 6M; 0 picks about 0.1 bit per pixel (default: ${DEFAULTS.bitrate})`,
  ],
  ["--intra FRAMES", `H.264 keyframe interval; 0 is one second (default: ${DEFAULTS.intra})`],
  ["--profile NAME", `H.264 profile: baseline, main or high (default: ${DEFAULTS.profile})`],
  ["--level LEVEL", `H.264 level: 4, 4.1 or 4.2 (default: ${DEFAULTS.level})`],
  [
    "--preview-width PIXELS",
    `live view width in H.264 mode, 16 to 1920 (default: ${DEFAULTS.previewWidth})`,
  ],
  [
    "--preview-height PIXELS",
    `live view height in H.264 mode, 16 to 1080 (default: ${DEFAULTS.previewHeight})`,
  ],
  [
    "--preview-fps RATE",
    `live view rate in H.264 mode, above 0 and at most 30; decoded only while someone watches (default: ${DEFAULTS.previewFps})`,
  ],
  [
    "-c, --config FILE",
    'JSON file with any of the settings above as keys, e.g.\n{"fps": 15, "output": "/media/pi/REMOVABLE/output"}\nflags override the file; a relative output is resolved against the file\'s directory',
  ],
  ["-h, --help", "show this help and exit"],
];

/** Help lines are wrapped to fit an 80-column terminal. */
const HELP_WIDTH = 80;

/**
 * `text` in lines of at most `width` characters, breaking at spaces (never inside
 * "(default: …)") and at each "\n".
 */
function wrap(text: string, width: number): string[] {
  return text.split("\n").flatMap((paragraph) => {
    const lines: string[] = [];
    let line = "";
    const words = paragraph.replace(/\(default: /g, "(default:\0").split(" ");
    for (const word of words.map((word) => word.replace("\0", " "))) {
      if (line !== "" && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else {
        line = line === "" ? word : `${line} ${word}`;
      }
    }
    return [...lines, line];
  });
}

/** Usage text listing every flag with its default, descriptions aligned in one column. */
export const HELP: string = (() => {
  const width = Math.max(...HELP_OPTIONS.map(([flag]) => flag.length)) + 2;
  const options = HELP_OPTIONS.flatMap(([flag, text]) =>
    wrap(text, HELP_WIDTH - 2 - width).map((line, i) =>
      `  ${(i === 0 ? flag : "").padEnd(width)}${line}`
    )
  );
  const about = "Records a camera to clips of fixed length and serves a live view and " +
    "controls over HTTP.";
  return `Usage: videorecorder [options]

${wrap(about, HELP_WIDTH).join("\n")}

Options:
${options.join("\n")}
`;
})();

/** The keys a config file may hold, in help order. */
type SettingKey = Exclude<keyof Config, "configFile">;

const SOURCES: readonly SourceKind[] = ["auto", "rpicam", "v4l2", "test", "command"];

/** The flag of a setting: `previewWidth` → `preview-width`. */
function flagOf(key: SettingKey): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** The setting of a flag name (without dashes), if any. */
function keyOf(flag: string): SettingKey | undefined {
  return SETTING_KEYS.find((key) => flagOf(key) === flag);
}

function enumRule(values: readonly string[]): Rule {
  return {
    type: "string",
    expected: `one of ${values.join(", ")}`,
    check: (value) => values.includes(value as string) ? value : undefined,
    fromText: (text) => text,
  };
}

/** Bits per second: a whole number, or with a k/M suffix (powers of 1000). */
function bitrateRule(): Rule {
  const { range: _, ...rule } = numberRule(0, 100_000_000, { integer: true });
  return {
    ...rule,
    expected: "bits per second from 0 to 100M, e.g. 6000000 or 6M",
    fromText(text) {
      const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text);
      if (!match) return undefined;
      const scale = { "": 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }[match[2]]!;
      return Math.round(Number(match[1]) * scale);
    },
  };
}

/** How one setting is checked, from a flag's text or from a JSON value. */
interface Rule {
  /** The JSON type the file must use. */
  type: "string" | "number" | "boolean";
  /** What a valid value looks like, for error messages: "a whole number from 1 to 100". */
  expected: string;
  /** The value, or undefined when `value` (already of the right JSON type) is invalid. */
  check(value: unknown): unknown;
  /** Converts a flag's text to the JSON type; undefined when it cannot. */
  fromText(text: string): unknown;
  /** A number rule's bounds, to say them in a field's own words. */
  range?: { min: number; max: number; integer: boolean; aboveMin: boolean };
}

// Plain decimal notation only: Number() alone would also accept "", " 1", "0x10" and "Infinity".
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function numberRule(
  min: number,
  max: number,
  options: { integer?: boolean; aboveMin?: boolean } = {},
): Rule {
  const { integer = false, aboveMin = false } = options;
  const expected = integer
    ? `a whole number from ${min} to ${max}`
    : aboveMin
    ? `a number greater than ${min} and at most ${max}`
    : `a number from ${min} to ${max}`;
  return {
    type: "number",
    expected,
    range: { min, max, integer, aboveMin },
    check(value) {
      if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
      if (integer && !Number.isInteger(value)) return undefined;
      if (aboveMin ? value <= min : value < min) return undefined;
      return value <= max ? value : undefined;
    },
    fromText: (text) => DECIMAL.test(text) ? Number(text) : undefined,
  };
}

function booleanRule(): Rule {
  return {
    type: "boolean",
    expected: "true or false",
    check: (value) => typeof value === "boolean" ? value : undefined,
    fromText: () => undefined,
  };
}

/** A string accepted when `valid` returns true without throwing. */
function parsedRule(expected: string, valid: (text: string) => boolean): Rule {
  const check = (value: unknown) => {
    if (typeof value !== "string") return undefined;
    try {
      return valid(value) ? value : undefined;
    } catch {
      return undefined;
    }
  };
  return { type: "string", expected, check, fromText: (text) => text };
}

function stringRule(expected: string): Rule {
  return {
    type: "string",
    expected,
    check: (value) => typeof value === "string" && value !== "" ? value : undefined,
    fromText: (text) => text,
  };
}

const RULES: Readonly<Record<SettingKey, Rule>> = {
  source: enumRule(SOURCES),
  command: stringRule("a non-empty shell command"),
  device: stringRule("a non-empty device path"),
  width: numberRule(16, 7680, { integer: true }),
  height: numberRule(16, 4320, { integer: true }),
  fps: numberRule(0, 120, { aboveMin: true }),
  quality: numberRule(1, 100, { integer: true }),
  segment: numberRule(1, 3600),
  timezone: parsedRule(
    'a time zone like "Europe/Berlin", or empty for the phone\'s',
    (text) => text === "" || isTimeZone(text),
  ),
  output: stringRule("a non-empty directory path"),
  host: stringRule("a non-empty host name or address"),
  port: numberRule(0, 65535, { integer: true }),
  record: booleanRule(),
  codec: enumRule(["auto", "mjpeg", "h264"]),
  bitrate: bitrateRule(),
  intra: numberRule(0, 1000, { integer: true }),
  profile: enumRule(["baseline", "main", "high"]),
  level: enumRule(["4", "4.1", "4.2"]),
  previewWidth: numberRule(16, 1920, { integer: true }),
  previewHeight: numberRule(16, 1080, { integer: true }),
  previewFps: numberRule(0, 30, { aboveMin: true }),
  maxStorage: parsedRule(
    "a size like 20G, or empty for no cap",
    (text) => text === "" || parseByteSize(text) > 0,
  ),
  minFree: parsedRule("a size like 1G or a percentage like 10%", (text) => {
    parseFreeSpaceFloor(text);
    return true;
  }),
  auth: booleanRule(),
  user: stringRule("a non-empty user name"),
  password: stringRule("a non-empty password"),
};

const SETTING_KEYS = Object.keys(RULES) as SettingKey[];

/** The settings that take a value on the command line (`record` is a boolean flag). */
const VALUE_KEYS = SETTING_KEYS.filter((key) => RULES[key].type !== "boolean");

const PARSE_OPTIONS = {
  source: { type: "string" },
  command: { type: "string" },
  device: { type: "string" },
  width: { type: "string" },
  height: { type: "string" },
  fps: { type: "string" },
  quality: { type: "string" },
  segment: { type: "string" },
  timezone: { type: "string" },
  // -f as in the original Python recorder's systemd unit: `videorecorder.py -f /media/...`.
  output: { type: "string", short: "f" },
  host: { type: "string" },
  port: { type: "string" },
  record: { type: "boolean" },
  codec: { type: "string" },
  bitrate: { type: "string" },
  intra: { type: "string" },
  profile: { type: "string" },
  level: { type: "string" },
  "preview-width": { type: "string" },
  "preview-height": { type: "string" },
  "preview-fps": { type: "string" },
  "max-storage": { type: "string" },
  "min-free": { type: "string" },
  auth: { type: "boolean" },
  user: { type: "string" },
  password: { type: "string" },
  config: { type: "string", short: "c" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Parses and validates command-line arguments. Reads no files: the `--config` file is
 * read by {@linkcode loadConfig}.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "./config.ts";
 *
 * const { flags } = parseCommandLine(["--fps", "15", "-f", "/media/pi/REMOVABLE/output"]);
 * // flags: { fps: 15, output: "/media/pi/REMOVABLE/output" }
 * ```
 *
 * @param args The arguments after the program name, e.g. `Deno.args`.
 * @returns The help switch, the `--config` path and the validated flag values.
 * @throws {ConfigError} On an unknown flag, a missing or invalid value, or a positional argument.
 */
export function parseCommandLine(args: string[]): CommandLine {
  let values: Record<string, string | boolean | undefined>;
  try {
    // `--no-auth` as its own option, not parseArgs' allowNegative: Node 18 (Raspberry Pi OS
    // Bookworm's) has no allowNegative and calls `--no-auth` an unknown flag. The tokens keep
    // the order, so the last of `--auth --no-auth` wins, as with allowNegative.
    const { values: parsed, tokens } = parseArgs({
      args,
      options: { ...PARSE_OPTIONS, ...NEGATED_OPTIONS },
      strict: true,
      allowPositionals: false,
      tokens: true,
    });
    values = { ...parsed };
    for (const token of tokens) {
      if (token.kind !== "option" || typeof parsed[token.name] !== "boolean") continue;
      if (token.name in NEGATED_OPTIONS) {
        delete values[token.name];
        values[token.name.slice("no-".length)] = false;
      } else {
        values[token.name] = true;
      }
    }
  } catch (error) {
    throw toConfigError(error);
  }

  const flags: Record<string, unknown> = {};
  for (const key of VALUE_KEYS) {
    const text = values[flagOf(key)];
    if (typeof text !== "string") continue;
    const value = RULES[key].check(RULES[key].fromText(text));
    if (value === undefined) {
      throw new ConfigError(
        `Invalid --${flagOf(key)}: expected ${RULES[key].expected}, got ${JSON.stringify(text)}`,
      );
    }
    flags[key] = value;
  }
  for (const key of SETTING_KEYS) {
    if (RULES[key].type === "boolean" && typeof values[key] === "boolean") flags[key] = values[key];
  }
  impliedSource(flags);

  const commandLine: CommandLine = { help: values.help === true, flags: flags as Partial<Config> };
  if (typeof values.config === "string") {
    if (values.config === "") {
      throw new ConfigError(`Invalid --config: expected a non-empty file path, got ""`);
    }
    commandLine.configFile = values.config;
  }
  return commandLine;
}

/**
 * Merges the defaults, the `--config` file and the flags (later wins), resolves `output`
 * to an absolute path, and makes sure that directory exists and is writable.
 *
 * A relative `output` is resolved against the config file's directory when it comes from
 * the file, and against `options.cwd` otherwise.
 *
 * @example
 * ```ts
 * import { loadConfig, parseCommandLine } from "./config.ts";
 *
 * const config = await loadConfig(parseCommandLine(["--no-record"]), { cwd: "/tmp" });
 * // config.output === "/tmp/recordings", config.record === false
 * ```
 *
 * @param commandLine The result of {@linkcode parseCommandLine}.
 * @param options Where relative paths on the command line are resolved from.
 * @returns The frozen configuration.
 * @throws {ConfigError} On an unreadable or invalid config file, a missing `--command`,
 * or an output directory that cannot be created or written.
 */
export async function loadConfig(
  commandLine: CommandLine,
  options: LoadConfigOptions = {},
): Promise<Config> {
  const cwd = resolve(options.cwd ?? process.cwd());

  let configFile: string | undefined;
  let fileSettings: Partial<Config> = {};
  if (commandLine.configFile !== undefined) {
    configFile = resolve(cwd, commandLine.configFile);
    fileSettings = parseConfigFile(await readConfigFile(configFile), configFile);
  }

  // The environment sits between the file and the flags; only the password comes from it.
  const password = (options.env ?? process.env).VIDEORECORDER_PASSWORD;
  const envSettings: Partial<Config> = password ? { password } : {};

  const config: Config = { ...DEFAULTS };
  for (const layer of [fileSettings, envSettings, commandLine.flags]) {
    for (const key of SETTING_KEYS) {
      if (layer[key] !== undefined) Object.assign(config, { [key]: layer[key] });
    }
  }
  if (configFile !== undefined) config.configFile = configFile;

  if (config.source === "command" && config.command === undefined) {
    throw new ConfigError(
      `Missing --command: source "command" needs the shell command to run`,
    );
  }

  // Name the setting the output came from, so the user knows what to fix.
  let outputLabel = "--output";
  if (commandLine.flags.output !== undefined) {
    config.output = resolve(cwd, commandLine.flags.output);
  } else if (fileSettings.output !== undefined && configFile !== undefined) {
    config.output = resolve(dirname(configFile), fileSettings.output);
    outputLabel = `"output" in ${configFile}`;
  } else {
    config.output = resolve(cwd, config.output);
  }
  await ensureWritableDirectory(config.output, outputLabel);

  return Object.freeze(config);
}

/** Sets `source` to "command" when a layer gives a command but no source. */
function impliedSource(settings: Record<string, unknown>): void {
  if (settings.command !== undefined && settings.source === undefined) {
    settings.source = "command";
  }
}

/** Turns a `parseArgs` TypeError into a ConfigError that names the flag. */
function toConfigError(error: unknown): unknown {
  if (!(error instanceof TypeError)) return error;
  const code = (error as TypeError & { code?: string }).code;
  const message = error.message;
  // parseArgs quotes the option first, e.g. "Option '-f, --output <value>' argument missing".
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  const flag = quoted.match(/--?[A-Za-z][\w-]*/g)?.at(-1);

  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag !== undefined) {
    return new ConfigError(`Unknown flag: ${flag}`, { cause: error });
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const argument = /^Unexpected argument '(.*)'\./s.exec(message)?.[1];
    if (argument !== undefined) {
      return new ConfigError(
        `Unexpected argument ${JSON.stringify(argument)}: videorecorder takes flags only`,
        { cause: error },
      );
    }
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag !== undefined) {
    const key = keyOf(flag.slice(2));
    const expected = key ? RULES[key].expected : "a value";
    if (message.includes("does not take an argument")) {
      return new ConfigError(`Invalid ${flag}: takes no value`, { cause: error });
    }
    if (message.includes("ambiguous")) {
      return new ConfigError(
        `Missing value for ${flag}: the next argument starts with a dash ` +
          `(write ${flag}=VALUE to pass such a value)`,
        { cause: error },
      );
    }
    return new ConfigError(`Missing value for ${flag}: expected ${expected}`, { cause: error });
  }
  return new ConfigError(`Invalid command line: ${message}`, { cause: error });
}

async function readConfigFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const reason = isNotFound(error) ? "file not found" : osReason(error);
    throw new ConfigError(`Invalid --config: cannot read ${path}: ${reason}`, { cause: error });
  }
}

/** Validates the text of a config file; pure apart from the path used in messages. */
function parseConfigFile(text: string, path: string): Partial<Config> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `Invalid --config: ${path} is not valid JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    const kind = json === null ? "null" : Array.isArray(json) ? "an array" : typeof json;
    throw new ConfigError(`Invalid --config: ${path} must hold a JSON object, got ${kind}`);
  }

  const settings = checkSettings(json as Record<string, unknown>, SETTING_KEYS, ` in ${path}`);
  impliedSource(settings);
  return settings;
}

/**
 * Checks JSON settings key by key against the rules; `where` goes into messages (" in FILE").
 * Keys outside `allowed` are refused.
 */
function checkSettings(
  json: Record<string, unknown>,
  allowed: readonly SettingKey[],
  where: string,
): Partial<Config> {
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (!allowed.includes(key as SettingKey)) {
      throw new ConfigError(
        `Unknown key ${JSON.stringify(key)}${where}: expected one of ${allowed.join(", ")}`,
        { key },
      );
    }
    const rule = RULES[key as SettingKey];
    const checked = rule.check(value);
    if (checked === undefined) {
      // A quoted number looks right at a glance; say why it is refused.
      const hint = typeof value === "string" && rule.type !== "string"
        ? ` (a string, not a JSON ${rule.type})`
        : "";
      throw new ConfigError(
        `Invalid ${JSON.stringify(key)}${where}: expected ${rule.expected}, got ${
          JSON.stringify(value)
        }${hint}`,
        { key },
      );
    }
    settings[key] = checked;
  }
  return settings as Partial<Config>;
}

/**
 * The settings the control page may change. The rest (where the camera is, the output
 * directory, the address and the password) are for the config file and the command line.
 */
export const EDITABLE_SETTINGS = [
  "width",
  "height",
  "fps",
  "codec",
  "quality",
  "bitrate",
  "intra",
  "segment",
  "timezone",
  "maxStorage",
  "minFree",
  "previewWidth",
  "previewHeight",
  "previewFps",
] as const satisfies readonly SettingKey[];

/** An editable setting. */
export type EditableSetting = typeof EDITABLE_SETTINGS[number];

/**
 * How the control page names each editable setting (its label there) and, for numbers, the
 * unit: errors for the page use these words, not config keys.
 */
const PAGE_WORDS: Readonly<
  Record<EditableSetting, { label: string; unit?: string; must?: string }>
> = {
  width: { label: "Width", unit: "pixels" },
  height: { label: "Height", unit: "pixels" },
  fps: { label: "Frame rate", unit: "frames per second" },
  codec: { label: "Codec" },
  quality: { label: "JPEG quality" },
  bitrate: { label: "Bitrate", must: "from 0 to 100M bits per second, e.g. 6M (0 picks one)" },
  intra: { label: "Keyframe interval", unit: "frames" },
  segment: { label: "Clip length", unit: "seconds" },
  timezone: { label: "Time zone", must: 'a time zone like "Europe/Berlin", or empty' },
  maxStorage: { label: "Space for clips" },
  minFree: { label: "Free space to keep" },
  previewWidth: { label: "Live view width", unit: "pixels" },
  previewHeight: { label: "Live view height", unit: "pixels" },
  previewFps: { label: "Live view rate", unit: "frames per second" },
};

/** `--no-record`, `--no-auth`: each boolean option's negation, declared for parseArgs. */
const NEGATED_OPTIONS: Record<string, { type: "boolean" }> = Object.fromEntries(
  Object.entries(PARSE_OPTIONS as Record<string, { type: string }>)
    .filter(([name, option]) => option.type === "boolean" && name !== "help")
    .map(([name]) => [`no-${name}`, { type: "boolean" }]),
);

/** "Frame rate must be more than 0 and at most 120 frames per second, got 0". */
function pageError(key: EditableSetting, value: unknown): string {
  const { label, unit } = PAGE_WORDS[key];
  const rule = RULES[key];
  let must = PAGE_WORDS[key].must ?? rule.expected.replace(/^one of (.*), (\w+)$/, "$1 or $2");
  if (rule.range) {
    const { min, max, integer, aboveMin } = rule.range;
    const after = unit ? ` ${unit}` : "";
    must = integer
      ? `a whole number${unit ? ` of ${unit}` : ""} from ${min} to ${max}`
      : aboveMin
      ? `more than ${min} and at most ${max}${after}`
      : `from ${min} to ${max}${after}`;
  }
  return `${label} must be ${must}, got ${value === "" ? "nothing" : JSON.stringify(value)}`;
}

/**
 * Validates settings sent by the control page: a JSON object of editable keys with valid
 * values. Every key is checked; the {@linkcode ConfigError} thrown lists each invalid one in
 * `errors`, worded with the page's label for it ("Clip length must be from 1 to 3600
 * seconds, got 99999"), and carries the first as its message and `key`.
 */
export function validateSettings(input: unknown): Partial<Pick<Config, EditableSetting>> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ConfigError("Invalid settings: expected a JSON object of settings");
  }
  const settings: Record<string, unknown> = {};
  const errors: SettingError[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (!(EDITABLE_SETTINGS as readonly string[]).includes(key)) {
      const error = (SETTING_KEYS as string[]).includes(key)
        ? `Cannot change ${JSON.stringify(key)} from the page: set it in the config file or ` +
          "on the command line"
        : `Unknown setting ${JSON.stringify(key)}: expected one of ${EDITABLE_SETTINGS.join(", ")}`;
      errors.push({ field: key, error });
      continue;
    }
    const checked = RULES[key as EditableSetting].check(value);
    if (checked === undefined) {
      errors.push({ field: key, error: pageError(key as EditableSetting, value) });
    } else {
      settings[key] = checked;
    }
  }
  if (errors.length > 0) {
    throw new ConfigError(errors[0].error, { key: errors[0].field ?? undefined, errors });
  }
  return settings as Partial<Pick<Config, EditableSetting>>;
}

/**
 * Writes `changes` into the JSON config file at `path` (created if missing), keeping its other
 * keys. Atomic: a temporary file is written and fsync'ed, then renamed over the old one, so a
 * power cut leaves either the old file or the new one, never a broken one.
 */
export async function saveSettings(path: string, changes: Partial<Config>): Promise<void> {
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    if (!isNotFound(error)) {
      throw new ConfigError(`Cannot update ${path}: ${osReason(error)}`, { cause: error });
    }
  }
  const text = `${JSON.stringify({ ...current, ...changes }, null, 2)}\n`;
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    const file = await open(temporary, "wx", 0o600);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw new ConfigError(`Cannot save settings to ${path}: ${osReason(error)}`, { cause: error });
  }
}

/** The config directory: beside the `--config` file, else `$XDG_CONFIG_HOME/videorecorder`. */
export function configDirectory(
  configFile: string | undefined,
  env: Record<string, string | undefined>,
): string {
  if (configFile) return dirname(configFile);
  const base = env.XDG_CONFIG_HOME || join(env.HOME ?? ".", ".config");
  return join(base, "videorecorder");
}

/** The config file read when `--config` is not given (if it exists) and where settings go. */
export function defaultConfigFile(env: Record<string, string | undefined>): string {
  return join(configDirectory(undefined, env), "config.json");
}

/** Creates `dir` if needed and proves it writable with a probe file. */
async function ensureWritableDirectory(dir: string, label: string): Promise<void> {
  const probe = join(dir, `.videorecorder-probe-${crypto.randomUUID()}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, new Uint8Array([0]), { flag: "wx" });
    await unlink(probe);
  } catch (error) {
    throw new ConfigError(`Invalid ${label}: cannot write to ${dir}: ${osReason(error)}`, {
      cause: error,
    });
  }
}

/**
 * "Not a directory" from Deno's "Not a directory (os error 20): mkdir '/path'" and from
 * node:fs's "ENOTDIR: not a directory, mkdir '/path'" (the path is in the sentence already).
 */
function osReason(error: unknown): string {
  const message = messageOf(error);
  const node = /^E[A-Z]+: (.*?)(?:, \w+ '.*')?$/s.exec(message);
  if (node) return node[1].charAt(0).toUpperCase() + node[1].slice(1);
  return message.replace(/: \w+ '.*'$/s, "");
}

/** Whether `error` says the file is not there (ENOENT), on Deno and on Node. */
function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown })?.code === "ENOENT";
}
