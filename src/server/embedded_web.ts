/**
 * The control page's files (`web/`) built into the program, by name (`index.html`, ...), or
 * null to read them from `web/` beside the code (Deno, and `deno compile` with
 * `--include web`). `scripts/bundle.ts` replaces this module in the Node bundle with one that
 * holds the files as strings: `node videorecorder.mjs` runs from one file, with no `web/`.
 *
 * @module
 */
export const EMBEDDED_WEB: Readonly<Record<string, string>> | null = null;
