/**
 * The Node.js entry point (Node >= 18.19: the Pi Zero's ARMv6 and every 32-bit Raspberry Pi
 * OS, where Deno does not run). `deno task bundle` makes it, with everything it imports and
 * the control page, into `dist/videorecorder.mjs`, which `node videorecorder.mjs` runs with no
 * `node_modules`. It chooses Node's runtime before anything starts, then runs the same
 * {@linkcode main} as `mod.ts`, serving with `node:http` instead of the relay in front of
 * `Deno.serve`.
 *
 * @module
 */
import process from "node:process";
import { setRuntime } from "./runtime/current.ts";
import { nodeRuntime } from "./runtime/node.ts";
import { listenNode } from "./server/listen_node.ts";
import { main } from "./main.ts";

setRuntime(nodeRuntime);
process.exitCode = await main(process.argv.slice(2), { listen: listenNode });
// Exit now: a child's pipe or a timer left over must not hold the process after main.
process.exit();
