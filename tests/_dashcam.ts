/** A whole recorder for tests: test pattern camera at 320x240, real ffmpeg, real files. */
import { join } from "node:path";
import { loadConfig, parseCommandLine } from "../src/config/mod.ts";
import { Dashcam, type DashcamOptions } from "../src/dashcam.ts";
import { createApp } from "../src/server/app.ts";

type App = ReturnType<typeof createApp>;

/** How a test's recorder differs from the small default one. */
export interface RecorderFlagOptions {
  /** `--source`; default `"test"`. */
  source?: string;
  /** `--fps`; default 15. */
  fps?: number;
  /** `--segment` in seconds; default 1. */
  segment?: number;
}

/** The flags of a small, quick recorder writing to `output`, for `parseCommandLine` or a child. */
export function recorderFlags(output: string, options: RecorderFlagOptions = {}): string[] {
  const { source = "test", fps = 15, segment = 1 } = options;
  return [
    "--source",
    source,
    "--width",
    "320",
    "--height",
    "240",
    "--fps",
    String(fps),
    "--segment",
    String(segment),
    "-f",
    output,
  ];
}

/** Options of {@linkcode runningDashcam}. */
export interface RunningDashcamOptions extends RecorderFlagOptions {
  /** More flags, after the defaults. */
  args?: string[];
  /** The folder for clips (`clips` in it) and settings; default a new temp dir. */
  dir?: string;
  /** Prefix of the temp dir made when `dir` is not given. */
  prefix?: string;
  /** Leave `dir` in place on dispose (someone else removes it). */
  keepDir?: boolean;
  /** For `Dashcam.create`; `backoff` defaults to a fast 200 ms to 1 s. */
  dashcam?: DashcamOptions;
}

/** A started recorder; disposing stops it and removes its folder. */
export interface RunningDashcam extends AsyncDisposable {
  dashcam: Dashcam;
  /** The folder holding `output` and the settings file. */
  dir: string;
  /** The clips folder. */
  output: string;
  /** The HTTP app on this recorder, made on first use. */
  readonly app: App;
}

/** Creates and starts a {@linkcode Dashcam} on the test pattern. */
export async function runningDashcam(options: RunningDashcamOptions = {}): Promise<RunningDashcam> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: options.prefix ?? "dashcam_" });
  const output = join(dir, "clips");
  const config = await loadConfig(
    parseCommandLine([...recorderFlags(output, options), ...options.args ?? []]),
    { env: {} },
  );
  const dashcam = await Dashcam.create(config, {
    backoff: { initialMs: 200, maxMs: 1_000 },
    ...options.dashcam,
  });
  await dashcam.start();
  let app: App | undefined;
  return {
    dashcam,
    dir,
    output,
    get app() {
      app ??= createApp({
        dashcam,
        startedAt: Date.now(),
        credentials: null,
        configFile: join(dir, "config.json"),
      });
      return app;
    },
    async [Symbol.asyncDispose]() {
      await dashcam.stop();
      if (!options.keepDir) await Deno.remove(dir, { recursive: true });
    },
  };
}
