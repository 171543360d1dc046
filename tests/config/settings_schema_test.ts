import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Config,
  DEFAULTS,
  EDITABLE_SETTINGS,
  HELP,
  pageSchema,
  parseCommandLine,
  PART_SETTINGS,
  PARTS,
  SETTINGS,
  validateSettings,
} from "../../src/config/mod.ts";
import { settingsRoutes } from "../../src/server/settings_routes.ts";

type AnyRow = (typeof SETTINGS)[keyof typeof SETTINGS] & Record<string, unknown>;
const rows = Object.entries(SETTINGS) as [keyof typeof SETTINGS, AnyRow][];

Deno.test("SETTINGS rows: every default passes its own row, from the page and the command line", () => {
  for (const [key, row] of rows) {
    if (row.default === undefined) continue;
    if (EDITABLE_SETTINGS.includes(key as never)) {
      assert.deepEqual(validateSettings({ [key]: row.default }), { [key]: row.default }, key);
    }
    const flag = key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
    const args = row.type === "boolean"
      ? [row.default ? `--${flag}` : `--no-${flag}`]
      : [`--${flag}`, String(row.default)];
    // An empty string is no valid flag value for settings that need text.
    if (row.default === "" && row.valid === undefined) continue;
    assert.equal(parseCommandLine(args).flags[key as keyof Config], row.default, key);
  }
});

Deno.test("SETTINGS rows: help placeholders are filled and each flag is in --help once", () => {
  assert.ok(!/\{range\}|\{choices\}/.test(HELP), "no placeholder is left");
  for (const [key] of rows) {
    const flag = key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
    const lines = HELP.split("\n").filter((line) => new RegExp(`--(no-)?${flag}\\b`).test(line));
    assert.ok(lines.length >= 1, `--${flag} is in --help`);
  }
});

Deno.test("PART_SETTINGS groups the settings by the part their row restarts", () => {
  assert.deepEqual(Object.keys(PART_SETTINGS), [...PARTS]);
  assert.deepEqual(PART_SETTINGS.recorder, [
    "segment",
    "output",
    "audio",
    "audioDevice",
    "audioBitrate",
  ]);
  assert.deepEqual(PART_SETTINGS.preview, ["previewWidth", "previewHeight", "previewFps"]);
  for (const [key, row] of rows) {
    const part = row.restarts as (typeof PARTS)[number] | undefined;
    if (part) assert.ok(PART_SETTINGS[part].includes(key), key);
  }
});

Deno.test("pageSchema describes every editable setting in the JSON Schema's words", () => {
  const schema = pageSchema();
  assert.deepEqual(Object.keys(schema), [...EDITABLE_SETTINGS]);
  assert.deepEqual(schema.width, {
    type: "integer",
    label: "Width",
    help: "frame width, 16 to 7680",
    default: 1280,
    unit: "pixels",
    symbol: "px",
    group: "Camera",
    minimum: 16,
    maximum: 7680,
  });
  assert.deepEqual(schema.fps, {
    type: "number",
    label: "Frame rate",
    help: "frames per second, above 0 and at most 120",
    default: 30,
    unit: "frames per second",
    symbol: "fps",
    group: "Camera",
    exclusiveMinimum: 0,
    maximum: 120,
  });
  assert.deepEqual(schema.codec.enum, ["auto", "mjpeg", "h264"]);
  assert.equal(schema.codec.enumLabels?.h264, "H.264");
  assert.equal(schema.codec.type, "string");
  assert.equal(schema.quality.hint, "1 to 100, for MJPEG", "{range} is filled in a hint too");
  assert.equal(schema.bitrate.input, "text", "a bitrate may be typed as 6M");
  assert.equal(schema.timezone.suggest, "timeZones");
  for (const [key, field] of Object.entries(schema)) {
    assert.equal(field.default, DEFAULTS[key as keyof typeof DEFAULTS], key);
    assert.ok(field.label && field.help, key);
  }
});

Deno.test("GET /api/settings sends the schema beside the settings, and no secret", async () => {
  const dir = await Deno.makeTempDir({ prefix: "settings_schema_test_" });
  try {
    const config: Config = { ...DEFAULTS, output: dir, password: "hunter2" };
    const app = settingsRoutes({
      config: () => config,
      apply: () => Promise.resolve([]),
      configFile: join(dir, "config.json"),
    });
    const response = await app.request("/");
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.deepEqual(body.schema, JSON.parse(JSON.stringify(pageSchema())));
    assert.equal(body.settings.segment, 60);
    assert.equal(body.file, join(dir, "config.json"));
    assert.ok(!JSON.stringify(body).includes("hunter2"));
    const secret = rows.filter(([, row]) => row.secret).map(([key]) => key);
    for (const key of secret) assert.ok(!(key in body.settings), `${key} is not sent`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validateSettings takes a bitrate typed as the page's hint says, 6M", () => {
  assert.deepEqual(validateSettings({ bitrate: "6M" }), { bitrate: 6_000_000 });
  assert.deepEqual(validateSettings({ bitrate: "512k" }), { bitrate: 512_000 });
  assert.throws(() => validateSettings({ bitrate: "200M" }), /^ConfigError: Bitrate must be/);
  assert.throws(() => validateSettings({ fps: "30" }), /^ConfigError: Frame rate must be/);
});
