/**
 * The `--help` text, laid out from the settings schema.
 *
 * @module
 */

import { helpText } from "./setting_rules.ts";
import { flagOf, ROWS, SETTING_KEYS } from "./settings_schema.ts";

/** The options that are no settings, shown after them. */
const OTHER_OPTIONS: readonly (readonly [flag: string, text: string])[] = [
  [
    "-c, --config FILE",
    'JSON file with any of the settings above as keys, e.g.\n{"fps": 15, "output": "/media/pi/REMOVABLE/output"}\nflags override the file; a relative output is resolved against the file\'s directory',
  ],
  ["-h, --help", "show this help and exit"],
];

/** Each setting's flag (two for a switch) with its value's name, and its description. */
function settingOptions(): (readonly [flag: string, text: string])[] {
  return SETTING_KEYS.flatMap((key) => {
    const row = ROWS[key];
    const flag = `--${flagOf(key)}`;
    if (row.type === "boolean") {
      const on = row.help === undefined ? [] : [[flag, row.help] as const];
      return [...on, [`--no-${flagOf(key)}`, row.noHelp] as const];
    }
    const shown = row.defaultText ?? (row.default === "" ? "none" : row.default);
    const text = helpText(row, row.help) + (shown === undefined ? "" : ` (default: ${shown})`);
    return [[`${row.short ? `-${row.short}, ` : ""}${flag} ${row.arg ?? "VALUE"}`, text] as const];
  });
}

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
  const all = [...settingOptions(), ...OTHER_OPTIONS];
  const width = Math.max(...all.map(([flag]) => flag.length)) + 2;
  const options = all.flatMap(([flag, text]) =>
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
