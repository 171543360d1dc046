/**
 * Type-checks the control page (`web/`, with the DOM library), failing on its own errors:
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-env scripts/check_web.ts
 * ```
 *
 * The page types what the server sends with the server's declarations
 * (`src/server/api_documents.ts`), so `deno check web` takes in the `src/` modules those
 * import, and checks them with the DOM library too. Some server code is right under Deno's
 * types and wrong under the DOM's (`stream.pipeThrough(new TextDecoderStream())` on a
 * `ReadableStream<Uint8Array>`: the DOM's decoder takes any `BufferSource`). `src/` is
 * checked under its own library by `deno check src`; here its diagnostics are counted and
 * left out, and only those located in `web/` fail the check.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("..", import.meta.url));
const WEB = join(ROOT, "web");

/** One diagnostic of `deno check`: its text and the file it is located in, if any. */
export interface Diagnostic {
  text: string;
  file: string | null;
}

/**
 * Splits `deno check`'s output (without colours) into its diagnostics.
 *
 * @example
 * ```ts
 * const [first] = parseDiagnostics(
 *   "TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.\n" +
 *     "    at file:///app/web/js/a.js:3:7\n",
 * );
 * first.file; // "/app/web/js/a.js"
 * ```
 */
export function parseDiagnostics(output: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  let current: string[] | null = null;
  const flush = () => {
    if (!current) return;
    const text = current.join("\n").trimEnd();
    const at = /^\s+at (file:\/\/\S+?):\d+:\d+$/m.exec(text);
    diagnostics.push({ text, file: at ? fromFileUrl(at[1]) : null });
    current = null;
  };
  for (const line of output.split("\n")) {
    if (/^TS\d+ \[ERROR\]/.test(line)) {
      flush();
      current = [line];
    } else if (/^(Found \d+ errors?\.|error: )/.test(line)) {
      flush();
    } else {
      current?.push(line);
    }
  }
  flush();
  return diagnostics;
}

if (import.meta.main) {
  const { code, stderr, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["check", "web"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  const output = new TextDecoder().decode(stderr) + new TextDecoder().decode(stdout);
  const diagnostics = parseDiagnostics(output);
  const own = diagnostics.filter(({ file }) => file === null || file.startsWith(WEB + "/"));
  if (code !== 0 && diagnostics.length === 0) {
    // Not a type error (a module not found, a syntax error deno reports otherwise): say it.
    console.error(output);
    Deno.exit(code);
  }
  if (own.length > 0) {
    console.error(own.map(({ text }) => text).join("\n\n"));
    console.error(`\ncheck_web: ${own.length} error(s) in web/`);
    Deno.exit(1);
  }
  const others = diagnostics.length;
  console.error(
    `check_web: web/ type-checks` +
      (others ? ` (${others} diagnostic(s) in src/ under the DOM library left out)` : ""),
  );
}
