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
    // Many tiny chunks would make every lookup walk a long list (pipes deliver up to 64 KiB at
    // a time, but a writer that flushes each byte delivers one). Merge the last two while both
    // are small and the older is at most twice the newer, like a binary counter: small chunks
    // after the last big one more than halve in size each, so there are at most ~17 of them,
    // and a byte is copied a few times, not at every merge (copying all that is held every
    // few chunks made a big frame arriving in tiny pieces quadratic).
    const chunks = this.#chunks;
    while (chunks.length >= 2) {
      const last = chunks[chunks.length - 1];
      const prev = chunks[chunks.length - 2];
      if (prev.byteLength >= MERGE_BELOW || last.byteLength >= MERGE_BELOW) break;
      if (prev.byteLength > 2 * last.byteLength) break;
      const merged = new Uint8Array(prev.byteLength + last.byteLength);
      merged.set(prev);
      merged.set(last, prev.byteLength);
      chunks.splice(chunks.length - 2, 2, merged);
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

  /**
   * Global offset of the first FF at or after `from` whose next byte `ends` accepts, or -1
   * when there is none in what is held (an FF in the last byte held is not looked past).
   * One native search per FF inside a chunk, instead of a search and a lookup through the
   * chunk list each: a JPEG's scan data has an FF every few hundred bytes.
   */
  indexOfMarker(from: number, ends: (next: number) => boolean): number {
    let offset = this.#base;
    const chunks = this.#chunks;
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c];
      const chunkEnd = offset + chunk.byteLength;
      if (from < chunkEnd) {
        let at = chunk.indexOf(0xff, Math.max(0, from - offset));
        while (at >= 0) {
          const next = at + 1 < chunk.byteLength
            ? chunk[at + 1]
            : c + 1 < chunks.length
            ? chunks[c + 1][0]
            : -1;
          if (next < 0) return -1;
          if (ends(next)) return offset + at;
          at = chunk.indexOf(0xff, at + 1);
        }
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

  /**
   * Forgets the bytes before `offset`: whole chunks, and the front of the first chunk once
   * that is at least half of it (by copying the rest, which costs no more than the bytes it
   * frees). Without the latter, a merged or big chunk pins everything before a frame that
   * starts inside it, for as long as that frame is being built.
   */
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
    const first = this.#chunks[0];
    const cut = offset - this.#base;
    if (first !== undefined && cut > 0 && cut * 2 >= first.byteLength) {
      this.#chunks[0] = first.slice(cut);
      this.#base = offset;
    }
  }

  /** Bytes currently held (the memory the parser is using). */
  get heldBytes(): number {
    return this.#end - this.#base;
  }
}

/** Chunks smaller than this are merged with their neighbours (see `push`). */
const MERGE_BELOW = 64 * 1024;
