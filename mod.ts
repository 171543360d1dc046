/**
 * videorecorder: a dashcam for a Raspberry Pi. The Deno entry point: runs {@linkcode main}
 * (`src/main.ts`, shared with the Node entry `src/node_main.ts`) on Deno's runtime.
 *
 * @module
 */
import { main } from "./src/main.ts";

export { main };

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
