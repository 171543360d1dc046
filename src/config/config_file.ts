/**
 * The JSON config file: reading and checking it against the settings schema, saving the
 * page's changes into it, and where it lives.
 *
 * @module
 */

import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { messageOf } from "../errors.ts";
import { writeFileAtomic } from "../storage/write_file_atomic.ts";
import { ConfigError } from "./config_error.ts";
import { checkValue, expectedOf, impliedSource } from "./setting_rules.ts";
import { type Config, ROWS, SETTING_KEYS, type SettingKey } from "./settings_schema.ts";

/** The text of the config file at `path`. */
export async function readConfigFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const reason = isNotFound(error) ? "file not found" : osReason(error);
    throw new ConfigError(`Invalid --config: cannot read ${path}: ${reason}`, { cause: error });
  }
}

/**
 * Validates the text of a config file key by key against the schema; pure apart from the
 * path used in messages.
 */
export function parseConfigFile(text: string, path: string): Partial<Config> {
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

  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (!SETTING_KEYS.includes(key as SettingKey)) {
      throw new ConfigError(
        `Unknown key ${JSON.stringify(key)} in ${path}: expected one of ${SETTING_KEYS.join(", ")}`,
        { key },
      );
    }
    const row = ROWS[key as SettingKey];
    const checked = checkValue(row, value);
    if (checked === undefined) {
      // A quoted number looks right at a glance; say why it is refused.
      const hint = typeof value === "string" && row.type !== "string"
        ? ` (a string, not a JSON ${row.type})`
        : "";
      throw new ConfigError(
        `Invalid ${JSON.stringify(key)} in ${path}: expected ${expectedOf(row)}, got ${
          JSON.stringify(value)
        }${hint}`,
        { key },
      );
    }
    settings[key] = checked;
  }
  impliedSource(settings);
  return settings as Partial<Config>;
}

/**
 * Writes `changes` into the JSON config file at `path` (created if missing), keeping its other
 * keys, with `writeFileAtomic`: a power cut leaves either the old file or the new one, never a
 * broken one (the folder is fsync'ed too, so the new one is there after the cut).
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
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, text, { mode: 0o600 });
  } catch (error) {
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

/**
 * "Not a directory" from Deno's "Not a directory (os error 20): mkdir '/path'" and from
 * node:fs's "ENOTDIR: not a directory, mkdir '/path'" (the path is in the sentence already).
 */
export function osReason(error: unknown): string {
  const message = messageOf(error);
  const node = /^E[A-Z]+: (.*?)(?:, \w+ '.*')?$/s.exec(message);
  if (node) return node[1].charAt(0).toUpperCase() + node[1].slice(1);
  return message.replace(/: \w+ '.*'$/s, "");
}

/** Whether `error` says the file is not there (ENOENT), on Deno and on Node. */
function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown })?.code === "ENOENT";
}
