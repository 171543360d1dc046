/**
 * The smoke test of a built or emulated videorecorder: start it with the test source, fetch
 * the status, the page, a snapshot and a bit of the live stream, wait for one closed clip,
 * stop it with SIGTERM and check that it exits 0 and that its clips play (ffprobe).
 *
 * Used by tests/deploy/smoke_test.ts (host Deno, the binary's permission flags) and by
 * scripts/test-aarch64.sh (aarch64 Deno under qemu):
 *
 * ```sh
 * deno run -A [--unstable-net] tests/deploy/_smoke.ts [--timeout SECONDS] [--notify] -- COMMAND...
 * ```
 *
 * COMMAND is whatever starts the recorder (`deno run ... mod.ts`, or a compiled binary); the
 * smoke test appends the recorder's flags.
 *
 * @module
 */

import { join } from "node:path";
import { probeClip } from "../_helpers.ts";
import { type RunningRecorder, startRecorder } from "../_recorder_process.ts";
import { NotifyListener } from "../systemd/_notify_listener.ts";

/** Options for {@linkcode runSmoke}. */
export interface SmokeOptions {
  /** Limit for each wait (start-up, first clip, exit). Default 60 s; qemu needs more. */
  timeoutMs?: number;
  /** Extra environment for the recorder. */
  env?: Record<string, string>;
  /** Progress lines go here. Default: nowhere. */
  log?: (line: string) => void;
  /**
   * Run as systemd would with `Type=notify` and `WatchdogSec=2`: a notify socket in
   * `$NOTIFY_SOCKET`, and expect `READY=1` before the first clip and `WATCHDOG=1` pings.
   * Needs `--unstable-net` in the smoke test's own process. Default false.
   */
  notify?: boolean;
}

/** What the smoke test saw. */
export interface SmokeReport {
  /** Milliseconds from spawn until the server printed its URL. */
  startMs: number;
  /** Milliseconds from spawn until the first clip was closed. */
  firstClipMs: number;
  /** Milliseconds from SIGTERM until exit. */
  stopMs: number;
  /** The recorder's resident memory just before SIGTERM, in KiB (`VmRSS`; under qemu, qemu's). */
  rssKiB: number | null;
  /** The closed clips and what ffprobe found in them. */
  clips: { file: string; frames: number; duration: number }[];
  /** The recorder's stderr. */
  stderr: string;
  /** With `notify`: the messages received on the notify socket. */
  notifications: string[];
}

/** A failed step; carries the recorder's stderr. */
class SmokeError extends Error {}

const PASSWORD = "smoke-test";
const USER = "smoke";

/**
 * Runs the smoke test against `command` (the recorder's flags are appended).
 *
 * @throws {Error} Naming the step that failed, with the recorder's stderr.
 */
export async function runSmoke(
  command: string[],
  options: SmokeOptions = {},
): Promise<SmokeReport> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const log = options.log ?? (() => {});
  const dir = await Deno.makeTempDir({ prefix: "smoke_" });
  const output = join(dir, "clips");
  const args = [
    ...["--source", "test", "--codec", "mjpeg", "--width", "320", "--height", "240"],
    ...["--fps", "5", "--segment", "2", "--output", output, "--user", USER],
  ];
  const listener = options.notify ? await NotifyListener.open() : undefined;
  const notifyEnv: Record<string, string> = listener
    ? { NOTIFY_SOCKET: listener.address, WATCHDOG_USEC: "2000000" }
    : {};
  const notifications: string[] = [];
  const started = performance.now();
  let recorder: RunningRecorder | undefined;
  const fail = (step: string, error?: unknown): never => {
    if (error instanceof SmokeError) throw error;
    const reason = error instanceof Error ? `: ${error.message}` : "";
    throw new SmokeError(
      `Smoke test failed at ${step}${reason}\n--- recorder stderr ---\n${recorder?.log ?? ""}`,
    );
  };

  try {
    recorder = await startRecorder(args, {
      command,
      // All addresses, as the service's default config has it (it lists them at start-up).
      host: "0.0.0.0",
      timeoutMs,
      env: {
        // Keep the recorder away from the user's ~/.config/videorecorder.
        XDG_CONFIG_HOME: join(dir, "config"),
        VIDEORECORDER_PASSWORD: PASSWORD,
        ...notifyEnv,
        ...options.env,
      },
    }).catch((error) => fail("start-up (no 'Open http://...' line)", error));
    const url = `http://127.0.0.1:${recorder.port}`;
    const startMs = Math.round(performance.now() - started);
    log(`started in ${startMs} ms: ${url}`);

    const headers = { authorization: `Basic ${btoa(`${USER}:${PASSWORD}`)}` };
    const get = (path: string) => fetch(`${url}${path}`, { headers });

    const status = await (await get("/api/status")).json().catch((e) => fail("/api/status", e));
    if (typeof status?.camera !== "object") fail("/api/status: no camera in the document");
    log(`/api/status: camera ${status.camera.state}`);

    const page = await get("/");
    const html = await page.text();
    if (page.status !== 200 || !/<html/i.test(html)) fail(`/ (status ${page.status})`);
    log(`/: ${html.length} bytes of HTML`);

    const jpeg = await poll(timeoutMs, async () => {
      const response = await get("/snapshot.jpg");
      const bytes = new Uint8Array(await response.arrayBuffer());
      return response.status === 200 && bytes[0] === 0xff && bytes[1] === 0xd8 ? bytes : undefined;
    }).catch((error) => fail("/snapshot.jpg", error));
    log(`/snapshot.jpg: ${jpeg.length} bytes`);

    const stream = await get("/stream.mjpg");
    const type = stream.headers.get("content-type") ?? "";
    if (!type.startsWith("multipart/x-mixed-replace")) fail(`/stream.mjpg: content-type ${type}`);
    const streamed = await readSome(stream.body!, 2, timeoutMs)
      .catch((error) => fail("/stream.mjpg", error));
    log(`/stream.mjpg: ${streamed} bytes with 2 frames`);

    await poll(timeoutMs, async () => {
      const status = await (await get("/api/status")).json();
      return status?.recorder?.segments >= 1 ? true : undefined;
    }).catch((error) => fail("the first clip", error));
    const firstClipMs = Math.round(performance.now() - started);
    log(`first clip closed after ${firstClipMs} ms`);

    if (listener) {
      // WATCHDOG_USEC=2 s: a ping every second.
      await poll(timeoutMs, async () => {
        notifications.push(...await listener.collect(100));
        const lines = notifications.join("").split("\n");
        return lines.includes("READY=1") && lines.includes("WATCHDOG=1") ? true : undefined;
      }).catch((error) => fail(`the notify socket (got ${JSON.stringify(notifications)})`, error));
      log(`notify socket: ${JSON.stringify(notifications)}`);
    }

    const rssKiB = residentKiB(recorder.pid);
    const stopping = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([
      recorder.stop(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).catch((error) => fail("SIGTERM", error)).finally(() => clearTimeout(timer));
    const stopMs = Math.round(performance.now() - stopping);
    const stderr = recorder.log;
    if (code !== 0) fail(`SIGTERM: exit code ${code}`);
    log(`exited 0 ${stopMs} ms after SIGTERM`);

    const clips = [];
    for await (const entry of Deno.readDir(output)) {
      if (!entry.name.endsWith(".mkv")) continue;
      if (entry.name.includes(".recording.")) fail(`SIGTERM: ${entry.name} was left open`);
      const probe = await probeClip(join(output, entry.name));
      if (!(probe.frames > 0 && probe.duration > 0)) fail(`ffprobe: ${entry.name} does not play`);
      clips.push({ file: entry.name, ...probe });
    }
    if (clips.length === 0) fail("the clips: none in the output directory");
    clips.sort((a, b) => a.file.localeCompare(b.file));
    log(
      `${clips.length} clips play: ${clips.map((c) => `${c.file} ${c.frames} frames`).join(", ")}`,
    );
    if (listener) notifications.push(...await listener.collect(50));
    return { startMs, firstClipMs, stopMs, rssKiB, clips, stderr, notifications };
  } finally {
    await recorder?.kill("SIGKILL");
    await listener?.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** `VmRSS` of `pid` in KiB, from /proc; null when it cannot be read. */
function residentKiB(pid: number): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kib === undefined ? null : Number(kib);
  } catch {
    return null;
  }
}

/** Polls `probe` every 100 ms until it returns a value. */
async function poll<T>(timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof SmokeError) throw error;
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms` +
      (lastError instanceof Error ? ` (last error: ${lastError.message})` : ""),
  );
}

/** Reads the multipart stream until `frames` JPEG starts were seen; returns the bytes read. */
async function readSome(body: ReadableStream<Uint8Array>, frames: number, timeoutMs: number) {
  const reader = body.getReader();
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  let bytes = 0;
  let seen = 0;
  let previous = 0;
  try {
    while (seen < frames) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended after ${seen} frames`);
      for (const byte of value) {
        if (previous === 0xff && byte === 0xd8) seen++;
        previous = byte;
      }
      bytes += value.length;
    }
    return bytes;
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
}

if (import.meta.main) {
  const separator = Deno.args.indexOf("--");
  const flags = separator === -1 ? Deno.args : Deno.args.slice(0, separator);
  const command = separator === -1 ? [] : Deno.args.slice(separator + 1);
  const timeoutIndex = flags.indexOf("--timeout");
  const notify = flags.includes("--notify");
  const timeoutMs = timeoutIndex === -1 ? 60_000 : Number(flags[timeoutIndex + 1]) * 1000;
  if (command.length === 0 || !(timeoutMs > 0)) {
    console.error(
      "Usage: deno run -A tests/deploy/_smoke.ts [--timeout SECONDS] [--notify] -- COMMAND...",
    );
    Deno.exit(2);
  }
  const started = performance.now();
  try {
    const report = await runSmoke(command, {
      timeoutMs,
      notify,
      log: (line) => console.error(`smoke: ${line}`),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.error(
      `smoke: ok in ${seconds} s (start ${report.startMs} ms, first clip ${report.firstClipMs} ms, ` +
        `stop ${report.stopMs} ms, RSS ${report.rssKiB ?? "?"} KiB)`,
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    Deno.exit(1);
  }
}
