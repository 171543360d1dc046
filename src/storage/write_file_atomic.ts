/**
 * The one way state files are written: whole or not at all, and still there after a power cut.
 *
 * @module
 */

import { open, readdir, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Options for {@linkcode writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** The file's permissions from its first byte (less the umask). Default `0o666`. */
  mode?: number;
}

/**
 * Writes `data` to `path` so that a crash or power cut leaves the old file or the new one,
 * never a half-written one: a temporary file in the same directory is written and fsync'ed,
 * renamed over `path`, and the directory fsync'ed so the rename itself is on the disk. On
 * failure the temporary file is removed and the old file is untouched.
 *
 * The directory must exist. The temporary file is hidden (`.name.<uuid>.tmp`) and created
 * with `mode`, so a secret is never readable by others, not even for a moment.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./write_file_atomic.ts";
 *
 * await writeFileAtomic("/tmp/state.json", '{"ok": true}\n', { mode: 0o600 });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const temporary = join(dir, `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  try {
    const file = await open(temporary, "wx", options.mode ?? 0o666);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  await syncDirectory(dir);
}

/** fsync a directory, so a rename or removal in it survives a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** {@linkcode writeFileAtomic}'s temporary file name: `.<name>.<uuid>.tmp`. */
const TEMPORARY = /^\.(.+)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temporary files {@linkcode writeFileAtomic} left in `dir` when a crash or power
 * cut stopped it mid-write, for the files whose name `target` accepts (all by default).
 * Call it when nothing is writing those files (at start). Returns the names removed; a
 * missing `dir` has none.
 *
 * @example
 * ```ts
 * import { removeTemporaries } from "./write_file_atomic.ts";
 *
 * await removeTemporaries("/var/lib/videorecorder", (name) => name === "state.json");
 * ```
 */
export async function removeTemporaries(
  dir: string,
  target: (name: string) => boolean = () => true,
): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as { code?: unknown })?.code === "ENOENT") return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMPORARY.exec(name);
    if (!match || !target(match[1])) continue;
    try {
      await unlink(join(dir, name));
      removed.push(name);
    } catch (error) {
      if ((error as { code?: unknown })?.code !== "ENOENT") throw error;
    }
  }
  return removed;
}
