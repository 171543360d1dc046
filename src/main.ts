/**
 * The recorder's one `main`, for both runtimes: load the config, build the recorder (camera →
 * hub → clips) and the web server, stop them in reverse on SIGINT/SIGTERM. The entry points
 * are thin: `mod.ts` (Deno) and `src/node_main.ts` (Node.js, bundled into one file).
 *
 * @module
 */
import {
  type CommandLine,
  type Config,
  configDirectory,
  ConfigError,
  defaultConfigFile,
  HELP,
  loadConfig,
  parseCommandLine,
} from "./config/mod.ts";
import { Dashcam } from "./dashcam.ts";
import { PiHealthReader, piHealthReport } from "./health/pi_health.ts";
import { createApp } from "./server/app.ts";
import { type Credentials, resolveCredentials } from "./server/auth.ts";
import { listen, type Listening, type ListenOptions, reachableUrls } from "./server/listen.ts";
import type { MjpegStreams } from "./live/mjpeg_streams.ts";
import type { Hono } from "@hono/hono";
import { LivenessCheck } from "./systemd/liveness_check.ts";
import { SystemdNotifier } from "./systemd/systemd_notifier.ts";
import { startWatchdog } from "./systemd/watchdog.ts";
import { messageOf } from "./errors.ts";
import { stat } from "node:fs/promises";
import process from "node:process";

/** Options for {@linkcode main}: what the entry point of each runtime gives. */
export interface MainOptions {
  /**
   * Serves the app. Default {@linkcode listen} (Deno: a relay in front of `Deno.serve`); the
   * Node entry gives `listenNode` (`node:http` with its own caps and timeouts).
   */
  listen?: (app: Hono, streams: MjpegStreams, options: ListenOptions) => Promise<Listening>;
}

/** Runs the recorder until SIGINT/SIGTERM; returns the process exit code. */
export async function main(args: string[], options: MainOptions = {}): Promise<number> {
  const startedAt = Date.now();
  const env = process.env;
  const serve = options.listen ??
    ((app: Hono, streams: MjpegStreams, listenOptions: ListenOptions) =>
      Promise.resolve().then(() => listen(app, streams, listenOptions)));
  // Listened for before anything starts: a stop during start-up (systemd, Ctrl-C) must not
  // kill the process by default and leave the clip unclosed; it is handled once started.
  const stopSignal = new Promise<"SIGINT" | "SIGTERM">((resolve) => {
    for (const name of ["SIGINT", "SIGTERM"] as const) process.on(name, () => resolve(name));
  });

  let config: Config;
  let credentials: Credentials | null;
  let dashcam: Dashcam;
  try {
    const commandLine = parseCommandLine(args);
    if (commandLine.help) {
      console.log(HELP);
      return 0;
    }
    config = await loadConfig(await withDefaultConfigFile(commandLine, env));
    credentials = await resolveCredentials(config, {
      configDir: configDirectory(config.configFile, env),
    });
    dashcam = await Dashcam.create(config, { verbose: true });
  } catch (error) {
    const hint = error instanceof ConfigError ? "\nTry --help for the list of options." : "";
    console.error(`videorecorder: ${messageOf(error)}${hint}`);
    return 2;
  }
  const { source } = dashcam;
  console.error(
    `Camera: ${source.description}` + (source.reason ? ` (auto: ${source.reason})` : ""),
  );

  const piHealth = new PiHealthReader();
  let server: Listening | undefined;
  const app = createApp({
    dashcam,
    startedAt,
    credentials,
    configFile: config.configFile ?? defaultConfigFile(env),
    health: async () => piHealthReport(await piHealth.read()),
    http: () => server?.status() ?? null,
  });
  try {
    server = await serve(app, dashcam.streams, { host: config.host, port: config.port });
  } catch (error) {
    console.error(`videorecorder: ${messageOf(error)}`);
    return 1;
  }
  await dashcam.start();
  console.error(
    `Recording to ${config.output} in ${config.segment} s clips` +
      (config.record ? "" : " (paused: --no-record)"),
  );
  for (const url of reachableUrls(config.host, server.port)) console.error(`Open ${url}/`);
  printCredentials(credentials);

  // systemd (Type=notify): READY once frames arrive, WATCHDOG only while frames keep arriving
  // and clips keep being written, so a stalled camera gets the service restarted.
  const notifier = new SystemdNotifier();
  const liveness = new LivenessCheck({
    camera: { status: () => dashcam.camera.status() },
    recorder: { status: () => dashcam.recorder.status() },
  });
  const watchdog = startWatchdog(notifier, {
    ready: () => dashcam.camera.status().lastFrameAt !== null,
    healthy: () => liveness.healthy(),
    status: () => liveness.summary(),
  });

  const signal = await stopSignal;
  console.error(`${signal}: closing the current clip and stopping`);
  // A second signal while stopping means "now": systemd's stop timeout or an impatient user.
  // Not one within a second of the first: a terminal's Ctrl-C reaches `deno task` and its
  // child both, and `deno task` forwards its copy, so one Ctrl-C arrives twice.
  const stoppingAt = Date.now();
  for (const name of ["SIGINT", "SIGTERM"] as const) {
    process.on(name, () => {
      if (Date.now() - stoppingAt >= DUPLICATE_SIGNAL_MS) process.exit(1);
    });
  }
  watchdog.stop();
  await notifier.stopping("Closing the current clip");
  await dashcam.stop();
  await server.shutdown();
  notifier.close();
  return 0;
}

/** A stop signal this soon after the first is the same Ctrl-C, delivered twice. */
const DUPLICATE_SIGNAL_MS = 1000;

/** Without `--config`, the config directory's file is read when it exists. */
async function withDefaultConfigFile(
  commandLine: CommandLine,
  env: Record<string, string | undefined>,
): Promise<CommandLine> {
  if (commandLine.configFile !== undefined) return commandLine;
  const file = defaultConfigFile(env);
  try {
    await stat(file);
    return { ...commandLine, configFile: file };
  } catch {
    return commandLine;
  }
}

function printCredentials(credentials: Credentials | null): void {
  if (!credentials) {
    console.error(
      "WARNING: --no-auth: anyone who can reach this port can watch, stop the recording " +
        "and delete clips.",
    );
  } else if (credentials.generatedIn) {
    console.error(
      `Log in as "${credentials.user}" with password ${credentials.password} ` +
        `(generated now, kept in ${credentials.generatedIn}; shown only this once)`,
    );
  } else {
    console.error(`Log in as "${credentials.user}" with the configured password`);
  }
}
