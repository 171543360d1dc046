/**
 * {@linkcode loadConfig}: the defaults, the config file, the environment and the flags merged
 * into one frozen `Config`, with its output directory made and proven writable.
 *
 * @module
 */

import { mkdir, unlink, writeFile } from "node:fs/promises";
import process from "node:process";
import { dirname, join, resolve } from "node:path";
import { ConfigError } from "./config_error.ts";
import { osReason, parseConfigFile, readConfigFile } from "./config_file.ts";
import type { CommandLine } from "./parse_args.ts";
import { type Config, DEFAULTS, SETTING_KEYS } from "./settings_schema.ts";

/** Options for {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /** The directory relative paths on the command line are resolved against. Default `process.cwd()`. */
  cwd?: string;
  /** Environment variables (`VIDEORECORDER_PASSWORD`). Default `process.env`. */
  env?: Record<string, string | undefined>;
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
 * import { loadConfig, parseCommandLine } from "./mod.ts";
 *
 * const config = await loadConfig(parseCommandLine(["--no-record"]), { cwd: "/tmp" });
 * // config.output === "/tmp/recordings", config.record === false
 * ```
 *
 * @param commandLine The result of `parseCommandLine`.
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
