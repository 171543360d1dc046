/**
 * Which clips are archived, kept on the card beside them (`<output>/.archive.json`) so it
 * survives restarts and goes wherever the card goes. Written with `writeFileAtomic` (temp
 * file, fsync, rename, fsync the folder): after a power cut it is the old state or the new
 * one, and a clip listed in it was verified on the remote before the write.
 *
 * The state belongs to one target (remote + folder): it stores a digest of it, never the
 * remote itself (a connection string may hold a password), and starts empty when the
 * target changes, since clips archived elsewhere are not archived here.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../storage/write_file_atomic.ts";

/** The state file's name inside the output folder. */
export const ARCHIVE_STATE_FILE = ".archive.json";

/** One archived clip. */
export interface ArchivedClip {
  /** Size verified on the remote. */
  size: number;
  /** How it was verified: a hash type (`md5`, `sha1`, ...) or `size` where the backend has none. */
  verified: string;
  /** The hash both sides agreed on, when one was compared. */
  hash?: string;
  /** When it was verified, ms since the epoch. */
  at: number;
}

/**
 * The archived clips of one target, by clip id. {@linkcode ArchiveState.load} it, ask
 * {@linkcode isArchived}, and {@linkcode mark} each clip once verified.
 */
export class ArchiveState {
  readonly #path: string;
  readonly #target: string;
  #clips = new Map<string, ArchivedClip>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, target: string) {
    this.#path = path;
    this.#target = target;
  }

  /**
   * Reads the state of `target` in `output`; empty when there is none, it is unreadable, or
   * it belongs to another target.
   */
  static async load(output: string, target: string): Promise<ArchiveState> {
    const state = new ArchiveState(join(output, ARCHIVE_STATE_FILE), targetDigest(target));
    try {
      const json = JSON.parse(await readFile(state.#path, "utf8"));
      if (json?.target === state.#target && json.clips && typeof json.clips === "object") {
        for (const [id, item] of Object.entries(json.clips)) {
          const clip = item as Partial<ArchivedClip>;
          if (
            Number.isSafeInteger(clip.size) && typeof clip.verified === "string" &&
            Number.isFinite(clip.at)
          ) {
            state.#clips.set(id, {
              size: clip.size!,
              verified: clip.verified,
              ...(typeof clip.hash === "string" ? { hash: clip.hash } : {}),
              at: clip.at!,
            });
          }
        }
      }
    } catch {
      // None yet, or a hand-edited one: archiving again is safe (rclone skips what is there).
    }
    return state;
  }

  /** Whether clip `id` is archived; with `size`, only when that is the size verified. */
  isArchived(id: string, size?: number): boolean {
    const clip = this.#clips.get(id);
    return clip !== undefined && (size === undefined || clip.size === size);
  }

  /** The record of clip `id`, if archived. */
  get(id: string): ArchivedClip | undefined {
    return this.#clips.get(id);
  }

  /** How many clips are archived. */
  get size(): number {
    return this.#clips.size;
  }

  /**
   * Records clip `id` as archived and writes the state durably; only once that write is done
   * does {@linkcode isArchived} say so, so nothing is deleted on a record a power cut loses.
   */
  mark(id: string, clip: ArchivedClip): Promise<void> {
    return this.#serial(async () => {
      const next = new Map(this.#clips);
      next.set(id, clip);
      await this.#write(next);
      this.#clips = next;
    });
  }

  /** Forgets clips no longer on the card (keeps the file as small as the card). */
  forget(ids: Iterable<string>): Promise<void> {
    return this.#serial(async () => {
      const next = new Map(this.#clips);
      let changed = false;
      for (const id of ids) changed = next.delete(id) || changed;
      if (!changed) return;
      await this.#write(next);
      this.#clips = next;
    });
  }

  /** The ids archived. */
  ids(): string[] {
    return [...this.#clips.keys()];
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #write(clips: Map<string, ArchivedClip>): Promise<void> {
    const text = JSON.stringify(
      {
        about: "Clips verified on the archive remote; delete this file to archive them again",
        target: this.#target,
        clips: Object.fromEntries([...clips].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      },
      null,
      1,
    ) + "\n";
    await writeFileAtomic(this.#path, text);
  }
}

/** A digest naming the target without its secrets. */
export function targetDigest(target: string): string {
  return createHash("sha256").update(target).digest("hex").slice(0, 32);
}
