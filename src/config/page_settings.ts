/**
 * The settings as the control page sees them: the schema it builds its form from, and the
 * validation of what it sends, worded with its labels.
 *
 * @module
 */

import { ConfigError, type SettingError } from "./config_error.ts";
import { checkValue, choicesText, expectedOf, helpText } from "./setting_rules.ts";
import {
  type Config,
  DEFAULTS,
  EDITABLE_SETTINGS,
  type EditableSetting,
  type PageWords,
  ROWS,
  SETTING_KEYS,
  type SettingKey,
  type SettingRow,
} from "./settings_schema.ts";

/** How the page is told about one editable setting (JSON Schema's words where it has them). */
export interface PageSettingSchema {
  type: "integer" | "number" | "string";
  /** The label of its field. */
  label: string;
  /** The `--help` line, without the default. */
  help: string;
  default: unknown;
  unit?: string;
  minimum?: number;
  /** Set instead of `minimum` when the bound itself is refused (frames per second above 0). */
  exclusiveMinimum?: number;
  maximum?: number;
  /** The choices, in order. */
  enum?: readonly string[];
  /** The choices' labels, by value, when they are not the values themselves. */
  enumLabels?: Readonly<Record<string, string>>;
  /** The unit beside the label: "px". */
  symbol?: string;
  /** The fieldset the field goes in. */
  group: string;
  /** The short line under the field, if any. */
  hint?: string;
  /** `"text"` for a number typed as text ("6M"). */
  input?: "text";
  /** Suggestions while typing: `"timeZones"`, the browser's. */
  suggest?: "timeZones";
}

/** The fieldset of a field whose row names none. */
const OTHER_GROUP = "More settings";

/** The words of an editable row: its `page` entry. */
function wordsOf(key: EditableSetting): PageWords {
  return (ROWS[key] as SettingRow & { page: PageWords }).page;
}

/** The schema of every editable setting, in form order, for `GET /api/settings`. */
export function pageSchema(): Record<EditableSetting, PageSettingSchema> {
  return Object.fromEntries(EDITABLE_SETTINGS.map((key) => {
    const row = ROWS[key];
    const words = wordsOf(key);
    const schema: PageSettingSchema = {
      type: row.type === "number" && row.integer ? "integer" : row.type as "number" | "string",
      label: words.label,
      help: row.type === "boolean" ? row.noHelp : helpText(row, row.help),
      default: DEFAULTS[key],
      group: words.group ?? OTHER_GROUP,
    };
    if (words.unit !== undefined) schema.unit = words.unit;
    if (words.symbol !== undefined) schema.symbol = words.symbol;
    if (words.hint !== undefined) schema.hint = helpText(row, words.hint);
    if (words.choiceLabels !== undefined) schema.enumLabels = words.choiceLabels;
    if (words.text) schema.input = "text";
    if (words.suggest !== undefined) schema.suggest = words.suggest;
    if (row.type === "number") {
      if (row.aboveMin) schema.exclusiveMinimum = row.min;
      else schema.minimum = row.min;
      schema.maximum = row.max;
    }
    if (row.type === "string" && row.choices) schema.enum = row.choices;
    return [key, schema];
  })) as Record<EditableSetting, PageSettingSchema>;
}

/** "Frame rate must be more than 0 and at most 120 frames per second, got 0". */
function pageError(key: EditableSetting, value: unknown): string {
  const { label, unit, must } = wordsOf(key);
  const row = ROWS[key];
  let words = must;
  if (words === undefined && row.type === "number") {
    const { min, max } = row;
    const after = unit ? ` ${unit}` : "";
    words = row.integer
      ? `a whole number${unit ? ` of ${unit}` : ""} from ${min} to ${max}`
      : row.aboveMin
      ? `more than ${min} and at most ${max}${after}`
      : `from ${min} to ${max}${after}`;
  }
  if (words === undefined && row.type === "string" && row.choices) {
    words = choicesText(row.choices);
  }
  words ??= expectedOf(row);
  return `${label} must be ${words}, got ${value === "" ? "nothing" : JSON.stringify(value)}`;
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
      const error = SETTING_KEYS.includes(key as SettingKey)
        ? `Cannot change ${JSON.stringify(key)} from the page: set it in the config file or ` +
          "on the command line"
        : `Unknown setting ${JSON.stringify(key)}: expected one of ${EDITABLE_SETTINGS.join(", ")}`;
      errors.push({ field: key, error });
      continue;
    }
    const row = ROWS[key as EditableSetting];
    // A bitrate may come as typed, "6M", as its hint says; other numbers come as numbers.
    const typed = row.type === "number" && row.fromText && typeof value === "string"
      ? row.fromText(value)
      : value;
    const checked = checkValue(row, typed);
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
