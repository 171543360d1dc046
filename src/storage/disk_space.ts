import { statfs } from "node:fs/promises";
import { messageOf } from "../errors.ts";

/** Size and free space of the file system holding a path. */
export interface DiskSpace {
  totalBytes: number;
  /** Bytes an unprivileged process may still write (root's reserved blocks excluded). */
  freeBytes: number;
}

/**
 * The size and free space of the file system holding `path`, from `statfs`.
 *
 * @example
 * ```ts
 * const { freeBytes } = await diskSpace("/media/pi/REMOVABLE/output");
 * ```
 */
export async function diskSpace(path: string): Promise<DiskSpace> {
  try {
    const stats = await statfs(path);
    // bavail, not bfree: ext4 keeps 5% for root, which the recorder (not root) cannot use.
    return { totalBytes: stats.blocks * stats.bsize, freeBytes: stats.bavail * stats.bsize };
  } catch (error) {
    const message = messageOf(error);
    throw new Error(`Cannot read the free space of ${path}: ${message}`, { cause: error });
  }
}
