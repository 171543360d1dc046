/** Shared test helpers: real ffmpeg output, temp dirs, polling. */

/** Runs a command to completion and returns stdout; throws with stderr on failure. */
export async function run(
  argv: string[],
  options: { stdin?: Uint8Array } = {},
): Promise<Uint8Array> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  }
  const output = await child.output();
  if (!output.success) {
    throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return output.stdout;
}

/** Runs ffmpeg (errors only) on a lavfi `source` such as `testsrc=size=320x240`, then `args`. */
export function lavfi(
  source: string,
  args: string[],
  options: { stdin?: Uint8Array } = {},
): Promise<Uint8Array> {
  return run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", source, ...args], options);
}

/** `count` distinct JPEG frames (testsrc), as ffmpeg's MJPEG muxer prints them back to back. */
export async function makeJpegs(
  count: number,
  options: { width?: number; height?: number } = {},
): Promise<Uint8Array[]> {
  const size = `${options.width ?? 160}x${options.height ?? 120}`;
  const mjpeg = await run([
    "ffmpeg",
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    `testsrc=size=${size}:rate=10`,
    "-frames:v",
    String(count),
    "-c:v",
    "mjpeg",
    "-q:v",
    "5",
    "-f",
    "mjpeg",
    "-",
  ]);
  return splitAtSoi(mjpeg);
}

/** Splits ffmpeg's MJPEG output at each SOI; only for known-good ffmpeg output. */
export function splitAtSoi(bytes: Uint8Array): Uint8Array[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd8 && bytes[i + 2] === 0xff) starts.push(i);
  }
  return starts.map((start, i) => bytes.slice(start, starts[i + 1] ?? bytes.length));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Feeds chunks through a transform stream and collects everything it yields. */
export async function collect<I, O>(
  transform: TransformStream<I, O>,
  chunks: I[],
): Promise<O[]> {
  const out: O[] = [];
  await ReadableStream.from(chunks).pipeThrough(transform).pipeTo(
    new WritableStream({ write: (item) => void out.push(item) }),
  );
  return out;
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes (then throws `what`). */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
}

/** ffprobe's frame count and duration of a media file. */
export async function probeClip(path: string): Promise<{ frames: number; duration: number }> {
  const out = new TextDecoder().decode(
    await run([
      "ffprobe",
      "-v",
      "error",
      "-count_frames",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=nb_read_frames:format=duration",
      "-of",
      "json",
      path,
    ]),
  );
  const json = JSON.parse(out);
  return {
    frames: Number(json.streams?.[0]?.nb_read_frames),
    duration: Number(json.format?.duration),
  };
}

/** Directory of the fake camera tools (rpicam-vid, libcamera-vid). */
export const FAKE_BIN = new URL("./fixtures/bin", import.meta.url).pathname;
