/**
 * The command line: flags derived from the settings schema, parsed with `node:util`'s
 * `parseArgs` and validated. Pure: the `--config` file is read by `loadConfig`.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError } from "./config_error.ts";
import { checkValue, expectedOf, fromText, impliedSource } from "./setting_rules.ts";
import { type Config, flagOf, ROWS, SETTING_KEYS, type SettingKey } from "./settings_schema.ts";

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

type Options = NonNullable<ParseArgsConfig["options"]>;

/** A flag per setting (text for every value; switches are booleans), then `-c` and `-h`. */
const PARSE_OPTIONS: Options = {
  ...Object.fromEntries(SETTING_KEYS.map((key) => {
    const row = ROWS[key];
    const type = row.type === "boolean" ? "boolean" : "string";
    return [flagOf(key), row.short ? { type, short: row.short } : { type }];
  })),
  config: { type: "string", short: "c" },
  help: { type: "boolean", short: "h" },
};

/**
 * `--no-record`, `--no-auth`: each switch's negation, and a string's that has an off value
 * (`--no-overlay`), declared for parseArgs.
 */
const NEGATED_OPTIONS: Options = Object.fromEntries(
  SETTING_KEYS.filter((key) => {
    const row = ROWS[key];
    return row.type === "boolean" || (row.type === "string" && row.off !== undefined);
  }).map((key) => [`no-${flagOf(key)}`, { type: "boolean" }]),
);

/** The setting of a flag name (without dashes), if any. */
function keyOf(flag: string): SettingKey | undefined {
  return SETTING_KEYS.find((key) => flagOf(key) === flag);
}

/**
 * Parses and validates command-line arguments. Reads no files: the `--config` file is
 * read by `loadConfig`.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "./parse_args.ts";
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
    values = { ...parsed } as typeof values;
    for (const token of tokens) {
      if (token.kind !== "option") continue;
      if (token.name in NEGATED_OPTIONS) {
        delete values[token.name];
        const flag = token.name.slice("no-".length);
        const row = ROWS[keyOf(flag)!];
        values[flag] = row.type === "string" ? row.off : false;
      } else if (typeof parsed[token.name] === "boolean") {
        values[token.name] = true;
      } else if (`no-${token.name}` in NEGATED_OPTIONS) {
        values[token.name] = token.value; // `--no-overlay --overlay X`: the last one wins
      }
    }
  } catch (error) {
    throw toConfigError(error);
  }

  const flags: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const row = ROWS[key];
    const given = values[flagOf(key)];
    if (row.type === "boolean") {
      if (typeof given === "boolean") flags[key] = given;
      continue;
    }
    if (typeof given !== "string") continue;
    const value = checkValue(row, fromText(row, given));
    if (value === undefined) {
      throw new ConfigError(
        `Invalid --${flagOf(key)}: expected ${expectedOf(row)}, got ${JSON.stringify(given)}`,
      );
    }
    flags[key] = value;
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
    const expected = key ? expectedOf(ROWS[key]) : "a value";
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
