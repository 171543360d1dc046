/**
 * Input chunks kept as they arrived, addressed by a global byte offset that only grows.
 * Parsers search them with native `indexOf` and copy a frame out once, instead of
 * concatenating every chunk into a growing buffer (a copy per chunk per frame).
 */
export class ChunkQueue {
  #chunks: Uint8Array[] = [];
  /** Global offset of `#chunks[0][0]`. */
  #base = 0;
  /** Global offset one past the last byte held. */
  #end = 0;

  /** Global offset one past the last byte held. */
  get end(): number {
    return this.#end;
  }

  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#end += chunk.byteLength;
    // Many tiny chunks would make every lookup walk a long list; merge them (rare: pipes
    // deliver up to 64 KiB at a time).
    if (this.#chunks.length > 64) {
      const merged = this.copy(this.#base, this.#end);
      this.#chunks = [merged];
    }
  }

  /** The byte at global offset `at`, which must be held. */
  at(at: number): number {
    let offset = this.#base;
    for (const chunk of this.#chunks) {
      if (at < offset + chunk.byteLength) return chunk[at - offset];
      offset += chunk.byteLength;
    }
    throw new RangeError(`Offset ${at} is past the end of the queue (${this.#end})`);
  }

  /** Global offset of the first `byte` at or after `from`, or -1. */
  indexOf(byte: number, from: number): number {
    let offset = this.#base;
    for (const chunk of this.#chunks) {
      const chunkEnd = offset + chunk.byteLength;
      if (from < chunkEnd) {
        const found = chunk.indexOf(byte, Math.max(0, from - offset));
        if (found >= 0) return offset + found;
      }
      offset = chunkEnd;
    }
    return -1;
  }

  /** A new array holding global offsets `[from, to)`, which must be held. */
  copy(from: number, to: number): Uint8Array {
    const out = new Uint8Array(to - from);
    let offset = this.#base;
    for (const chunk of this.#chunks) {
      const chunkEnd = offset + chunk.byteLength;
      if (chunkEnd > from && offset < to) {
        const start = Math.max(from, offset);
        out.set(chunk.subarray(start - offset, Math.min(to, chunkEnd) - offset), start - from);
      }
      if (chunkEnd >= to) break;
      offset = chunkEnd;
    }
    return out;
  }

  /** Forgets whole chunks that end at or before `offset`. */
  discardBefore(offset: number): void {
    let drop = 0;
    let base = this.#base;
    while (drop < this.#chunks.length && base + this.#chunks[drop].byteLength <= offset) {
      base += this.#chunks[drop].byteLength;
      drop++;
    }
    if (drop > 0) {
      this.#chunks.splice(0, drop);
      this.#base = base;
    }
  }

  /** Bytes currently held (the memory the parser is using). */
  get heldBytes(): number {
    return this.#end - this.#base;
  }
}
