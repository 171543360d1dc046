/**
 * Playing recorded MJPEG clips in a browser `<img>`: a paced multipart stream from any
 * position, and single frames for a paused player's seek bar. ffmpeg copies the clip's JPEGs
 * (no transcoding, so a Pi's CPU barely notices).
 *
 * @module
 */

import { runtime } from "../runtime/current.ts";

/** The multipart boundary of a played-back clip. */
const BOUNDARY = "videorecorderclip";
/**
 * How long a stream of the clip being recorded waits for the file to grow before it ends.
 * The segmenter flushes a cluster every second; a camera restart pauses it for a few more.
 */
const FOLLOW_TIMEOUT_US = 3_000_000;
const START_PATTERN = /^\d{1,7}(\.\d{1,6})?$/;

/** Options for {@linkcode mjpegClipArgv} and {@linkcode mjpegClipResponse}. */
export interface MjpegClipOptions {
  /** Seconds into the clip to start at. Default 0. */
  start?: number;
  /**
   * The clip is being written: keep reading at its end while it grows (ffmpeg's file
   * protocol `-follow 1`), and end once it has not grown for 3 s (it closed).
   */
  follow?: boolean;
  /** ffmpeg binary. Default `ffmpeg`. */
  ffmpeg?: string;
}

/**
 * The ffmpeg command that plays `path` as `multipart/x-mixed-replace` on stdout.
 *
 * - `-ss` before `-i` seeks in the input (the Matroska cues: every JPEG is a keyframe), so
 *   starting a minute in costs no more than starting at 0.
 * - `-re` paces the JPEGs at their recorded times, so the page's position (its offset plus
 *   the time since the first picture) matches the footage.
 * - Without `-follow`, ffmpeg ends at the end of a growing file as soon as it catches up
 *   with the writer (measured: a stream at the live edge stops after one cluster), and with
 *   it, it never ends unless `-rw_timeout` gives up.
 * - `-probesize 32 -analyzeduration 0`: the Matroska header says all a copy needs. Probing
 *   reads ~4 s of frames first (41 measured), which for a young clip being written means
 *   waiting seconds for them to be recorded before the first picture.
 * - mpjpeg parts carry only `Content-type` and `Content-length`: no timestamps (ffmpeg 5.1
 *   has no option for one, and an `<img>` shows a page no part headers anyway).
 */
export function mjpegClipArgv(path: string, options: MjpegClipOptions = {}): string[] {
  const start = options.start ?? 0;
  return [
    options.ffmpeg ?? "ffmpeg",
    "-hide_banner",
    "-nostdin",
    "-loglevel",
    "error",
    "-probesize",
    "32",
    "-analyzeduration",
    "0",
    ...(start > 0 ? ["-ss", String(start)] : []),
    ...(options.follow ? ["-follow", "1", "-rw_timeout", String(FOLLOW_TIMEOUT_US)] : []),
    "-re",
    "-i",
    path,
    "-map",
    "0:v:0",
    "-c",
    "copy",
    "-f",
    "mpjpeg",
    "-boundary_tag",
    BOUNDARY,
    "-",
  ];
}

/**
 * Plays a recorded MJPEG clip in a browser `<img>`: ffmpeg copies its JPEGs, paced at their
 * recorded times, into `multipart/x-mixed-replace`. The ffmpeg is killed as soon as the
 * viewer goes away (a paused player ends its stream, and a new one starts at the position).
 */
export function mjpegClipResponse(path: string, options: MjpegClipOptions = {}): Response {
  const [command, ...args] = mjpegClipArgv(path, options);
  // Started now, not at the first read: the picture is on its way while the headers go out.
  const spawned = runtime().spawn(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  });
  spawned.catch(() => {}); // reaches the first read
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      reader ??= (await spawned).stdout.getReader();
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      const child = await spawned.catch(() => null);
      if (!child) return;
      child.kill("SIGTERM");
      await (reader ?? child.stdout).cancel().catch(() => {});
      await child.status;
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    headers: {
      "content-type": `multipart/x-mixed-replace;boundary=${BOUNDARY}`,
      "cache-control": "no-store",
    },
  });
}

/**
 * The JPEG shown `start` seconds into an MJPEG clip (the last one for a start at or past its
 * end), copied out of the clip: what a paused player shows while its seek bar moves.
 *
 * @throws {Error} when ffmpeg gives no picture (no frame yet, or an unreadable file).
 */
export async function mjpegClipFrame(
  path: string,
  start: number,
  options: Pick<MjpegClipOptions, "ffmpeg"> = {},
): Promise<Uint8Array> {
  const { stdout } = await runtime().output(options.ffmpeg ?? "ffmpeg", {
    args: [
      "-hide_banner",
      "-nostdin",
      "-loglevel",
      "error",
      ...(start > 0 ? ["-ss", String(start)] : []),
      "-i",
      path,
      "-map",
      "0:v:0",
      "-frames:v",
      "1",
      "-c",
      "copy",
      "-f",
      "mjpeg",
      "-",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  });
  // A seek past the last frame lands on the last frame, also in a clip still being
  // written (no cues yet): measured with ffmpeg 5.1.
  const jpeg = stdout.length > 3 && stdout[0] === 0xff && stdout[1] === 0xd8 ? stdout : null;
  if (!jpeg) throw new Error(`Cannot read a frame at ${start} s: ffmpeg gave no picture`);
  return jpeg;
}

/**
 * Reads a start offset in seconds (`?t=12.5`): digits with an optional fraction, from 0 up
 * to `duration` (any when the duration is unknown). Anything else is a `RangeError` whose
 * message says what is allowed.
 */
export function parseStartOffset(value: string | undefined, duration: number | null): number {
  if (value === undefined || value === "") return 0;
  const limit = duration === null ? "" : ` to ${duration}`;
  const start = START_PATTERN.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(start) || (duration !== null && start > duration)) {
    throw new RangeError(
      `Invalid start time t: expected seconds from 0${limit}, got ${
        JSON.stringify(value.slice(0, 32))
      }`,
    );
  }
  return start;
}
