/**
 * Locks waiting for a clip to close, kept in `locked/pending.json` so they survive a restart.
 *
 * @module
 */
import { readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { isNotFound } from "./_is_not_found.ts";
import { syncDirectory, writeFileAtomic } from "./write_file_atomic.ts";

/** The file, in `locked/`. */
export const PENDING_FILE = "pending.json";

/**
 * Pending locks: clip seq → when the lock was asked (ms since the epoch). Changes are kept in
 * memory until {@linkcode PendingLocks.save}; the caller runs changes one at a time.
 *
 * @example
 * ```ts
 * import { PendingLocks } from "./pending_locks.ts";
 *
 * const pending = await PendingLocks.load("/media/pi/REMOVABLE/output/locked");
 * if (pending.add(43)) await pending.save();
 * ```
 */
export class PendingLocks {
  readonly #dir: string;
  readonly #locks = new Map<number, number>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * Reads the pending locks kept in folder `dir` (none when there is no file). A broken file
   * counts as none: losing pending locks beats not recording, and the clips already in
   * `locked/` stay locked.
   */
  static async load(dir: string): Promise<PendingLocks> {
    const pending = new PendingLocks(dir);
    let text;
    try {
      text = await readFile(join(dir, PENDING_FILE), "utf8");
    } catch (error) {
      if (isNotFound(error)) return pending;
      throw error;
    }
    try {
      const json = JSON.parse(text);
      for (const item of json.pending ?? []) {
        if (Number.isSafeInteger(item?.seq) && item.seq >= 0) {
          pending.#locks.set(item.seq, Number(item.at) || Date.now());
        }
      }
    } catch {
      // Written atomically, so only a hand edit breaks it.
    }
    return pending;
  }

  /** How many locks are pending. */
  get size(): number {
    return this.#locks.size;
  }

  /** Whether a lock is pending for clip `seq`. */
  has(seq: number): boolean {
    return this.#locks.has(seq);
  }

  /** When the lock for clip `seq` was asked (ms), or undefined. */
  askedAt(seq: number): number | undefined {
    return this.#locks.get(seq);
  }

  /** The seqs with a pending lock. */
  seqs(): number[] {
    return [...this.#locks.keys()];
  }

  /** Adds a lock for clip `seq`; false when it was already pending. */
  add(seq: number, at: number = Date.now()): boolean {
    if (this.#locks.has(seq)) return false;
    this.#locks.set(seq, at);
    return true;
  }

  /** Drops the lock for clip `seq`; false when there was none. */
  delete(seq: number): boolean {
    return this.#locks.delete(seq);
  }

  /**
   * Writes the locks atomically (`writeFileAtomic`: fsync, rename, fsync the folder), or
   * removes the file when none are left.
   */
  async save(): Promise<void> {
    const path = join(this.#dir, PENDING_FILE);
    if (this.#locks.size === 0) {
      await unlink(path).catch((error) => {
        if (!isNotFound(error)) throw error;
      });
      await syncDirectory(this.#dir);
      return;
    }
    const pending = [...this.#locks].sort(([a], [b]) => a - b).map(([seq, at]) => ({ seq, at }));
    const text = JSON.stringify(
      {
        about: "Clips to move into this folder when they finish recording",
        pending,
      },
      null,
      2,
    ) + "\n";
    await writeFileAtomic(path, text);
  }
}
