/**
 * Which Web stream wrapping of a child's pipes costs Node less CPU: src/runtime/node.ts's own
 * (`nodeRuntime.spawn`) or Node's `Readable.toWeb`/`Writable.toWeb`. Runs on Node, bundled:
 *
 * ```sh
 * deno run -A scripts/bundle.ts scripts/bench_node_pipes.ts dist/bench-node-pipes.mjs
 * node dist/bench-node-pipes.mjs [--mb 50] [--rate 10] [--rounds 3]
 * ```
 *
 * Read: a child prints `--mb` MiB at `--rate` MiB/s (100 ms worth every 100 ms... in 64 KiB
 * writes) and this process reads it through the Web stream. Write: this process writes the
 * same to `cat >/dev/null` at the same rate through the Web stream. Reports this process's
 * CPU (user + system) per MiB for each, alternating the two wrappings for `--rounds` rounds.
 *
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";
import { Readable, Writable } from "node:stream";
import { parseArgs } from "node:util";
import { nodeRuntime } from "../src/runtime/node.ts";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "50" },
    rate: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
  },
});
const MB = Number(values.mb);
const RATE = Number(values.rate);
const ROUNDS = Number(values.rounds);
const MIB = 1024 * 1024;

/** A child printing MB MiB at RATE MiB/s in 64 KiB writes. */
const PRINTER = `
const chunk = Buffer.alloc(65536, 1);
const perTick = Math.round(${RATE} * 1048576 / 10 / 65536);
let left = ${MB} * 16;
const tick = () => {
  for (let i = 0; i < perTick && left > 0; i++, left--) process.stdout.write(chunk);
  if (left > 0) setTimeout(tick, 100); else process.stdout.end();
};
tick();`;

type Reader = () => Promise<ReadableStream<Uint8Array>>;
type Writer = () => Promise<{ stdin: WritableStream<Uint8Array>; done: Promise<unknown> }>;

const readers: Record<string, Reader> = {
  "nodeRuntime (by hand)": async () =>
    (await nodeRuntime.spawn(process.execPath, { args: ["-e", PRINTER], stdout: "piped" }))
      .stdout,
  "Readable.toWeb": () => {
    const child = spawn(process.execPath, ["-e", PRINTER], { stdio: ["ignore", "pipe", "ignore"] });
    return Promise.resolve(Readable.toWeb(child.stdout!) as ReadableStream<Uint8Array>);
  },
};

const writers: Record<string, Writer> = {
  "nodeRuntime (by hand)": async () => {
    const child = await nodeRuntime.spawn("sh", {
      args: ["-c", "cat >/dev/null"],
      stdin: "piped",
    });
    return { stdin: child.stdin, done: child.status };
  },
  "Writable.toWeb": () => {
    const child = spawn("sh", ["-c", "cat >/dev/null"], { stdio: ["pipe", "ignore", "ignore"] });
    const done = new Promise((resolve) => child.once("exit", resolve));
    return Promise.resolve({
      stdin: Writable.toWeb(child.stdin!) as WritableStream<Uint8Array>,
      done,
    });
  },
};

async function measureRead(open: Reader): Promise<number> {
  const stream = await open();
  const before = process.cpuUsage();
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.length;
  const used = process.cpuUsage(before);
  if (bytes !== MB * MIB) throw new Error(`Read ${bytes} bytes, expected ${MB * MIB}`);
  return (used.user + used.system) / 1000 / MB;
}

async function measureWrite(open: Writer): Promise<number> {
  const { stdin, done } = await open();
  const writer = stdin.getWriter();
  const chunk = new Uint8Array(65536).fill(1);
  const perTick = Math.round(RATE * MIB / 10 / chunk.length);
  const before = process.cpuUsage();
  let left = MB * 16;
  while (left > 0) {
    const tickStart = performance.now();
    for (let i = 0; i < perTick && left > 0; i++, left--) await writer.write(chunk);
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, 100 - (performance.now() - tickStart)))
    );
  }
  await writer.close();
  await done;
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / MB;
}

const results: Record<string, { read: number[]; write: number[] }> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const name of Object.keys(readers)) {
    const result = results[name] ??= { read: [], write: [] };
    result.read.push(await measureRead(readers[name]));
  }
  for (const [name, open] of Object.entries(writers)) {
    const key = name.startsWith("nodeRuntime") ? name : "Readable.toWeb";
    results[key].write.push(await measureWrite(open));
  }
}
const show = (values: number[]) =>
  values.map((value) => value.toFixed(2)).join(", ") + ` (median ${median(values).toFixed(2)})`;
console.log(
  `Node ${process.version} ${process.arch}: ${MB} MiB at ${RATE} MiB/s, CPU ms per MiB of this process`,
);
for (const [name, { read, write }] of Object.entries(results)) {
  const label = name === "Readable.toWeb" ? "Readable.toWeb / Writable.toWeb" : name;
  console.log(`  ${label}: read ${show(read)}; write ${show(write)}`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
