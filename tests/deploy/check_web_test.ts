/**
 * scripts/check_web.ts: real `deno check` output, split into diagnostics by file, so that an
 * error in web/ fails the page's check and one in a src/ module it pulls in does not.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseDiagnostics } from "../../scripts/check_web.ts";

Deno.test("parseDiagnostics finds each error of deno check and the file it is in", async () => {
  const dir = await Deno.makeTempDir({ prefix: "check_web_" });
  try {
    await Deno.mkdir(join(dir, "web"));
    await Deno.mkdir(join(dir, "src"));
    await Deno.writeTextFile(join(dir, "deno.json"), "{}");
    await Deno.writeTextFile(
      join(dir, "src", "doc.ts"),
      'export interface Doc { n: number }\nexport const wrong: number = "x";\n',
    );
    await Deno.writeTextFile(
      join(dir, "web", "page.js"),
      '// @ts-check\n/** @typedef {import("../src/doc.ts").Doc} Doc */\n' +
        '/** @type {Doc} */\nexport const doc = { n: "one" };\n',
    );
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["check", "web"],
      cwd: dir,
      env: { NO_COLOR: "1" },
    }).output();
    assert.notEqual(code, 0);
    const diagnostics = parseDiagnostics(new TextDecoder().decode(stderr));
    const files = diagnostics.map(({ file }) => file).sort();
    assert.deepEqual(files, [join(dir, "src", "doc.ts"), join(dir, "web", "page.js")]);
    for (const { text } of diagnostics) assert.match(text, /^TS2322 \[ERROR\]: Type 'string'/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseDiagnostics reads nothing from a clean check", () => {
  assert.deepEqual(parseDiagnostics("Check web/app.js\n"), []);
});
