/** Feeding a frame parser long pathological inputs while watching what it holds. */
import type { Frame } from "../../src/frames/frame.ts";

/** A parser stream that says how many input bytes it is holding. */
export interface BufferingStream extends TransformStream<Uint8Array, Frame> {
  readonly bufferedBytes: number;
}

/**
 * Writes `chunks` one by one into `stream` (each write resolves once the parser took the
 * chunk), and returns the frames it yielded and the most input it held after any chunk.
 * Chunks come from an iterable so that tens of MB need not exist at once.
 */
export async function feed(
  stream: BufferingStream,
  chunks: Iterable<Uint8Array>,
): Promise<{ frames: Frame[]; maxBuffered: number; bytes: number }> {
  const frames: Frame[] = [];
  const reading = stream.readable.pipeTo(
    new WritableStream({ write: (frame) => void frames.push(frame) }),
  );
  const writer = stream.writable.getWriter();
  let maxBuffered = 0;
  let bytes = 0;
  for (const chunk of chunks) {
    await writer.write(chunk);
    bytes += chunk.byteLength;
    maxBuffered = Math.max(maxBuffered, stream.bufferedBytes);
  }
  await writer.close();
  await reading;
  return { frames, maxBuffered, bytes };
}

/** `pattern` repeated up to `total` bytes, cut into chunks of `chunkSize`. */
export function* repeated(
  pattern: Uint8Array,
  total: number,
  chunkSize: number,
): Generator<Uint8Array> {
  // One block of whole patterns at least a chunk long, sliced at a moving offset.
  const copies = Math.ceil((chunkSize + pattern.length) / pattern.length) + 1;
  const block = new Uint8Array(copies * pattern.length);
  for (let i = 0; i < copies; i++) block.set(pattern, i * pattern.length);
  for (let at = 0; at < total; at += chunkSize) {
    const offset = at % pattern.length;
    yield block.slice(offset, offset + Math.min(chunkSize, total - at));
  }
}

/** `total` pseudo-random bytes (the same every run) in chunks of `chunkSize`. */
export function* noise(total: number, chunkSize: number, seed = 1): Generator<Uint8Array> {
  let state = seed >>> 0;
  for (let at = 0; at < total; at += chunkSize) {
    const chunk = new Uint8Array(Math.min(chunkSize, total - at));
    const words = new Uint32Array(chunk.buffer, 0, chunk.length >> 2);
    for (let i = 0; i < words.length; i++) {
      // xorshift32
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      words[i] = state >>> 0;
    }
    yield chunk;
  }
}

/** All of `parts`, each an iterable of chunks, one after the other. */
export function* chain(...parts: Iterable<Uint8Array>[]): Generator<Uint8Array> {
  for (const part of parts) yield* part;
}

export const MiB = 1024 * 1024;
