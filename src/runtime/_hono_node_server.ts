/**
 * `@hono/node-server` for the Node runtime only. Imported here, not listed in deno.json
 * "imports": `deno task` installs every package listed there, so the recorder on Deno would
 * download what it never loads. 1.19.x: 2.x needs Node 20, Raspberry Pi OS Bookworm has 18.
 *
 * @module
 */
export { createAdaptorServer } from "npm:@hono/node-server@~1.19";
