/**
 * The {@linkcode Runtime} the recorder runs on, chosen once by the entry point: `mod.ts` keeps
 * the default (Deno), `src/node_main.ts` sets Node's before anything starts. A module of its
 * own rather than an option threaded through every class: the camera, recorder, storage and
 * server all spawn children, and a Deno default here must not import `node.ts` (it pulls in
 * `@hono/node-server`, which Deno would then download at the recorder's start).
 *
 * @module
 */

import { denoRuntime } from "./deno.ts";
import type { Runtime } from "./runtime.ts";

let current: Runtime = denoRuntime;

/** The runtime the entry point chose; Deno's unless {@linkcode setRuntime} was called. */
export function runtime(): Runtime {
  return current;
}

/** Chooses the runtime for the whole process; the entry point calls this before `main`. */
export function setRuntime(chosen: Runtime): void {
  current = chosen;
}
