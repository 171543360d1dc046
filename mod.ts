/**
 * videorecorder: a dashcam for a Raspberry Pi. Wiring only: load the config, build
 * camera → hub → recorder and server in dependency order, tear them down in reverse on
 * SIGINT/SIGTERM.
 *
 * @module
 */
import { Camera } from "./src/camera/camera.ts";
import { resolveSource } from "./src/camera/detect.ts";
import { H264Preview } from "./src/camera/h264_preview.ts";
import { ConfigError, HELP, loadConfig, parseCommandLine } from "./src/config.ts";
import { FrameHub } from "./src/frames/frame_hub.ts";
import { SegmentRecorder } from "./src/recorder/segment_recorder.ts";
import { createApp, type LiveView } from "./src/server/app.ts";
import { configDirectory, resolveCredentials } from "./src/server/auth.ts";
import { listen, reachableUrls } from "./src/server/listen.ts";
import { MjpegStreams } from "./src/server/mjpeg_streams.ts";

/** Runs the recorder until SIGINT/SIGTERM; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  const startedAt = Date.now();
  let config;
  try {
    const commandLine = parseCommandLine(args);
    if (commandLine.help) {
      console.log(HELP);
      return 0;
    }
    config = await loadConfig(commandLine);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`videorecorder: ${error.message}\nTry --help for the list of options.`);
    return 2;
  }

  let source;
  try {
    source = await resolveSource({
      ...config,
      h264: {
        bitrate: config.bitrate,
        intra: config.intra,
        profile: config.profile,
        level: config.level,
      },
    });
  } catch (error) {
    console.error(`videorecorder: ${error instanceof Error ? error.message : error}`);
    return 2;
  }
  console.error(
    `Camera: ${source.description}` + (source.reason ? ` (auto: ${source.reason})` : ""),
  );

  let credentials;
  try {
    credentials = await resolveCredentials(config, {
      configDir: configDirectory(config.configFile, Deno.env.toObject()),
    });
  } catch (error) {
    console.error(`videorecorder: ${error instanceof Error ? error.message : error}`);
    return 2;
  }

  const hub = new FrameHub();
  const camera = new Camera({ argv: source.argv, codec: source.codec, hub, echoStderr: true });
  const recorder = new SegmentRecorder({
    hub,
    output: config.output,
    segmentSeconds: config.segment,
    codec: source.codec,
    echoStderr: true,
    onClip: (clip) => console.error(`Saved ${clip.file}`),
  });
  // H.264 mode: the live view is decoded from the camera's stream, only while watched.
  const preview = source.h264
    ? new H264Preview({
      source: hub,
      width: config.previewWidth,
      height: config.previewHeight,
      fps: config.previewFps,
      cameraFps: config.fps,
      intra: source.h264.intra,
      echoStderr: true,
    })
    : undefined;
  const live: LiveView = preview
    ? { hub: preview.hub, snapshot: () => preview.snapshot() }
    : { hub, snapshot: () => Promise.resolve(hub.latest) };
  const streams = new MjpegStreams(live.hub);
  const app = createApp({
    live,
    streams,
    preview,
    camera: {
      source: source.kind,
      description: source.description,
      status: () => camera.status(),
    },
    recorder,
    startedAt,
    credentials,
  });

  let server;
  try {
    server = listen(app, streams, { host: config.host, port: config.port });
  } catch (error) {
    console.error(`videorecorder: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
  camera.start();
  if (config.record) await recorder.start();
  console.error(
    `Recording to ${config.output} in ${config.segment} s clips` +
      (config.record ? "" : " (paused: --no-record)"),
  );
  for (const url of reachableUrls(config.host, server.port)) console.error(`Open ${url}/`);
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

  const signal = await new Promise<Deno.Signal>((resolve) => {
    for (const name of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(name, () => resolve(name));
    }
  });
  console.error(`${signal}: closing the current clip and stopping`);
  await recorder.stop();
  await preview?.stop();
  await camera.stop();
  hub.close();
  await server.shutdown();
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
