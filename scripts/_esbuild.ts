/**
 * esbuild for `scripts/bundle.ts`. Imported here, not listed in deno.json "imports": `deno task`
 * installs every package listed there, so the recorder's first start would download a bundler.
 *
 * @module
 */
export * from "npm:esbuild@~0.28.2";
