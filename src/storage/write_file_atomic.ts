/**
 * The one way state files are written: whole or not at all, and still there after a power cut.
 *
 * @module
 */

import { open, rename, unlink } from "node:fs/promises";
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
