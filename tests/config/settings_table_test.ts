import assert from "node:assert/strict";
import { BEGIN, END, settingsTable, withSettingsTable } from "../../scripts/settings_table.ts";
import { SETTINGS } from "../../src/config/mod.ts";

const README = new URL("../../README.md", import.meta.url);

/** The README's table rows between the markers, as cells. */
function readmeRows(readme: string): string[][] {
  const table = readme.slice(readme.indexOf(BEGIN) + BEGIN.length, readme.indexOf(END));
  return table.trim().split("\n").slice(2).map((line) =>
    line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim())
  );
}

Deno.test("README's settings table is the one scripts/settings_table.ts writes", async () => {
  const readme = await Deno.readTextFile(README);
  assert.ok(readme.includes(BEGIN) && readme.includes(END), "the README has both markers");
  assert.equal(
    readme,
    withSettingsTable(readme),
    "the table is stale: run deno run -A scripts/settings_table.ts",
  );
});

Deno.test("README's settings table lists exactly the schema's keys and flags", async () => {
  const rows = readmeRows(await Deno.readTextFile(README));
  const keys = Object.keys(SETTINGS);
  assert.deepEqual(rows.map((cells) => cells[1]), keys.map((key) => `\`${key}\``));
  for (const [i, key] of keys.entries()) {
    const flag = key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
    assert.match(rows[i][0], new RegExp(`\`--(no-)?${flag}[ \`]`), `${key}'s row names its flag`);
  }
});

Deno.test("settingsTable escapes the pipes of a cell and lines up its columns", () => {
  const lines = settingsTable().split("\n");
  assert.equal(new Set(lines.map((line) => line.length)).size, 1, "every line is as long");
  assert.match(lines[1], /^\| -+ \| -+ \| -+ \| -+ \| -+ \|$/);
  assert.equal(lines.length, Object.keys(SETTINGS).length + 2);
});
