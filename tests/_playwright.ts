/**
 * playwright-core for the browser tests. Imported here, not listed in deno.json "imports":
 * `deno task` installs every package listed there, so the recorder's first start downloaded
 * 13 MB of test tooling.
 *
 * @module
 */
export * from "npm:playwright-core@1.65.1";
