/**
 * The settings: command-line flags and an optional JSON file merged into one frozen,
 * validated {@linkcode Config}. Every error names the flag (or the file key) that caused it.
 * Every setting is one row of `SETTINGS` in `settings_schema.ts`; the rest is derived.
 *
 * `parseCommandLine` and the validation are pure; the file system is touched only by
 * `loadConfig` (reading the file, creating and probing the output directory) and
 * `saveSettings`.
 *
 * @example
 * ```ts
 * import { ConfigError, HELP, loadConfig, parseCommandLine } from "./mod.ts";
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

export { ConfigError, type SettingError } from "./config_error.ts";
export { configDirectory, defaultConfigFile, saveSettings } from "./config_file.ts";
export { HELP } from "./help.ts";
export { loadConfig, type LoadConfigOptions } from "./load_config.ts";
export { pageSchema, type PageSettingSchema, validateSettings } from "./page_settings.ts";
export { type CommandLine, parseCommandLine } from "./parse_args.ts";
export {
  type CodecSetting,
  type Config,
  DEFAULTS,
  type Defaults,
  EDITABLE_SETTINGS,
  type EditableSetting,
  type PageWords,
  type Part,
  PART_SETTINGS,
  PARTS,
  type SettingKey,
  SETTINGS,
  type SourceKind,
} from "./settings_schema.ts";
