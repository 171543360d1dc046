/**
 * The settings, one row each: the single source of the `Config` type, the defaults, the
 * command-line flags and `--help`, validation of flags, the config file and the page, what
 * restarts when a setting changes, and the schema `GET /api/settings` sends the page.
 *
 * To add a setting, add a row to {@linkcode SETTINGS} here, nothing else:
 * 1. The key is the config file's key; its kebab case is the flag (`previewWidth` →
 *    `--preview-width`).
 * 2. Give `type` (`number` with `min`/`max`/`integer`, `string` with `choices` or `valid` and
 *    `expected`, or `boolean`), a `default` (none: the setting may be absent), the `help` line
 *    (`{range}` and `{choices}` are filled in) and `arg`, the value's name in `--help`.
 * 3. `restarts`: the part rebuilt when it changes while running. A new part goes into
 *    {@linkcode PARTS} and `Dashcam.applySettings`.
 * 4. `page: { label, group, hint, ... }` ({@linkcode PageWords}) when the control page may
 *    change it: its form is built from this. `secret: true` for a value never sent to it.
 * 5. Run `deno run -A scripts/settings_table.ts` to rewrite the README's table (a test
 *    checks it is current).
 *
 * @module
 */

import { parseGpioLine } from "../car/gpio_line.ts";
import { parseGpsSetting } from "../car/gps_setting.ts";
import { parseAudioDevice } from "../audio/audio_input.ts";
import { isTimeZone } from "../clock.ts";
import { DEFAULT_OVERLAY, overlayFormatProblem } from "../camera/overlay.ts";
import { parseByteSize, parseFreeSpaceFloor } from "../storage/byte_size.ts";
import { parseRemote, validateBwlimit, validateFolder } from "../archive/rclone_remote.ts";

/**
 * A part of the recorder that a settings change may restart, in the order they are
 * restarted and reported.
 */
export const PARTS = [
  "camera",
  "recorder",
  "preview",
  "storage",
  "clock",
  "archive",
  "gps",
  "gpio",
] as const;

/** A part of the recorder that a settings change may restart. */
export type Part = typeof PARTS[number];

/**
 * How the control page shows an editable setting. Its errors use these words too ("Clip
 * length must be from 1 to 3600 seconds").
 */
export interface PageWords {
  /** The field's label, and the subject of its errors. */
  label: string;
  /** The unit in errors: "seconds". */
  unit?: string;
  /** The unit beside the label: "s". */
  symbol?: string;
  /** Replaces the derived "must be …" words of errors. */
  must?: string;
  /** The fieldset the field goes in; fieldsets come in the order of their first field. */
  group?: string;
  /** The line under the field (`{range}`, `{choices}` filled in). Default: none. */
  hint?: string;
  /** The choices' labels, by value. Default: the values. */
  choiceLabels?: Readonly<Record<string, string>>;
  /** A number typed as text (a bitrate may be "6M"). */
  text?: boolean;
  /** Suggestions while typing: the time zones the browser knows. */
  suggest?: "timeZones";
}

/** What every row may say, whatever its type. */
interface SettingRowBase {
  /**
   * The `--help` line. `{range}` becomes the range ("16 to 7680", "above 0 and at most 120")
   * and `{choices}` the choices ("auto, mjpeg or h264"); " (default: …)" is appended.
   */
  help: string;
  /** The value's name in `--help`: `--width PIXELS`. */
  arg?: string;
  /** A one-letter alias: `-f` for `--output`. */
  short?: string;
  /** What `--help` says instead of the default value: "the phone's". */
  defaultText?: string;
  /** The part restarted when this setting changes while running. */
  restarts?: Part;
  /** Set when the control page may change the setting: how its form shows it. */
  page?: PageWords;
  /** Never sent to the page (a password). */
  secret?: boolean;
}

/** A number: from `min` (or above it) to `max`. */
export interface NumberRow extends SettingRowBase {
  type: "number";
  min: number;
  max: number;
  /** Only whole numbers. */
  integer?: boolean;
  /** `min` itself is refused: "above 0". */
  aboveMin?: boolean;
  default?: number;
  /** What a valid value looks like when the range alone does not say it. */
  expected?: string;
  /** Reads a flag's text when plain decimal notation is not enough ("6M"). */
  fromText?: (text: string) => number | undefined;
}

/** A string: one of `choices`, one `valid` accepts, or else any non-empty one. */
export interface StringRow extends SettingRowBase {
  type: "string";
  default?: string;
  choices?: readonly string[];
  /** What a valid value looks like (required unless `choices` says it). */
  expected?: string;
  /** Whether the text is valid; a throw means no. Without it, any non-empty string is. */
  valid?: (text: string) => boolean;
  /** The value `--no-FLAG` sets (`--no-overlay`: ""); without it there is no `--no-FLAG`. */
  off?: string;
}

/** A switch: `--record` and `--no-record`. */
export interface BooleanRow extends Omit<SettingRowBase, "help" | "arg" | "page"> {
  type: "boolean";
  default: boolean;
  /** The `--record` line, if it is worth one. */
  help?: string;
  /** The `--no-record` line. */
  noHelp: string;
}

/** One setting's row. */
export type SettingRow = NumberRow | StringRow | BooleanRow;

// Written once here, used by several rows.
const PIXELS = { arg: "PIXELS", type: "number", integer: true } as const;
// The control page's fieldsets.
const CAMERA = "Camera";
const CLIPS = "Clips and storage";
const LIVE = "Live view in H.264 mode";
const SOUND = "Sound";
const CAR = "In the car";
// The GPIO inputs' rows.
const GPIO_LINE = {
  type: "string",
  arg: "CHIP:LINE",
  expected: "CHIP:LINE like gpiochip0:17, or empty for none",
  valid: (text: string) => text === "" || parseGpioLine(text) !== undefined,
  default: "",
  restarts: "gpio",
} as const;
const GPIO_LEVEL = {
  type: "string",
  arg: "LEVEL",
  choices: ["low", "high"],
  restarts: "gpio",
} as const;
const LEVELS = { low: "low (to ground)", high: "high (to 3.3 V)" };

/** Every setting, in `--help` order; see the module doc for how to add one. */
export const SETTINGS = {
  source: {
    type: "string",
    arg: "KIND",
    choices: ["auto", "rpicam", "v4l2", "test", "command"],
    default: "auto",
    help: "{choices}; auto uses the first camera found, else the test pattern",
    restarts: "camera",
  },
  command: {
    type: "string",
    arg: "CMD",
    expected: "a non-empty shell command",
    help: 'shell command for source "command"; implies --source command when --source is ' +
      "not given",
    restarts: "camera",
  },
  device: {
    type: "string",
    arg: "PATH",
    expected: "a non-empty device path",
    default: "/dev/video0",
    help: "V4L2 device for source v4l2",
    restarts: "camera",
  },
  width: {
    ...PIXELS,
    min: 16,
    max: 7680,
    default: 1280,
    help: "frame width, {range}",
    restarts: "camera",
    page: { label: "Width", unit: "pixels", symbol: "px", group: CAMERA },
  },
  height: {
    ...PIXELS,
    min: 16,
    max: 4320,
    default: 720,
    help: "frame height, {range}",
    restarts: "camera",
    page: { label: "Height", unit: "pixels", symbol: "px", group: CAMERA },
  },
  fps: {
    type: "number",
    arg: "RATE",
    min: 0,
    max: 120,
    aboveMin: true,
    default: 30,
    help: "frames per second, {range}",
    restarts: "camera",
    page: { label: "Frame rate", unit: "frames per second", symbol: "fps", group: CAMERA },
  },
  quality: {
    type: "number",
    arg: "Q",
    min: 1,
    max: 100,
    integer: true,
    default: 80,
    help: "JPEG quality, {range}",
    restarts: "camera",
    page: { label: "JPEG quality", group: CAMERA, hint: "{range}, for MJPEG" },
  },
  overlay: {
    type: "string",
    arg: "FORMAT",
    expected: 'a strftime format like "%Y-%m-%d %H:%M:%S" without braces, or empty for none',
    valid: (text) => overlayFormatProblem(text) === undefined,
    default: DEFAULT_OVERLAY,
    help: 'date and time burned into the footage, a strftime format; "" or --no-overlay for none',
    off: "",
    // rpicam-vid's annotate_cv or ffmpeg's drawtext draw it: both start with the camera.
    restarts: "camera",
    page: {
      label: "Timestamp",
      must: "a strftime format without braces, or empty",
      group: CAMERA,
      hint: "burned into the footage, e.g. %Y-%m-%d %H:%M:%S; empty: none",
    },
  },
  segment: {
    type: "number",
    arg: "SECONDS",
    min: 1,
    max: 3600,
    default: 60,
    help: "clip length, {range}",
    restarts: "recorder",
    page: { label: "Clip length", unit: "seconds", symbol: "s", group: CLIPS, hint: "{range}" },
  },
  timezone: {
    type: "string",
    arg: "ZONE",
    expected: 'a time zone like "Europe/Berlin", or empty for the phone\'s',
    valid: (text) => text === "" || isTimeZone(text),
    default: "",
    defaultText: "the phone's, else the system's",
    help: "time zone of clip names, the burned-in clock and the page, e.g. Europe/Berlin",
    // Clip names read it at each close; a burned-in clock needs a camera restart.
    restarts: "clock",
    page: {
      label: "Time zone",
      must: 'a time zone like "Europe/Berlin", or empty',
      group: CLIPS,
      hint: "of clip names and times, e.g. Europe/Berlin; empty: the phone's",
      suggest: "timeZones",
    },
  },
  output: {
    type: "string",
    arg: "DIR",
    // -f as in the original Python recorder's systemd unit: `videorecorder.py -f /media/...`.
    short: "f",
    expected: "a non-empty directory path",
    default: "recordings",
    help: "recordings directory, created if missing",
    restarts: "recorder",
  },
  host: {
    type: "string",
    arg: "ADDRESS",
    expected: "a non-empty host name or address",
    default: "0.0.0.0",
    help: "address the web server listens on",
  },
  port: {
    type: "number",
    arg: "PORT",
    min: 0,
    max: 65535,
    integer: true,
    default: 8080,
    help: "web server port, {range}; 0 picks a free one",
  },
  maxStorage: {
    type: "string",
    arg: "SIZE",
    expected: "a size like 20G, or empty for no cap",
    valid: (text) => text === "" || parseByteSize(text) > 0,
    default: "",
    help: "cap on the clips' total size, e.g. 20G; the oldest unlocked clips are deleted to " +
      "stay under it",
    restarts: "storage",
    page: { label: "Space for clips", group: CLIPS, hint: "e.g. 20G; empty: whole disk" },
  },
  minFree: {
    type: "string",
    arg: "SIZE",
    expected: "a size like 1G or a percentage like 10%",
    valid: (text) => parseFreeSpaceFloor(text) !== undefined,
    default: "5%",
    help: "free space to keep on the disk, e.g. 1G or 10%; the oldest unlocked clips are " +
      "deleted to keep it",
    restarts: "storage",
    page: { label: "Free space to keep", group: CLIPS, hint: "on the disk, e.g. 1G or 10%" },
  },
  archive: {
    type: "string",
    arg: "REMOTE",
    expected: "an rclone remote like nas:dashcam or :sftp,host=nas.local,user=pi:dashcam, " +
      "or empty for none",
    valid: (text) => text === "" || parseRemote(text) !== undefined,
    default: "",
    help: "archive clips with rclone to this remote (a name from rclone.conf or a " +
      "connection string) whenever it answers; see docs/archive.md",
    restarts: "archive",
    // A connection string may hold a password.
    secret: true,
  },
  archiveFolder: {
    type: "string",
    arg: "NAME",
    expected: "a folder name like car1 (letters, digits, . _ -), or empty for the host name",
    valid: (text) => text === "" || validateFolder(text) === text,
    default: "",
    defaultText: "the host name",
    help: "this car's folder on the archive remote; each car of a fleet has its own",
    restarts: "archive",
  },
  archiveClips: {
    type: "string",
    arg: "WHICH",
    choices: ["locked", "all"],
    default: "locked",
    help: "clips to archive: {choices}; locked clips go first, newest first",
    restarts: "archive",
    page: { label: "Clips to archive" },
  },
  archiveBwlimit: {
    type: "string",
    arg: "RATE",
    expected: 'rclone\'s --bwlimit form like 1M, 512k or "08:00,512k 19:00,off", or empty',
    valid: (text) => validateBwlimit(text) === text,
    default: "",
    help: "upload bandwidth limit in rclone's --bwlimit form, e.g. 1M; empty for none",
    restarts: "archive",
    page: { label: "Archive bandwidth limit" },
  },
  archiveAfter: {
    type: "string",
    arg: "WHAT",
    choices: ["keep", "delete"],
    default: "keep",
    help: "archived clips: keep them until loop recording needs room (then they go first), " +
      "or delete them at once (locked clips stay until unlocked)",
    restarts: "archive",
    page: { label: "After archiving" },
  },
  gps: {
    type: "string",
    arg: "WHERE",
    expected: "auto, off, or gpsd's host:port like 127.0.0.1:2947",
    valid: (text) => text !== "" && parseGpsSetting(text) !== undefined,
    default: "auto",
    help: "GPS through gpsd: auto (this machine's gpsd when one runs), off, or gpsd's " +
      "host:port; each clip gets its track (.gpx), and GPS time sets the clock without NTP",
    restarts: "gps",
    page: {
      label: "GPS (gpsd)",
      group: CAR,
      hint: "auto, off, or gpsd's host:port",
      must: "auto, off, or gpsd's host:port like 127.0.0.1:2947",
    },
  },
  lockButton: {
    ...GPIO_LINE,
    help: "GPIO line of a lock button (press = lock the current clip and the ones either " +
      "side), as CHIP:LINE like gpiochip0:17 (BCM 17 on a Pi); empty for none",
    page: { label: "Lock button line", group: CAR, hint: "CHIP:LINE like gpiochip0:17, or empty" },
  },
  lockButtonActive: {
    ...GPIO_LEVEL,
    default: "low",
    help: "the lock button's level when pressed: low (to ground, pull-up on) or high (to " +
      "3.3 V, pull-down on)",
    page: { label: "Lock button pressed is", group: CAR, choiceLabels: LEVELS },
  },
  ignition: {
    ...GPIO_LINE,
    help: "GPIO line that senses the ignition, as CHIP:LINE like gpiochip0:27; key off closes " +
      "the current clip; empty for none",
    page: { label: "Ignition line", group: CAR, hint: "CHIP:LINE like gpiochip0:27, or empty" },
  },
  ignitionActive: {
    ...GPIO_LEVEL,
    default: "high",
    help: "the ignition line's level with the key on: high or low (through an optocoupler)",
    page: { label: "Key on is", group: CAR, choiceLabels: LEVELS },
  },
  ignitionPoweroff: {
    type: "boolean",
    default: false,
    help: "power the Pi off (systemctl poweroff) when the key stays off for " +
      "--ignition-poweroff-delay: for a hold-up supply or a UPS HAT",
    noHelp: "keep running after key off (the default)",
    restarts: "gpio",
  },
  ignitionPoweroffDelay: {
    type: "number",
    arg: "SECONDS",
    min: 0,
    max: 3600,
    integer: true,
    default: 60,
    help: "seconds after key off before the power-off, {range}; the key coming back cancels it",
    restarts: "gpio",
    page: { label: "Power off after key off", unit: "seconds", symbol: "s", group: CAR },
  },
  user: {
    type: "string",
    arg: "NAME",
    expected: "a non-empty user name",
    default: "admin",
    help: "user name for the web page's password prompt",
  },
  password: {
    type: "string",
    arg: "TEXT",
    expected: "a non-empty password",
    help: "its password; also $VIDEORECORDER_PASSWORD. Without one, a password is generated " +
      "on first start, kept in the config directory (mode 0600) and printed once",
    secret: true,
  },
  auth: {
    type: "boolean",
    default: true,
    noHelp: "no password at all: anyone on the network controls the recorder",
  },
  record: {
    type: "boolean",
    default: true,
    help: "start recording at launch (default)",
    noHelp: "start with recording off",
  },
  codec: {
    type: "string",
    arg: "CODEC",
    choices: ["auto", "mjpeg", "h264"],
    default: "auto",
    help: "{choices}; auto is h264 for the Pi camera (its hardware encoder), mjpeg otherwise",
    restarts: "camera",
    page: {
      label: "Codec",
      group: CAMERA,
      hint: "Auto: H.264 on the Pi camera, else MJPEG",
      choiceLabels: { auto: "Auto", mjpeg: "MJPEG", h264: "H.264" },
    },
  },
  bitrate: {
    type: "number",
    arg: "BPS",
    min: 0,
    max: 100_000_000,
    integer: true,
    expected: "bits per second from 0 to 100M, e.g. 6000000 or 6M",
    fromText: parseBitrate,
    default: 0,
    help: "H.264 bits per second, e.g. 6000000 or 6M; 0 picks about 0.1 bit per pixel",
    restarts: "camera",
    page: {
      label: "Bitrate",
      must: "from 0 to 100M bits per second, e.g. 6M (0 picks one)",
      symbol: "bit/s",
      group: CAMERA,
      hint: "H.264; e.g. 6M, 0: auto",
      text: true,
    },
  },
  intra: {
    type: "number",
    arg: "FRAMES",
    min: 0,
    max: 1000,
    integer: true,
    default: 0,
    help: "H.264 keyframe interval, {range}; 0 is one second",
    restarts: "camera",
    page: {
      label: "Keyframe interval",
      unit: "frames",
      group: CAMERA,
      hint: "H.264: one every N frames; 0: 1 a second",
    },
  },
  profile: {
    type: "string",
    arg: "NAME",
    choices: ["baseline", "main", "high"],
    default: "high",
    help: "H.264 profile: {choices}",
    restarts: "camera",
  },
  level: {
    type: "string",
    arg: "LEVEL",
    choices: ["4", "4.1", "4.2"],
    default: "4.2",
    help: "H.264 level: {choices}",
    restarts: "camera",
  },
  previewWidth: {
    ...PIXELS,
    min: 16,
    max: 1920,
    default: 640,
    help: "live view width in H.264 mode, {range}",
    restarts: "preview",
    page: { label: "Live view width", unit: "pixels", symbol: "px", group: LIVE },
  },
  previewHeight: {
    ...PIXELS,
    min: 16,
    max: 1080,
    default: 360,
    help: "live view height in H.264 mode, {range}",
    restarts: "preview",
    page: { label: "Live view height", unit: "pixels", symbol: "px", group: LIVE },
  },
  previewFps: {
    type: "number",
    arg: "RATE",
    min: 0,
    max: 30,
    aboveMin: true,
    default: 5,
    help: "live view rate in H.264 mode, {range}; decoded only while someone watches",
    restarts: "preview",
    page: { label: "Live view rate", unit: "frames per second", symbol: "fps", group: LIVE },
  },
  audio: {
    type: "string",
    arg: "ON|OFF",
    choices: ["off", "on"],
    default: "off",
    help: "record sound from --audio-device into the clips: {choices}; a microphone that " +
      "is absent or fails leaves the video recording (its track is silence meanwhile)",
    restarts: "recorder",
    page: {
      label: "Sound",
      group: SOUND,
      hint: "the microphone, recorded into the clips",
      choiceLabels: { off: "Off", on: "On" },
    },
  },
  audioDevice: {
    type: "string",
    arg: "DEVICE",
    expected: "an ALSA device like default, hw:1,0 or plughw:CARD=Device, or a test tone " +
      "like lavfi:sine=frequency=1000",
    valid: (text) => parseAudioDevice(text) !== undefined,
    default: "default",
    help: "the microphone: an ALSA capture device (arecord -L lists them; plughw: converts " +
      "any rate and channels), or lavfi: and an ffmpeg generator as a test tone",
    restarts: "recorder",
    page: {
      label: "Microphone",
      must: "an ALSA device like plughw:CARD=Device, or lavfi:sine=frequency=1000",
      group: SOUND,
      hint: "ALSA device, e.g. plughw:CARD=Device; arecord -L lists them",
    },
  },
  audioBitrate: {
    type: "number",
    arg: "BPS",
    min: 16_000,
    max: 256_000,
    integer: true,
    expected: "bits per second from 16k to 256k, e.g. 64000 or 64k",
    fromText: parseBitrate,
    default: 64_000,
    help: "sound bits per second, e.g. 64k: AAC with H.264, Opus with MJPEG",
    restarts: "recorder",
    page: {
      label: "Sound bitrate",
      must: "from 16k to 256k bits per second, e.g. 64k",
      symbol: "bit/s",
      group: SOUND,
      text: true,
    },
  },
} as const satisfies Record<string, SettingRow>;

/** Bits per second: a whole number, or with a k/M suffix (powers of 1000). */
function parseBitrate(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text);
  if (!match) return undefined;
  const scale = { "": 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }[match[2]]!;
  return Math.round(Number(match[1]) * scale);
}

type Rows = typeof SETTINGS;

/** A setting's key, as in the config file. */
export type SettingKey = keyof Rows;

/** The value type of a row: its choices, or number, boolean or string. */
type ValueOf<R> = R extends { choices: readonly (infer C)[] } ? C
  : R extends { type: "number" } ? number
  : R extends { type: "boolean" } ? boolean
  : string;

type KeysWithDefault = { [K in SettingKey]: Rows[K] extends { default: unknown } ? K : never }[
  SettingKey
];

/**
 * Where frames come from: `rpicam` (rpicam-vid), `v4l2` (a USB camera through ffmpeg),
 * `test` (an ffmpeg test pattern), `command` (any shell command) or `auto` (the first
 * camera found, else the test pattern).
 */
export type SourceKind = ValueOf<Rows["source"]>;

/** The codec setting: a codec, or `auto`. */
export type CodecSetting = ValueOf<Rows["codec"]>;

/**
 * The validated settings the recorder runs with (`loadConfig` returns it frozen): one per
 * row of {@linkcode SETTINGS}, optional where the row has no default, plus the config file
 * read, if any.
 */
export type Config =
  & { -readonly [K in KeysWithDefault]: ValueOf<Rows[K]> }
  & { -readonly [K in Exclude<SettingKey, KeysWithDefault>]?: ValueOf<Rows[K]> }
  & {
    /** The absolute path of the JSON file loaded, if any. */
    configFile?: string;
  };

/** The settings that have a default: all but the command, the config file and the password. */
export type Defaults = Readonly<Pick<Config, KeysWithDefault>>;

/** Every setting's key, in `--help` order. */
export const SETTING_KEYS: readonly SettingKey[] = Object.keys(SETTINGS) as SettingKey[];

/** The row of each setting, typed as a row of any kind. */
export const ROWS: Readonly<Record<SettingKey, SettingRow>> = SETTINGS;

/** The settings used when neither a flag nor the config file gives one. */
export const DEFAULTS: Defaults = Object.freeze(
  Object.fromEntries(
    SETTING_KEYS.filter((key) => ROWS[key].default !== undefined)
      .map((key) => [key, ROWS[key].default]),
  ),
) as Defaults;

/** A setting the control page may change. */
export type EditableSetting = {
  [K in SettingKey]: Rows[K] extends { page: object } ? K : never;
}[SettingKey];

/**
 * The settings the control page may change. The rest (where the camera is, the output
 * directory, the address and the password) are for the config file and the command line.
 */
export const EDITABLE_SETTINGS: readonly EditableSetting[] = SETTING_KEYS.filter((key) =>
  (ROWS[key] as { page?: object }).page !== undefined
) as EditableSetting[];

/** The settings each part is built from. */
export const PART_SETTINGS: Readonly<Record<Part, readonly SettingKey[]>> = Object.fromEntries(
  PARTS.map((part) => [part, SETTING_KEYS.filter((key) => ROWS[key].restarts === part)]),
) as Record<Part, SettingKey[]>;

/** The flag of a setting: `previewWidth` → `preview-width`. */
export function flagOf(key: SettingKey): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
