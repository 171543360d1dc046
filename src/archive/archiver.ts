/**
 * The archive loop: when the remote answers (the car is home), uploads closed clips with
 * rclone, newest locked clips first, one rclone at a time at the lowest CPU and disk
 * priority with the bandwidth limit, verifies each on the remote (size, and the hash where
 * the backend has one), and only then records it as archived. Failures (network gone,
 * rclone killed, remote full) are retried with backoff; nothing is deleted locally because
 * of them.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { hostname } from "node:os";
import { basename } from "node:path";
import { messageOf } from "../errors.ts";
import { runtime } from "../runtime/current.ts";
import {
  ClipBusyError,
  type ClipInfo,
  ClipLockedError,
  ClipNotFoundError,
  type ClipStore,
} from "../storage/clip_store.ts";
import { ArchiveState } from "./archive_state.ts";
import { HASH_PREFERENCE, Rclone } from "./rclone.ts";
import {
  parseRemote,
  redactRemote,
  remotePath,
  remoteSecrets,
  type RemoteSpec,
  validateBwlimit,
  validateFolder,
} from "./rclone_remote.ts";

/** Which clips to archive. */
export type ArchiveClips = "locked" | "all";
/** What to do with a clip once archived: keep it until loop recording needs room, or delete it. */
export type ArchiveAfter = "keep" | "delete";

/** The user's archive settings. */
export interface ArchiveSettings {
  /** rclone remote: `nas:dashcam`, `:sftp,host=nas.local,user=pi:dashcam`, `/mnt/usb`. */
  remote: string;
  /** This car's folder on the remote. Default: the host name. */
  folder?: string;
  /** Default `locked`. */
  clips?: ArchiveClips;
  /** rclone `--bwlimit`, e.g. `1M`. Default none. */
  bwlimit?: string;
  /**
   * `keep` (default): archived clips stay until loop recording needs room, and go before
   * clips not archived. `delete`: archived clips are deleted at once, except locked ones
   * (a lock means "keep this on the card"; once unlocked, an archived clip goes).
   */
  after?: ArchiveAfter;
}

/** Options for {@linkcode Archiver.create}. */
export interface ArchiverOptions extends ArchiveSettings {
  /** The rclone binary. Default `rclone`. */
  rclone?: string;
  /** rclone.conf for named remotes. Default rclone's own (`~/.config/rclone/rclone.conf`). */
  rcloneConfig?: string;
  /** Run rclone under `nice -n 19 ionice -c3` when they exist. Default true. */
  lowPriority?: boolean;
  /** How often to look for the remote and new clips when idle. Default 60 s. */
  intervalMs?: number;
  /** Retry delays after a failure, doubling. Default 5 s up to 5 min. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** How long the reachability probe may take. Default 20 s. */
  probeTimeoutMs?: number;
  /** rclone's connect timeout in seconds. Default 10. */
  connectTimeoutS?: number;
  /** Called when a clip has been verified and recorded (tests, logs). */
  onArchived?: (id: string) => void;
}

/** The clip being sent. */
export interface ArchiveTransfer {
  clip: string;
  bytes: number;
  total: number;
  /** Bytes per second. */
  rate: number;
  /** uploading, or verifying on the remote. */
  phase: "uploading" | "verifying";
  /** The rclone process's id, while one runs. */
  pid: number | null;
}

/** The archive's state for `/api/status`. */
export interface ArchiveStatus {
  /** The target, secrets masked: `:sftp,host=nas,user=pi,pass=***:dashcam/car1`. */
  remote: string;
  folder: string;
  clips: ArchiveClips;
  after: ArchiveAfter;
  bwlimit: string | null;
  /** `idle`, `probing` (asking the remote), `uploading`, `waiting` (backoff), `stopped`. */
  state: "idle" | "probing" | "uploading" | "waiting" | "stopped";
  /** Whether the remote answered the last probe; null before the first. */
  reachable: boolean | null;
  /** When the remote was last asked. */
  checkedAt: number | null;
  /** Clips waiting to be archived, and their bytes. */
  queue: number;
  queueBytes: number;
  current: ArchiveTransfer | null;
  lastError: string | null;
  lastErrorAt: number | null;
  /** When the next attempt is due after a failure. */
  retryAt: number | null;
  /** Clips archived on this target (on the card's record, deleted ones included). */
  archived: number;
  /** Clips archived since start. */
  uploaded: number;
  /** Archived clips deleted from the card (`after: delete`). */
  deleted: number;
  lastArchived: { clip: string; verified: string; at: number } | null;
}

/**
 * Archives clips of a {@linkcode ClipStore} to an rclone remote until stopped.
 *
 * @example
 * ```ts
 * import type { ClipStore } from "../storage/clip_store.ts";
 * declare const store: ClipStore;
 *
 * const archiver = await Archiver.create(store, { remote: "nas:dashcam", clips: "all" });
 * archiver.start();
 * archiver.notify(); // a clip closed: look now
 * await archiver.stop();
 * ```
 */
export class Archiver {
  readonly #store: ClipStore;
  readonly #options: ArchiverOptions;
  readonly #spec: RemoteSpec;
  readonly #target: string;
  readonly #state: ArchiveState;
  readonly #rclone: Rclone;
  readonly #secrets: string[];
  #status: ArchiveStatus;
  #running = false;
  #loop: Promise<void> | null = null;
  #abort = new AbortController();
  #wake: (() => void) | null = null;
  #woken = false;
  #failures = 0;

  private constructor(
    store: ClipStore,
    options: ArchiverOptions,
    spec: RemoteSpec,
    folder: string,
    state: ArchiveState,
  ) {
    this.#store = store;
    this.#options = options;
    this.#spec = spec;
    this.#target = remotePath(spec, folder);
    this.#state = state;
    this.#secrets = remoteSecrets(spec);
    this.#rclone = new Rclone({
      rclone: options.rclone,
      config: options.rcloneConfig,
      lowPriority: options.lowPriority,
      connectTimeoutS: options.connectTimeoutS,
      secrets: this.#secrets,
    });
    this.#status = {
      remote: this.#redact(this.#target),
      folder,
      clips: options.clips ?? "locked",
      after: options.after ?? "keep",
      bwlimit: options.bwlimit || null,
      state: "stopped",
      reachable: null,
      checkedAt: null,
      queue: 0,
      queueBytes: 0,
      current: null,
      lastError: null,
      lastErrorAt: null,
      retryAt: null,
      archived: state.size,
      uploaded: 0,
      deleted: 0,
      lastArchived: null,
    };
  }

  /**
   * Checks the settings and loads the archive state from the store's folder.
   *
   * @throws {RangeError} For a bad remote, folder, bandwidth limit, `clips` or `after`.
   */
  static async create(store: ClipStore, options: ArchiverOptions): Promise<Archiver> {
    const spec = parseRemote(options.remote);
    const folder = validateFolder(options.folder ?? defaultFolder());
    validateBwlimit(options.bwlimit ?? "");
    if (!["locked", "all", undefined].includes(options.clips)) {
      throw new RangeError(
        `Invalid archive clips ${JSON.stringify(options.clips)}: expected locked or all`,
      );
    }
    if (!["keep", "delete", undefined].includes(options.after)) {
      throw new RangeError(
        `Invalid archive after ${JSON.stringify(options.after)}: expected keep or delete`,
      );
    }
    const state = await ArchiveState.load(store.output, remotePath(spec, folder));
    return new Archiver(store, options, spec, folder, state);
  }

  /** Whether clip `id` of `size` bytes is archived (and verified) on this target. */
  isArchived(id: string, size?: number): boolean {
    return this.#state.isArchived(id, size);
  }

  status(): ArchiveStatus {
    const current = this.#status.current;
    return {
      ...this.#status,
      archived: this.#state.size,
      current: current ? { ...current, pid: this.#rclone.pid } : null,
    };
  }

  /** Starts the loop (once). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    this.#status.state = "idle";
    this.#loop = this.#run();
  }

  /** Looks for work now (a clip closed or was locked), unless waiting out a failure. */
  notify(): void {
    if (this.#failures > 0) return;
    this.#woken = true;
    this.#wake?.();
  }

  /** Stops the loop, ending an rclone under way (the clip stays un-archived). */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
    this.#status.state = "stopped";
    this.#status.current = null;
  }

  async #run(): Promise<void> {
    const { initialMs = 5_000, maxMs = 300_000 } = this.#options.backoff ?? {};
    while (this.#running) {
      let wait = this.#options.intervalMs ?? 60_000;
      try {
        await this.#pass();
        this.#failures = 0;
        this.#status.retryAt = null;
      } catch (error) {
        if (!this.#running) break;
        this.#failures++;
        wait = Math.min(maxMs, initialMs * 2 ** (this.#failures - 1));
        this.#status.lastError = this.#redact(messageOf(error));
        this.#status.lastErrorAt = Date.now();
        this.#status.retryAt = Date.now() + wait;
        this.#status.state = "waiting";
      }
      this.#status.current = null;
      if (!this.#running) break;
      if (this.#status.state !== "waiting") this.#status.state = "idle";
      await this.#sleep(wait);
    }
  }

  /** One pass: ask the remote, then archive the queue until it is empty. */
  async #pass(): Promise<void> {
    let queue = await this.#queue();
    await this.#deleteArchived();
    // Nothing to send: the remote was asked recently enough for the status.
    const checkedAt = this.#status.checkedAt;
    const interval = this.#options.intervalMs ?? 60_000;
    if (queue.length === 0 && checkedAt !== null && Date.now() - checkedAt < interval) return;
    this.#status.state = "probing";
    try {
      await this.#rclone.probe(
        this.#target,
        eitherSignal(this.#abort.signal, this.#options.probeTimeoutMs ?? 20_000),
      );
    } catch (error) {
      this.#status.reachable = false;
      throw new Error(`Cannot reach the archive remote: ${messageOf(error)}`, { cause: error });
    } finally {
      this.#status.checkedAt = Date.now();
    }
    this.#status.reachable = true;
    while (this.#running && queue.length > 0) {
      await this.#archive(queue[0]);
      // Again after each clip: a lock or a new clip may have changed the order.
      queue = await this.#queue();
    }
    await this.#deleteArchived();
  }

  /** Closed clips not archived yet: locked ones newest first, then (`all`) the others. */
  async #queue(): Promise<ClipInfo[]> {
    const clips = await this.#store.list();
    const all = this.#status.clips === "all";
    const queue = clips.filter((clip) =>
      !clip.recording && (clip.locked || all) && !this.#state.isArchived(clip.id, clip.size)
    ).sort((a, b) => Number(b.locked) - Number(a.locked) || b.seq - a.seq);
    this.#status.queue = queue.length;
    this.#status.queueBytes = queue.reduce((sum, clip) => sum + clip.size, 0);
    // The record keeps clips deleted from the card too (the count says what the remote
    // holds), up to a bound: the oldest records go first.
    const ids = this.#state.ids();
    if (ids.length > MAX_RECORDS) {
      const oldest = ids.sort((a, b) => seqOf(a) - seqOf(b)).slice(0, ids.length - MAX_RECORDS);
      await this.#state.forget(oldest).catch(() => {});
    }
    return queue;
  }

  async #archive(clip: ClipInfo): Promise<void> {
    const name = basename(clip.file);
    const target = remotePath(this.#spec, this.#status.folder, name);
    const transfer: ArchiveTransfer = {
      clip: clip.id,
      bytes: 0,
      total: clip.size,
      rate: 0,
      phase: "uploading",
      pid: null,
    };
    this.#status.current = transfer;
    this.#status.state = "uploading";
    const signal = this.#abort.signal;
    let path = await this.#store.resolve(clip.id);
    const size = (await stat(path)).size;
    transfer.total = size;
    await this.#rclone.copy(path, target, {
      bwlimit: this.#options.bwlimit || undefined,
      signal,
      onProgress: (progress) => {
        transfer.bytes = progress.bytes;
        if (progress.total > 0) transfer.total = progress.total;
        transfer.rate = progress.rate;
      },
    });
    transfer.phase = "verifying";
    const remote = await this.#rclone.stat(target, signal);
    if (!remote) throw new Error(`Cannot verify ${name}: it is not on the remote after the upload`);
    // The clip may have been locked (moved) meanwhile: find it again.
    path = await this.#store.resolve(clip.id);
    const localSize = (await stat(path)).size;
    if (remote.size !== localSize) {
      throw new Error(
        `Cannot verify ${name}: the remote has ${remote.size} bytes, the card ${localSize}`,
      );
    }
    const type = HASH_PREFERENCE.find((candidate) => remote.hashes[candidate]) ??
      Object.keys(remote.hashes)[0];
    let hash: string | undefined;
    if (type) {
      hash = await this.#rclone.hashsum(type, path, signal);
      if (hash !== remote.hashes[type]) {
        throw new Error(
          `Cannot verify ${name}: its ${type} on the remote is ${remote.hashes[type]}, ` +
            `on the card ${hash}`,
        );
      }
    }
    const at = Date.now();
    await this.#state.mark(clip.id, { size: localSize, verified: type ?? "size", hash, at });
    this.#status.uploaded++;
    this.#status.lastArchived = { clip: clip.id, verified: type ?? "size", at };
    this.#status.current = null;
    this.#options.onArchived?.(clip.id);
    if (this.#status.after === "delete") await this.#deleteArchived();
  }

  /** `after: delete`: removes archived clips that are neither locked nor being written. */
  async #deleteArchived(): Promise<void> {
    if (this.#status.after !== "delete") return;
    for (const clip of await this.#store.list()) {
      if (clip.locked || clip.recording || !this.#state.isArchived(clip.id, clip.size)) continue;
      try {
        await this.#store.delete(clip.id);
        this.#status.deleted++;
      } catch (error) {
        // Locked, or deleted by loop recording, since the listing: nothing to do.
        if (
          !(error instanceof ClipNotFoundError || error instanceof ClipLockedError ||
            error instanceof ClipBusyError)
        ) throw error;
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      runtime().unrefTimer(timer);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        this.#woken = false;
        done();
      };
    });
  }

  #redact(text: string): string {
    return redactRemote(text, this.#secrets);
  }
}

/** How many archived clips the record keeps: a 256 GB card of 60 s clips holds ~5000. */
const MAX_RECORDS = 20_000;

function seqOf(id: string): number {
  return Number.parseInt(id, 10);
}

/** The host name as a folder name (`dashcam-1`), `dashcam` when it has none. */
export function defaultFolder(): string {
  const name = hostname().split(".")[0].replace(/[^\w.-]+/g, "-").replace(/^[.-]+/, "");
  return name || "dashcam";
}

/** Aborts when `signal` does or after `ms` (AbortSignal.any is Node 20.3+). */
function eitherSignal(signal: AbortSignal, ms: number): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer in ${ms / 1000} s`)), ms);
  runtime().unrefTimer(timer);
  const abort = () => controller.abort(signal.reason);
  if (signal.aborted) abort();
  else signal.addEventListener("abort", abort, { once: true });
  controller.signal.addEventListener("abort", () => {
    clearTimeout(timer);
    signal.removeEventListener("abort", abort);
  }, { once: true });
  return controller.signal;
}
