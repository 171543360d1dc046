/**
 * axe-core for the accessibility checks in the browser tests; its `source` is injected into
 * the page. Imported here, not listed in deno.json "imports", so the recorder never loads it.
 *
 * @module
 */
export { default as axe } from "npm:axe-core@4.14.1";
