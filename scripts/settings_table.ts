/**
 * Writes the README's table of settings from the settings schema, between its two marker
 * comments: `deno run -A scripts/settings_table.ts`. `tests/config/settings_table_test.ts`
 * fails when the README's table is not the one this writes.
 *
 * @module
 */

import { helpText } from "../src/config/setting_rules.ts";
import { flagOf, ROWS, SETTING_KEYS } from "../src/config/settings_schema.ts";

/** The comment before the table. */
export const BEGIN = "<!-- settings table: written by scripts/settings_table.ts -->";
/** The comment after it. */
export const END = "<!-- end of settings table -->";

/** One Markdown row per setting: flag, file key, default, meaning, whether the page changes it. */
export function settingsTable(): string {
  const code = (text: string) => `\`${text}\``;
  const rows = SETTING_KEYS.map((key) => {
    const row = ROWS[key];
    const flag = `--${flagOf(key)}`;
    if (row.type === "boolean") {
      const flags = row.help === undefined
        ? [`--no-${flagOf(key)}`]
        : [flag, `--no-${flagOf(key)}`];
      return [
        flags.map(code).join(", "),
        code(key),
        code(String(row.default)),
        row.help ?? row.noHelp,
        "",
      ];
    }
    const shown = row.defaultText ??
      (row.default === undefined ? "" : row.default === "" ? "none" : code(String(row.default)));
    const page = row.page === undefined
      ? ""
      : row.restarts
      ? `yes (restarts ${row.restarts})`
      : "yes";
    return [
      [row.short ? `-${row.short}` : undefined, `${flag} ${row.arg ?? "VALUE"}`]
        .filter((text) => text !== undefined).map((text) => code(text!)).join(", "),
      code(key),
      shown,
      helpText(row, row.help),
      page,
    ];
  });
  const all = [["flag", "file key", "default", "meaning", "on the page"], ...rows]
    .map((cells) => cells.map((cell) => cell.replaceAll("|", "\\|")));
  const widths = all[0].map((_, i) => Math.max(...all.map((cells) => cells[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  const [head, ...body] = all;
  return [line(head), line(widths.map((width) => "-".repeat(width))), ...body.map(line)]
    .join("\n");
}

/** `readme` with the text between the markers replaced by the current table. */
export function withSettingsTable(readme: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`Cannot find ${BEGIN} … ${END} in the README`);
  return `${readme.slice(0, begin + BEGIN.length)}\n\n${settingsTable()}\n\n${readme.slice(end)}`;
}

if (import.meta.main) {
  const path = new URL("../README.md", import.meta.url);
  const readme = await Deno.readTextFile(path);
  const updated = withSettingsTable(readme);
  if (updated === readme) {
    console.log("README.md: the settings table is current");
  } else {
    await Deno.writeTextFile(path, updated);
    console.log("README.md: settings table written");
  }
}
