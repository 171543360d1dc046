/** Helpers for the clip playback tests: real clips (closed and growing) and multipart parts. */
import { join } from "node:path";
import { run, splitAtSoi } from "../_helpers.ts";
import { segmenterArgv } from "../../src/recorder/segmenter_argv.ts";

/** Frames per second of the test clips. */
export const FPS = 10;

/** Writes a closed `seconds`-long 160x120 MJPEG Matroska clip (testsrc: every frame differs). */
export async function writeLongClip(path: string, seconds = 3): Promise<void> {
  await run([
    "ffmpeg",
    "-hide_banner",
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    `testsrc=size=160x120:rate=${FPS}`,
    "-t",
    String(seconds),
    "-c:v",
    "mjpeg",
    "-f",
    "matroska",
    path,
  ]);
}

/** The JPEGs of an MJPEG clip, in order, exactly as stored (copied, not decoded). */
export async function clipFrames(path: string): Promise<Uint8Array[]> {
  const bytes = await run([
    "ffmpeg",
    "-hide_banner",
    "-v",
    "error",
    "-i",
    path,
    "-c",
    "copy",
    "-f",
    "mjpeg",
    "-",
  ]);
  return splitAtSoi(bytes);
}

/** Index of `jpeg` among `frames` (byte for byte), or -1. */
export function frameIndex(frames: Uint8Array[], jpeg: Uint8Array): number {
  return frames.findIndex((frame) =>
    frame.length === jpeg.length && frame.every((byte, i) => byte === jpeg[i])
  );
}

/**
 * The recorder's own segmenter (`segmenterArgv`) writing `<seq>.recording.mkv` in `dir`
 * from a real-time test pattern for `seconds`, as while recording: the file grows by a
 * cluster a second. Dispose to stop it.
 */
export function startGrowingClip(dir: string, seq: number, seconds: number) {
  const source = new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-v",
      "error",
      "-re",
      "-f",
      "lavfi",
      "-i",
      `testsrc=size=160x120:rate=${FPS}`,
      "-t",
      String(seconds),
      "-c:v",
      "mjpeg",
      "-f",
      "matroska",
      "-",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const [command, ...args] = segmenterArgv({ output: dir, segmentSeconds: 600, startNumber: seq });
  const segmenter = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const piped = source.stdout.pipeTo(segmenter.stdin).catch(() => {});
  const done = Promise.all([source.status, segmenter.status, piped]).then(() => {});
  return {
    path: join(dir, `${String(seq).padStart(6, "0")}.recording.mkv`),
    /** Resolves when the clip is complete (both ffmpegs exited). */
    done,
    async [Symbol.asyncDispose]() {
      for (const child of [source, segmenter]) {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
      }
      await done;
    },
  };
}

/** Reads multipart parts (`Content-length` framed, as ffmpeg's mpjpeg writes) off a stream. */
export class PartReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer = new Uint8Array(0);

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  /** The next part's body, or null at the end of the stream. */
  async next(): Promise<Uint8Array | null> {
    for (;;) {
      const text = new TextDecoder("latin1").decode(this.#buffer.subarray(0, 512));
      const head = /Content-length: (\d+)\r\n\r\n/i.exec(text);
      if (head) {
        const start = head.index + head[0].length;
        const end = start + Number(head[1]);
        if (this.#buffer.length >= end) {
          const part = this.#buffer.slice(start, end);
          this.#buffer = this.#buffer.slice(end);
          return part;
        }
      }
      const { value, done } = await this.#reader.read();
      if (done) return null;
      const joined = new Uint8Array(this.#buffer.length + value.length);
      joined.set(this.#buffer);
      joined.set(value, this.#buffer.length);
      this.#buffer = joined;
    }
  }

  /** Ends the stream (the server kills its ffmpeg). */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}
