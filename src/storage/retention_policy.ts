/**
 * Loop recording's decision, as a pure function: which clips to delete so that the
 * recordings stay under a size cap and the disk keeps a free-space floor.
 *
 * @module
 */
import { formatBytes, type FreeSpaceFloor } from "./byte_size.ts";
import type { DiskSpace } from "./disk_space.ts";

/** What the policy needs to know about a clip. */
export interface RetentionClip {
  id: string;
  /** Recording order: lower is older. */
  seq: number;
  size: number;
  /** Protected by the user (or about to be): never deleted. */
  locked: boolean;
  /** Being written: never deleted. */
  recording: boolean;
  /**
   * Verified on the archive remote: deleted before clips that are not (oldest archived
   * first), since losing it here loses nothing.
   */
  archived?: boolean;
}

/** The limits loop recording keeps; either may be absent. */
export interface RetentionLimits {
  /** Cap on the total size of all clips, locked ones included (`--max-storage`). */
  maxBytes?: number;
  /** Free space the disk must keep (`--min-free`). */
  minFree?: FreeSpaceFloor;
}

/** Input of {@linkcode planRetention}. */
export interface RetentionInput {
  clips: readonly RetentionClip[];
  limits: RetentionLimits;
  disk: DiskSpace;
  /** Room the next clip needs on top of the limits, e.g. the size of a recent clip. Default 0. */
  reserveBytes?: number;
}

/** What to delete, and whether that is enough. */
export interface RetentionPlan {
  /** Ids to delete, oldest first. Empty when the limits hold, or when they cannot be met. */
  delete: string[];
  /** False when the limits cannot be met without deleting locked or recording clips. */
  ok: boolean;
  /** Why the limits cannot be met; set when `ok` is false. */
  reason?: string;
  /** Size of the disk. */
  totalBytes: number;
  /** Total size of all clips now. */
  usedBytes: number;
  /** Total size of the clips left after the deletions. */
  keptBytes: number;
  /** Free bytes on the disk after the deletions. */
  freeAfter: number;
  /** The free-space floor in bytes (a percentage resolved against the disk), or null. */
  floorBytes: number | null;
}

/**
 * Plans loop recording: deletes the oldest clips (by `seq`) that are neither locked nor being
 * recorded, archived ones before the others, and only as many as it takes for both limits to
 * hold with `reserveBytes` to spare.
 *
 * When the limits cannot hold even with every deletable clip gone (locked clips fill the
 * cap, or something else fills the disk), it deletes nothing and says why: deleting the
 * unlocked clips would lose footage without letting recording go on.
 *
 * @example
 * ```ts
 * import { parseByteSize } from "./byte_size.ts";
 *
 * const plan = planRetention({
 *   clips: [{ id: "000001_20261130-111627", seq: 1, size: 5e9, locked: false, recording: false }],
 *   limits: { maxBytes: parseByteSize("20G"), minFree: { percent: 10 } },
 *   disk: { totalBytes: 32e9, freeBytes: 1e9 },
 *   reserveBytes: 50e6,
 * });
 * // plan.delete: ["000001_20261130-111627"], plan.ok: true
 * ```
 */
export function planRetention(input: RetentionInput): RetentionPlan {
  const { clips, limits, disk } = input;
  const reserve = input.reserveBytes ?? 0;
  const maxBytes = limits.maxBytes;
  if (maxBytes !== undefined && !(maxBytes >= 0)) {
    throw new RangeError(`Invalid storage limit: ${maxBytes}`);
  }
  if (!(reserve >= 0)) throw new RangeError(`Invalid reserve: ${reserve}`);
  const floorBytes = resolveFloor(limits.minFree, disk.totalBytes);

  const usedBytes = sum(clips);
  let kept = usedBytes;
  let free = disk.freeBytes;
  const underCap = () => maxBytes === undefined || kept + reserve <= maxBytes;
  const aboveFloor = () => floorBytes === null || free - reserve >= floorBytes;

  const deletable = clips.filter((clip) => !clip.locked && !clip.recording)
    .sort((a, b) =>
      Number(b.archived ?? false) - Number(a.archived ?? false) || a.seq - b.seq ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    );
  const remove: string[] = [];
  for (const clip of deletable) {
    if (underCap() && aboveFloor()) break;
    remove.push(clip.id);
    kept -= clip.size;
    free += clip.size;
  }
  if (underCap() && aboveFloor()) {
    return {
      delete: remove,
      ok: true,
      totalBytes: disk.totalBytes,
      usedBytes,
      keptBytes: kept,
      freeAfter: free,
      floorBytes,
    };
  }

  const reasons: string[] = [];
  if (!underCap()) reasons.push(capReason(clips, maxBytes!, reserve));
  if (!aboveFloor()) {
    reasons.push(floorReason(disk.freeBytes, free, floorBytes!, limits.minFree!, reserve));
  }
  return {
    delete: [],
    ok: false,
    reason: reasons.join("; "),
    totalBytes: disk.totalBytes,
    usedBytes,
    keptBytes: usedBytes,
    freeAfter: disk.freeBytes,
    floorBytes,
  };
}

function resolveFloor(floor: FreeSpaceFloor | undefined, totalBytes: number): number | null {
  if (!floor) return null;
  if ("bytes" in floor) {
    if (!(floor.bytes >= 0)) throw new RangeError(`Invalid free-space floor: ${floor.bytes} bytes`);
    return floor.bytes;
  }
  if (!(floor.percent >= 0 && floor.percent < 100)) {
    throw new RangeError(`Invalid free-space floor: ${floor.percent}%`);
  }
  return Math.ceil(totalBytes * floor.percent / 100);
}

/** Only locked and recording clips are left, and they break the cap. */
function capReason(clips: readonly RetentionClip[], maxBytes: number, reserve: number): string {
  const locked = sum(clips.filter((clip) => clip.locked && !clip.recording));
  const recording = sum(clips.filter((clip) => clip.recording));
  const limit = `the ${formatBytes(maxBytes)} storage limit`;
  if (locked > maxBytes) return `Locked clips alone take ${formatBytes(locked)}, over ${limit}`;
  const what = recording === 0
    ? "Locked clips take"
    : locked === 0
    ? "The clip being recorded takes"
    : "Locked clips and the clip being recorded take";
  const taken = `${what} ${formatBytes(locked + recording)}`;
  if (locked + recording > maxBytes) return `${taken}, over ${limit}`;
  return `${taken}, leaving less than the ${
    formatBytes(reserve)
  } the next clip needs under ${limit}`;
}

/**
 * Free space stays under the floor even with every deletable clip gone. The sentence gives
 * the free space there is now, the number the status shows beside it, and what deleting
 * every unlocked clip would bring it to only when that differs.
 */
function floorReason(
  freeNow: number,
  freeAll: number,
  floorBytes: number,
  floor: FreeSpaceFloor,
  reserve: number,
): string {
  const limit = `the ${formatBytes(floorBytes)}` +
    ("percent" in floor ? ` (${floor.percent}% of the disk)` : "") + " free-space floor";
  const after = freeAll > freeNow
    ? `, and deleting every unlocked clip would free only ${formatBytes(freeAll - freeNow)}`
    : "";
  if (freeAll < floorBytes) return `Free space is ${formatBytes(freeNow)}, under ${limit}${after}`;
  return `Free space is ${formatBytes(freeNow)}, leaving less than the ` +
    `${formatBytes(reserve)} the next clip needs above ${limit}${after}`;
}

function sum(clips: readonly RetentionClip[]): number {
  return clips.reduce((total, clip) => total + clip.size, 0);
}
