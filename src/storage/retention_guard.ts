import type { ClipStore } from "./clip_store.ts";
import type { RetentionLimits, RetentionPlan } from "./retention_policy.ts";
import { messageOf } from "../errors.ts";

/** Options for {@linkcode RetentionGuard}. */
export interface RetentionGuardOptions {
  limits: RetentionLimits;
  /** How often to check between clips, so free space taken by others is noticed. Default 10 s. */
  intervalMs?: number;
  /** Room to keep for the next clip. Default: the largest of the last 3 closed clips. */
  reserveBytes?: number;
  /** The limits can no longer be met without locked clips: stop recording. */
  onBlocked?: (plan: RetentionPlan) => void;
  /** The limits can be met again (clips were unlocked or deleted). */
  onCleared?: (plan: RetentionPlan) => void;
}

/** The guard's state for `/api/status`. */
export interface RetentionStatus {
  /** False while the limits cannot be met: recording should stay stopped. */
  ok: boolean;
  /** Why not, when `ok` is false. */
  reason: string | null;
  /** Clips deleted since start. */
  deleted: number;
  /** The last plan, or null before the first check. */
  plan: RetentionPlan | null;
  lastCheckAt: number | null;
  lastError: string | null;
}

/**
 * Runs loop recording: {@linkcode ClipStore.enforce} every `intervalMs` and whenever
 * {@linkcode RetentionGuard.check} is called (after each clip), one check at a time, and
 * says when the limits become impossible (`onBlocked`) or possible again (`onCleared`).
 *
 * @example
 * ```ts
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
  #timer: ReturnType<typeof setInterval> | undefined;
  #checking: Promise<RetentionPlan | null> | null = null;
  #again = false;
  #status: RetentionStatus = {
    ok: true,
    reason: null,
    deleted: 0,
    plan: null,
    lastCheckAt: null,
    lastError: null,
  };

  constructor(store: ClipStore, options: RetentionGuardOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** Checks now, then every `intervalMs`, until {@linkcode RetentionGuard.stop}. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.check(), this.#options.intervalMs ?? 10_000);
    void this.check();
  }

  /** Stops the timer and waits for a check under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#again = false;
    await this.#checking;
  }

  /**
   * Enforces the limits now. A call during a check runs one more check after it (a clip may
   * have closed meanwhile); resolves with that plan, or null when enforcing failed (see
   * `status().lastError`). Never rejects.
   */
  check(): Promise<RetentionPlan | null> {
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
    let plan;
    try {
      plan = await this.#store.enforce(this.#options.limits, {
        reserveBytes: this.#options.reserveBytes,
      });
    } catch (error) {
      status.lastError = `Cannot enforce the storage limits: ${messageOf(error)}`;
      status.lastCheckAt = Date.now();
      return null;
    }
    const before = status.plan === null ? null : status.ok;
    status.plan = plan;
    status.lastCheckAt = Date.now();
    status.lastError = null;
    status.deleted += plan.delete.length;
    status.ok = plan.ok;
    status.reason = plan.reason ?? null;
    if (!plan.ok && before !== false) this.#options.onBlocked?.(plan);
    if (plan.ok && before === false) this.#options.onCleared?.(plan);
    return plan;
  }
}
