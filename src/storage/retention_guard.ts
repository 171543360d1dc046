import { unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ClipStore } from "./clip_store.ts";
import type { RetentionLimits, RetentionPlan } from "./retention_policy.ts";
import { messageOf } from "../errors.ts";

/** Options for {@linkcode RetentionGuard}. */
export interface RetentionGuardOptions {
  limits: RetentionLimits;
  /** How often to check between clips, so free space taken by others is noticed. Default 10 s. */
  intervalMs?: number;
  /** How often to check while blocked, so recording resumes soon after the cause. Default 2 s. */
  blockedIntervalMs?: number;
  /** Room to keep for the next clip. Default: the largest of the last 3 closed clips. */
  reserveBytes?: number;
  /** Whether clip `id` of `size` bytes is archived: loop recording deletes those first. */
  archived?: (id: string, size: number) => boolean;
  /**
   * Recording cannot go on: the limits cannot be met without locked clips, the disk is full,
   * or the output folder cannot be read or written (card missing or read-only). `status.reason`
   * says which.
   */
  onBlocked?: (status: RetentionStatus) => void;
  /** Recording can go on again (clips were unlocked or deleted, the card is back). */
  onCleared?: (status: RetentionStatus) => void;
}

/** The guard's state for `/api/status`. */
export interface RetentionStatus {
  /**
   * False while recording cannot go on: the limits cannot be met, or the output folder cannot
   * be read or written. Recording should stay stopped.
   */
  ok: boolean;
  /** Why not, when `ok` is false, as one sentence whose numbers are the ones below. */
  reason: string | null;
  /**
   * The disk after this check's deletions, and the limits in bytes: the one set of numbers
   * the status, the page and `reason` all use. Null before the first successful check.
   */
  space: StorageSpace | null;
  /** Clips deleted since start. */
  deleted: number;
  /** The last plan, or null before the first check. */
  plan: RetentionPlan | null;
  lastCheckAt: number | null;
  lastError: string | null;
}

/** Storage numbers after a check, in bytes. */
export interface StorageSpace {
  totalBytes: number;
  freeBytes: number;
  /** Size of all clips left, locked ones and the one being written included. */
  usedBytes: number;
  /** The free-space floor (`--min-free` resolved), or null. */
  floorBytes: number | null;
  /** The cap on all clips (`--max-storage`), or null. */
  maxBytes: number | null;
}

/** The file a check creates and removes to learn whether the output folder can be written. */
const WRITE_PROBE = ".write-probe";
/** One file-system block: what a clip needs first. */
const PROBE_BLOCK = new Uint8Array(4096);

/**
 * Runs loop recording: {@linkcode ClipStore.enforce} every `intervalMs` and whenever
 * {@linkcode RetentionGuard.check} is called (after each clip), one check at a time, and
 * says when recording cannot go on (`onBlocked`) or can again (`onCleared`). Besides the limits,
 * each check creates and removes a file in the output folder: statfs does not say that a card
 * went read-only (or a folder immutable), and the recorder would otherwise fail there unseen.
 *
 * @example
 * ```ts
 * import { parseByteSize, parseFreeSpaceFloor } from "./byte_size.ts";
 * import type { ClipStore } from "./clip_store.ts";
 * import type { SegmentRecorder } from "../recorder/segment_recorder.ts";
 * declare const store: ClipStore;
 * declare const recorder: SegmentRecorder;
 *
 * const guard = new RetentionGuard(store, {
 *   limits: { maxBytes: parseByteSize("20G"), minFree: parseFreeSpaceFloor("10%") },
 *   onBlocked: (plan) => void recorder.stop(),
 * });
 * guard.start();
 * ```
 */
export class RetentionGuard {
  readonly #store: ClipStore;
  readonly #options: RetentionGuardOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #checking: Promise<RetentionPlan | null> | null = null;
  #again = false;
  /** Set by stop(): a clip saved while the recorder stops must not start a check then. */
  #stopped = false;
  #status: RetentionStatus = {
    ok: true,
    reason: null,
    space: null,
    deleted: 0,
    plan: null,
    lastCheckAt: null,
    lastError: null,
  };

  constructor(store: ClipStore, options: RetentionGuardOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** Checks now, then every `intervalMs` (`blockedIntervalMs` while blocked), until stopped. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopped = false;
    const tick = async () => {
      await this.check();
      if (!this.#running) return;
      const { intervalMs = 10_000, blockedIntervalMs = 2_000 } = this.#options;
      this.#timer = setTimeout(tick, this.#status.ok ? intervalMs : blockedIntervalMs);
    };
    void tick();
  }

  /** Stops the timer and waits for a check under way. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#again = false;
    await this.#checking;
  }

  /**
   * Enforces the limits now. A call during a check runs one more check after it (a clip may
   * have closed meanwhile); resolves with that plan, or null when the folder could not be
   * read (see `status().lastError`). After stop(), resolves with the last plan at once, without
   * checking. Never rejects.
   */
  check(): Promise<RetentionPlan | null> {
    // After stop(), e.g. the last clip closing as the recorder stops: the process may exit
    // mid-check, leaving the write probe behind (it did, in a test's output folder).
    if (this.#stopped) return Promise.resolve(this.#status.plan);
    if (this.#checking) {
      this.#again = true;
      return this.#checking;
    }
    this.#checking = (async () => {
      let plan: RetentionPlan | null = null;
      do {
        this.#again = false;
        plan = await this.#enforce();
      } while (this.#again);
      return plan;
    })().finally(() => this.#checking = null);
    return this.#checking;
  }

  status(): RetentionStatus {
    return { ...this.#status };
  }

  async #enforce(): Promise<RetentionPlan | null> {
    const status = this.#status;
    const before = status.lastCheckAt === null ? null : status.ok;
    let plan: RetentionPlan | null = null;
    try {
      plan = await this.#store.enforce(this.#options.limits, {
        reserveBytes: this.#options.reserveBytes,
        archived: this.#options.archived,
      });
      status.deleted += plan.delete.length;
      status.plan = plan;
      status.space = {
        totalBytes: plan.totalBytes,
        freeBytes: plan.freeAfter,
        usedBytes: plan.keptBytes,
        floorBytes: plan.floorBytes,
        maxBytes: this.#options.limits.maxBytes ?? null,
      };
      // Limits already broken say more than a failed write would.
      if (plan.ok) await this.#probeWrite();
      status.ok = plan.ok;
      status.reason = plan.reason ?? null;
      status.lastError = null;
    } catch (error) {
      const message = messageOf(error);
      status.ok = false;
      status.reason = status.lastError = message.startsWith("Cannot ")
        ? message
        : `Cannot use the output folder ${this.#store.output}: ${message}`;
    }
    status.lastCheckAt = Date.now();
    if (!status.ok && before !== false) this.#options.onBlocked?.(this.status());
    if (status.ok && before === false) this.#options.onCleared?.(this.status());
    return plan;
  }

  /**
   * Writes and removes one block: fails on a read-only card or folder, and on a full one (an
   * empty file needs no block and is still created there), as the recorder would.
   */
  async #probeWrite(): Promise<void> {
    const path = join(this.#store.output, WRITE_PROBE);
    try {
      await writeFile(path, PROBE_BLOCK);
      await unlink(path);
    } catch (error) {
      // Without the code and the path node:fs puts around the reason
      // ("ENOSPC: no space left on device, write"): the folder says where.
      const reason = osReason(error);
      const message = `Cannot write to the output folder ${this.#store.output}: ${reason}`;
      throw new Error(message, { cause: error });
    }
  }
}

/** "No space left on device" from node:fs's "ENOSPC: no space left on device, write '/x'". */
function osReason(error: unknown): string {
  const message = messageOf(error);
  const node = /^E[A-Z]+: (.*?)(?:, \w+(?: '[^']*')?)?$/s.exec(message);
  if (!node) return message.replace(/: \w+ '[^']*'$/, "");
  return node[1].charAt(0).toUpperCase() + node[1].slice(1);
}
