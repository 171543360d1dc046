/**
 * The runtime checks on Node, bundled by scripts/bundle.ts into dist/runtime-selfcheck.mjs:
 *
 * ```sh
 * node dist/runtime-selfcheck.mjs
 * ```
 *
 * Prints a line per check on stderr, then one JSON line on stdout: the Node it ran on and the
 * failures. Exits 1 when a check failed. Its last timer is unref'd: the process must still exit
 * at once, which proves `unrefTimer`.
 *
 * @module
 */

import process from "node:process";
import { nodeRuntime } from "../../src/runtime/node.ts";
import { runChecks } from "./_runtime_checks.ts";

const started = performance.now();
const failures = await runChecks(nodeRuntime, (line) => console.error(`selfcheck: ${line}`));
const variables = (process.config as { variables: Record<string, unknown> }).variables;
console.log(JSON.stringify({
  runtime: nodeRuntime.name,
  version: process.version,
  arch: process.arch,
  armVersion: variables.arm_version ?? null,
  execPath: nodeRuntime.execPath,
  ms: Math.round(performance.now() - started),
  failures,
}));
// Would keep the process alive for an hour were unrefTimer to do nothing.
nodeRuntime.unrefTimer(setTimeout(() => {
  console.error("selfcheck: the unref'd timer kept the process alive");
  process.exit(3);
}, 3_600_000));
process.exitCode = failures.length === 0 ? 0 : 1;
