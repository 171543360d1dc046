/**
 * What a row of the settings schema says about values: how they are worded, checked and read
 * from a flag's text. Pure.
 *
 * @module
 */

import type { NumberRow, SettingRow } from "./settings_schema.ts";

/** "16 to 7680", or "above 0 and at most 120". */
export function rangeText(row: NumberRow): string {
  return row.aboveMin ? `above ${row.min} and at most ${row.max}` : `${row.min} to ${row.max}`;
}

/** "auto, mjpeg or h264". */
export function choicesText(choices: readonly string[]): string {
  return choices.length < 2
    ? choices.join("")
    : `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
}

/** The row's help line with `{range}` and `{choices}` filled in, without its default. */
export function helpText(row: SettingRow, help: string): string {
  return help
    .replace("{range}", row.type === "number" ? rangeText(row) : "")
    .replace("{choices}", row.type === "string" ? choicesText(row.choices ?? []) : "");
}

/** What a valid value looks like, for error messages: "a whole number from 1 to 100". */
export function expectedOf(row: SettingRow): string {
  if (row.type === "boolean") return "true or false";
  if (row.expected !== undefined) return row.expected;
  if (row.type === "string") return `one of ${(row.choices ?? []).join(", ")}`;
  const { min, max } = row;
  return row.integer
    ? `a whole number from ${min} to ${max}`
    : row.aboveMin
    ? `a number greater than ${min} and at most ${max}`
    : `a number from ${min} to ${max}`;
}

/** `value` when it is valid for the row (and of its JSON type), else undefined. */
export function checkValue(row: SettingRow, value: unknown): unknown {
  if (row.type === "boolean") return typeof value === "boolean" ? value : undefined;
  if (row.type === "number") {
    if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
    if (row.integer && !Number.isInteger(value)) return undefined;
    if (row.aboveMin ? value <= row.min : value < row.min) return undefined;
    return value <= row.max ? value : undefined;
  }
  if (typeof value !== "string") return undefined;
  if (row.choices) return row.choices.includes(value) ? value : undefined;
  if (!row.valid) return value !== "" ? value : undefined;
  try {
    return row.valid(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

// Plain decimal notation only: Number() alone would also accept "", " 1", "0x10" and "Infinity".
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A flag's text as the row's JSON type; undefined when it cannot be read. */
export function fromText(row: SettingRow, text: string): unknown {
  if (row.type === "boolean") return undefined;
  if (row.type === "string") return text;
  if (row.fromText) return row.fromText(text);
  return DECIMAL.test(text) ? Number(text) : undefined;
}

/** Sets `source` to "command" when a layer gives a command but no source. */
export function impliedSource(settings: Record<string, unknown>): void {
  if (settings.command !== undefined && settings.source === undefined) {
    settings.source = "command";
  }
}
