/**
 * The recordings directory as a set of clips: listing, locking, deleting, thumbnails and
 * loop-recording retention.
 *
 * Layout on the card, so a user browsing it on a laptop sees what is protected:
 *
 * ```
 * <output>/000043.recording.mkv          the clip being written
 * <output>/000042_20261130-111627.mkv    closed clips
 * <output>/locked/000041_20261130-111527.mkv   locked clips (never deleted by loop recording)
 * <output>/locked/pending.json           locks waiting for a clip to close (survives restarts)
 * <output>/.thumbs/000042_20261130-111627.jpg  thumbnail cache
 * <output>/000042_20261130-111627.gpx    a clip's GPS track (same stem), moved and deleted with it
 * ```
 *
 * @module
 */
import type { Stats } from "node:fs";
import { lstat, mkdir, open, readdir, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { SerialQueue } from "../serial_queue.ts";
import { TaskLimit } from "../task_limit.ts";
import { isNotFound } from "./_is_not_found.ts";
import { parseClipName } from "./clip_name.ts";
import { ClipProbes, PROBES_FILE } from "./clip_probes.ts";
import { ClipThumbnails } from "./clip_thumbnails.ts";
import { type DiskSpace, diskSpace } from "./disk_space.ts";
import { OpenClipFile } from "./open_clip_file.ts";
import { PENDING_FILE, PendingLocks } from "./pending_locks.ts";
import { planRetention, type RetentionLimits, type RetentionPlan } from "./retention_policy.ts";
import { TRACK_EXT, trackName, TrackSidecars } from "./track_sidecars.ts";
import { removeTemporaries, syncDirectory } from "./write_file_atomic.ts";

/** Folder inside the output directory that holds locked clips. */
export const LOCKED_DIR = "locked";
/** Caches: thumbnails and ffprobe results (`probes.json`); safe to delete. */
const THUMBS_DIR = ".thumbs";
/**
 * A clip id: `000042_20261130-111627+0100` for a closed clip (`000042_20261130-111627` from
 * before names carried their UTC offset), `000043` for the one being written.
 */
const CLIP_ID = /^\d{6,15}(_\d{8}-\d{6}([+-]\d{4})?)?$/;

/**
 * Whether `value` is a well-formed clip id. Only digits, `_`, `+` and `-` pass, so no path,
 * `..`, separator or NUL can; the id is then looked up among the listed files, never joined
 * into a path.
 */
export function isClipId(value: string): boolean {
  return typeof value === "string" && CLIP_ID.test(value);
}

/** A clip, as listed by {@linkcode ClipStore.list}. */
export interface ClipInfo {
  /** File name without `.mkv` (`000042_20261130-111627`); `000043` for the clip being written. */
  id: string;
  seq: number;
  /** Path relative to the output directory, `/`-separated: `locked/000042_….mkv`. */
  file: string;
  /** Start time, ms since the epoch: from the name, or the file's birth time while recording. */
  start: number;
  /** Seconds of footage; while recording, the time since it started. Null when unknown. */
  duration: number | null;
  size: number;
  /** Video codec as ffprobe names it (`mjpeg`, `h264`); null while recording or unreadable. */
  codec: string | null;
  width: number | null;
  height: number | null;
  /** Locked, or due to be locked when it closes. */
  locked: boolean;
  /** Being written (`.recording.mkv`). */
  recording: boolean;
  /** Its GPS track, relative like `file` (`locked/000042_….gpx`); absent without one. */
  track?: string;
  /** Where the clip started (its track's first point); absent when unknown. */
  startPosition?: { lat: number; lon: number };
}

/** A clip opened for reading by {@linkcode ClipStore.openClip}. */
export interface ClipFile {
  /** Open for reading; the caller closes it (reading `file.readable()` to the end does). */
  file: OpenClipFile;
  /** File name, e.g. `000042_20261130-111627.mkv`. */
  name: string;
  /** Size when opened; a clip being written grows past it. */
  size: number;
  recording: boolean;
}

/** What a lock request did to one clip. */
export interface LockResult {
  seq: number;
  /** The clip's id, or null for a clip that has not started yet. */
  id: string | null;
  /**
   * `locked`: the clip is in `locked/`. `pending`: it is being written (or not started) and
   * goes to `locked/` when it closes. `missing`: there is no such clip (deleted, or before
   * the first one), nothing was done.
   */
  state: "locked" | "pending" | "missing";
}

/** No clip has this id (or it is not a regular file). Callers answer 404. */
export class ClipNotFoundError extends Error {
  readonly id: string;
  constructor(id: string) {
    super(`Clip not found: ${id}`);
    this.name = "ClipNotFoundError";
    this.id = id;
  }
}

/** The clip has no GPS track. Callers answer 404. */
export class TrackNotFoundError extends ClipNotFoundError {
  constructor(id: string) {
    super(id);
    this.name = "TrackNotFoundError";
    this.message = `No GPS track for clip ${id}`;
  }
}

/** The clip is locked; unlock it first. Callers answer 409. */
export class ClipLockedError extends Error {
  readonly id: string;
  constructor(id: string) {
    super(`Clip is locked: ${id} (unlock it first)`);
    this.name = "ClipLockedError";
    this.id = id;
  }
}

/** The clip is being written. Callers answer 409. */
export class ClipBusyError extends Error {
  readonly id: string;
  constructor(id: string, message = `Clip is being recorded: ${id}`) {
    super(message);
    this.name = "ClipBusyError";
    this.id = id;
  }
}

/** Options for {@linkcode ClipStore.open}. */
export interface ClipStoreOptions {
  /** ffmpeg binary for thumbnails. Default `ffmpeg`. */
  ffmpeg?: string;
  /** ffprobe binary for durations, codecs and sizes. Default `ffprobe`. */
  ffprobe?: string;
  /** How many ffmpeg/ffprobe may run at once (a Pi has 4 slow cores). Default 2. */
  concurrency?: number;
  /**
   * A pending lock for a clip that had not started is dropped when the store opens this
   * long after the lock (recording stopped before that clip began). Default 1 hour.
   */
  pendingExpiryMs?: number;
}

/** Options for {@linkcode ClipStore.enforce}. */
export interface EnforceOptions {
  /** Room to keep for the next clip. Default: the largest of the last 3 closed clips. */
  reserveBytes?: number;
  /** Whether clip `id` of `size` bytes is archived: such clips are deleted first. */
  archived?: (id: string, size: number) => boolean;
}

/** A clip file found by scanning; names come from the directory, never from a request. */
interface Entry {
  id: string;
  seq: number;
  /** `""` or `locked`. */
  dir: "" | typeof LOCKED_DIR;
  name: string;
  /** Start from the name (closed clips only). */
  start?: number;
  recording: boolean;
  /** Its GPS track's path relative to the output directory, when there is one. */
  track?: string;
}

/**
 * The clips in an output directory. Open it with {@linkcode ClipStore.open}; every change
 * (lock, unlock, delete, retention) runs one at a time, and every move is fsync'ed so a
 * power cut leaves each clip either where it was or where it went.
 *
 * @example
 * ```ts
 * import { parseByteSize } from "./byte_size.ts";
 * import type { SegmentRecorder } from "../recorder/segment_recorder.ts";
 * declare const recorder: SegmentRecorder;
 *
 * const store = await ClipStore.open("/media/pi/REMOVABLE/output");
 * const clips = await store.list(); // newest first
 * await store.lockEvent(recorder.status().current!.seq);
 * const plan = await store.enforce({ maxBytes: parseByteSize("20G") });
 * ```
 */
export class ClipStore {
  readonly #output: string;
  readonly #options: ClipStoreOptions;
  /** Locks waiting for their clip to close; loaded by {@linkcode ClipStore.open}. */
  #pending!: PendingLocks;
  /** Changes (lock, unlock, delete, retention, pending writes) run one at a time. */
  #exclusive = new SerialQueue();
  /** ffprobe results of closed clips; loaded by {@linkcode ClipStore.open}. */
  #probes!: ClipProbes;
  readonly #thumbnails: ClipThumbnails;
  readonly #tracks: TrackSidecars;
  /** ffmpeg and ffprobe runs share this. */
  readonly #limit: TaskLimit;

  private constructor(output: string, options: ClipStoreOptions) {
    this.#output = output;
    this.#options = options;
    this.#limit = new TaskLimit(options.concurrency ?? 2);
    this.#tracks = new TrackSidecars(output);
    this.#thumbnails = new ClipThumbnails(join(output, THUMBS_DIR), {
      ffmpeg: options.ffmpeg,
      limit: this.#limit,
    });
  }

  /**
   * Opens the store over `output`: creates `locked/`, loads pending locks, and applies those
   * whose clip closed while the process was down.
   */
  static async open(output: string, options: ClipStoreOptions = {}): Promise<ClipStore> {
    const store = new ClipStore(output, options);
    const locked = join(output, LOCKED_DIR);
    await mkdir(locked, { recursive: true });
    // readDir follows a symlink: locked/ pointing elsewhere would serve files from there.
    if (!(await lstat(locked)).isDirectory()) {
      throw new Error(`Cannot use ${locked}: it is not a directory (a symlink?)`);
    }
    // What a crash cut off mid-write (the old file, or none, is whole beside it). Left
    // where it cannot be removed (a read-only card): that is no reason not to list clips.
    await removeTemporaries(locked, (name) => name === PENDING_FILE).catch(() => {});
    await removeTemporaries(
      join(output, THUMBS_DIR),
      (name) => name === PROBES_FILE || name.endsWith(".jpg"),
    ).catch(() => {});
    store.#pending = await PendingLocks.load(locked);
    await store.#exclusive.run(() => store.#reconcile(store.#pending.seqs(), true));
    store.#probes = await ClipProbes.load(join(output, THUMBS_DIR), {
      ffprobe: options.ffprobe,
      limit: store.#limit,
    });
    return store;
  }

  /** The output directory. */
  get output(): string {
    return this.#output;
  }

  /**
   * All clips, newest first. Closed clips are probed once per (name, size, mtime), and the
   * results kept in `.thumbs/probes.json` so a restart does not probe the whole card again.
   */
  async list(): Promise<ClipInfo[]> {
    const entries = await this.#scan();
    const now = Date.now();
    const seen = new Set<string>();
    const clips = await Promise.all(entries.map(async (entry) => {
      const path = this.#path(entry);
      let info: Stats;
      try {
        info = await lstat(path);
      } catch {
        return null; // deleted or renamed since the scan
      }
      if (!info.isFile()) return null;
      const locked = entry.dir === LOCKED_DIR || this.#pending.has(entry.seq);
      const base = {
        id: entry.id,
        seq: entry.seq,
        file: entry.dir ? `${entry.dir}/${entry.name}` : entry.name,
        size: info.size,
        locked,
        recording: entry.recording,
        ...await this.#trackInfo(entry),
      };
      if (entry.recording) {
        // 0 where the file system keeps no birth time.
        const start = info.birthtimeMs > 0 ? Math.round(info.birthtimeMs) : info.mtime.getTime();
        const duration = Math.max(0, Math.round((now - start) / 100) / 10);
        return { ...base, start, duration, codec: null, width: null, height: null };
      }
      seen.add(entry.name);
      const probe = await this.#probes.probe(entry.name, path, info);
      return { ...base, start: entry.start!, ...probe };
    }));
    this.#probes.keepOnly(seen);
    await this.#probes.save();
    return clips.filter((clip): clip is ClipInfo => clip !== null)
      .sort((a, b) => b.seq - a.seq || (a.id < b.id ? 1 : -1));
  }

  /**
   * The absolute path of clip `id`. The one place ids are checked: only well-formed ids
   * (see {@linkcode isClipId}) of regular files found by listing the directory resolve;
   * symlinks never do.
   *
   * @throws {TypeError} for a malformed id.
   * @throws {ClipNotFoundError} when there is no such clip.
   */
  async resolve(id: string): Promise<string> {
    return this.#path(await this.#find(id));
  }

  /**
   * Opens clip `id` for reading (the caller closes `file`). The opened file must be the
   * listed regular file (same inode), so a symlink swapped in after the lookup is refused.
   *
   * @throws {TypeError} for a malformed id.
   * @throws {ClipNotFoundError} when there is no such clip.
   */
  async openClip(id: string): Promise<ClipFile> {
    const entry = await this.#find(id);
    const path = this.#path(entry);
    let handle;
    try {
      handle = await open(path, "r");
    } catch (error) {
      if (isNotFound(error)) throw new ClipNotFoundError(id);
      throw error;
    }
    const file = new OpenClipFile(handle);
    try {
      const [opened, listed] = await Promise.all([handle.stat(), lstat(path)]);
      if (
        !opened.isFile() || !listed.isFile() || opened.ino !== listed.ino ||
        opened.dev !== listed.dev
      ) {
        throw new ClipNotFoundError(id);
      }
      return { file, name: entry.name, size: opened.size, recording: entry.recording };
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Whether clip `seq` should go to `locked/` when it closes: `"locked"` or `""`. */
  destinationFor(seq: number): "" | typeof LOCKED_DIR {
    return this.#pending.has(seq) ? LOCKED_DIR : "";
  }

  /**
   * Tells the store clip `seq` has its final name. If a lock is pending for it, the clip is
   * moved to `locked/` (unless the recorder already put it there) and the lock settled.
   * Never rejects: a failure leaves the lock pending, to be retried on the next open.
   */
  async settled(seq: number): Promise<void> {
    if (!this.#pending.has(seq)) return;
    await this.#exclusive.run(() => this.#reconcile([seq])).catch(() => {});
  }

  /**
   * Locks clip `id`: a closed clip moves to `locked/`; the clip being written is locked
   * when it closes. Locking a locked clip does nothing.
   */
  lock(id: string): Promise<LockResult> {
    return this.#exclusive.run(async () => {
      const entry = await this.#find(id);
      const [result] = await this.#lockSeqs([entry.seq]);
      return result;
    });
  }

  /**
   * Locks an event: clip `seq` (usually the one being written), the one before it and the
   * one after it, as a dashcam does when it senses a crash.
   */
  lockEvent(seq: number): Promise<LockResult[]> {
    return this.#exclusive.run(() => this.#lockSeqs([seq - 1, seq, seq + 1].filter((n) => n >= 0)));
  }

  /** Unlocks clip `id`: moves it back beside the others and drops any pending lock. */
  unlock(id: string): Promise<void> {
    return this.#exclusive.run(async () => {
      const entry = await this.#find(id);
      if (this.#pending.delete(entry.seq)) await this.#pending.save();
      if (entry.dir === LOCKED_DIR) await this.#move(entry, "");
    });
  }

  /**
   * Deletes clip `id`, its thumbnail and its GPS track.
   *
   * @throws {ClipBusyError} for the clip being written.
   * @throws {ClipLockedError} for a locked clip.
   */
  delete(id: string): Promise<void> {
    return this.#exclusive.run(async () => {
      const entry = await this.#find(id);
      if (entry.recording) throw new ClipBusyError(entry.id);
      if (entry.dir === LOCKED_DIR || this.#pending.has(entry.seq)) {
        throw new ClipLockedError(entry.id);
      }
      await this.#remove(entry);
    });
  }

  /**
   * The clip's first frame as a 320-pixel-wide JPEG, cached in `.thumbs/` for closed clips.
   *
   * @throws {ClipBusyError} for a clip being written that has no frame yet.
   */
  async thumbnail(id: string): Promise<Uint8Array> {
    const entry = await this.#find(id);
    const { recording } = entry;
    const jpeg = await this.#thumbnails.get({ id: entry.id, path: this.#path(entry), recording });
    if (jpeg) return jpeg;
    if (recording) throw new ClipBusyError(entry.id, `Clip has no frame yet: ${entry.id}`);
    throw new Error(`Cannot make a thumbnail of ${entry.name}: ffmpeg gave no image`);
  }

  /**
   * Puts clip `seq`'s closed GPS track (`path`, anywhere on the same file system) beside the
   * closed clip, as `<clip stem>.gpx`, in whichever folder the clip is now; removes it when
   * there is no such closed clip (it held no footage). Runs with the other changes, so a lock
   * moving the clip meanwhile cannot part them.
   */
  attachTrack(seq: number, path: string): Promise<void> {
    return this.#exclusive.run(async () => {
      const entry = (await this.#scan()).find((candidate) =>
        candidate.seq === seq && !candidate.recording
      );
      if (!entry) {
        await unlink(path).catch(() => {});
        return;
      }
      const dir = join(this.#output, entry.dir);
      await rename(path, join(dir, trackName(entry.name)));
      await syncDirectory(dir);
    });
  }

  /**
   * Clip `id`'s GPS track as GPX text (that of the clip being written closed as it is so far)
   * and its file name.
   *
   * @throws {TypeError} for a malformed id.
   * @throws {ClipNotFoundError} when there is no such clip ({@linkcode TrackNotFoundError}
   * when it has no track).
   */
  async readTrack(id: string): Promise<{ name: string; text: string }> {
    const entry = await this.#find(id);
    if (!entry.track) throw new TrackNotFoundError(id);
    const text = await this.#tracks.read(entry.track, entry.id);
    if (text === null) throw new TrackNotFoundError(id);
    return { name: trackName(entry.name), text };
  }

  /** The clip's track and where it started, for {@linkcode list}. */
  async #trackInfo(entry: Entry): Promise<Pick<ClipInfo, "track" | "startPosition">> {
    if (!entry.track) return {};
    const start = await this.#tracks.start(entry.track, { final: !entry.recording });
    if (start === undefined) return {};
    return start ? { track: entry.track, startPosition: start } : { track: entry.track };
  }

  /**
   * Loop recording: deletes the oldest unlocked clips until the limits hold with room for
   * the next clip, and returns the plan. When `plan.ok` is false nothing was deleted and
   * `plan.reason` says why; the caller should stop recording.
   */
  enforce(limits: RetentionLimits, options: EnforceOptions = {}): Promise<RetentionPlan> {
    return this.#exclusive.run(async () => {
      const entries = await this.#scan();
      const clips = [];
      for (const entry of entries) {
        let size;
        try {
          size = (await lstat(this.#path(entry))).size;
        } catch {
          continue;
        }
        clips.push({
          entry,
          id: entry.id,
          seq: entry.seq,
          size,
          locked: entry.dir === LOCKED_DIR || this.#pending.has(entry.seq),
          recording: entry.recording,
          archived: !entry.recording && (options.archived?.(entry.id, size) ?? false),
        });
      }
      const reserveBytes = options.reserveBytes ?? Math.max(
        0,
        ...clips.filter((clip) => !clip.recording).sort((a, b) => b.seq - a.seq).slice(0, 3)
          .map((clip) => clip.size),
      );
      const disk: DiskSpace = await diskSpace(this.#output);
      const plan = planRetention({ clips, limits, disk, reserveBytes });
      const byId = new Map(clips.map((clip) => [clip.id, clip.entry]));
      for (const id of plan.delete) await this.#remove(byId.get(id)!);
      return plan;
    });
  }

  /** Finds a clip by id among the listed files. */
  async #find(id: string): Promise<Entry> {
    if (!isClipId(id)) {
      throw new TypeError(`Invalid clip id: ${JSON.stringify(String(id).slice(0, 64))}`);
    }
    const entry = (await this.#scan()).find((candidate) => candidate.id === id);
    if (!entry) throw new ClipNotFoundError(id);
    // The scan skips symlinks; check again in case one replaced the file since.
    try {
      const info = await lstat(this.#path(entry));
      if (info.isFile()) return entry;
    } catch {
      // gone
    }
    throw new ClipNotFoundError(id);
  }

  /** Clip files in the output directory and `locked/`, regular files only. */
  async #scan(): Promise<Entry[]> {
    const entries = new Map<string, Entry>();
    const tracks = new Map<string, Set<string>>(); // track name → the folders holding it
    for (const dir of [LOCKED_DIR, ""] as const) {
      try {
        for (const item of await readdir(join(this.#output, dir), { withFileTypes: true })) {
          if (!item.isFile()) continue; // symlinks and folders are never clips
          if (item.name.endsWith(TRACK_EXT)) {
            tracks.set(item.name, (tracks.get(item.name) ?? new Set()).add(dir));
            continue;
          }
          const name = parseClipName(item.name);
          if (!name || (dir === LOCKED_DIR && name.recording)) continue;
          const id = name.recording
            ? item.name.slice(0, item.name.indexOf("."))
            : item.name.slice(0, -4);
          // A clip copied into both folders is listed once, as locked.
          if (entries.has(id)) continue;
          entries.set(id, {
            id,
            seq: name.seq,
            dir,
            name: item.name,
            start: name.start,
            recording: name.recording,
          });
        }
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    for (const entry of entries.values()) {
      const name = trackName(entry.name);
      const dirs = tracks.get(name);
      if (!dirs) continue;
      // Beside the clip, else in the other folder (a power cut between the clip's move and
      // its track's): found there, and moved beside it by the next move.
      const dir = dirs.has(entry.dir) ? entry.dir : [...dirs][0];
      entry.track = dir ? `${dir}/${name}` : name;
    }
    return [...entries.values()];
  }

  #path(entry: Entry): string {
    return join(this.#output, entry.dir, entry.name);
  }

  async #lockSeqs(seqs: number[]): Promise<LockResult[]> {
    const entries = await this.#scan();
    const newest = Math.max(-1, ...entries.map((entry) => entry.seq));
    const results: LockResult[] = [];
    let changed = false;
    for (const seq of seqs) {
      const entry = pick(entries, seq);
      if (entry?.dir === LOCKED_DIR) {
        results.push({ seq, id: entry.id, state: "locked" });
      } else if (entry && !entry.recording) {
        await this.#move(entry, LOCKED_DIR);
        results.push({ seq, id: entry.id, state: "locked" });
      } else if (entry || seq > newest) {
        if (this.#pending.add(seq)) changed = true;
        results.push({ seq, id: entry?.id ?? null, state: "pending" });
      } else {
        results.push({ seq, id: null, state: "missing" });
      }
    }
    if (changed) {
      await this.#pending.save();
      // The recorder may have renamed a clip between our scan and the pending write, and
      // asked settled() before the lock was pending: check again.
      const settled = await this.#reconcile(seqs.filter((seq) => this.#pending.has(seq)));
      for (const result of results) {
        if (settled.has(result.seq)) result.state = "locked";
      }
    }
    return results;
  }

  /** Applies pending locks whose clip has closed; returns the seqs now locked. */
  async #reconcile(seqs: number[], expire = false): Promise<Set<number>> {
    const entries = await this.#scan();
    const done = new Set<number>();
    let changed = false;
    const expiry = this.#options.pendingExpiryMs ?? 3_600_000;
    for (const seq of seqs) {
      const entry = pick(entries, seq);
      if (entry?.recording) continue;
      if (!entry) {
        if (expire && Date.now() - this.#pending.askedAt(seq)! > expiry) {
          this.#pending.delete(seq);
          changed = true;
        }
        continue;
      }
      if (entry.dir !== LOCKED_DIR) await this.#move(entry, LOCKED_DIR);
      this.#pending.delete(seq);
      done.add(seq);
      changed = true;
    }
    if (changed) await this.#pending.save();
    return done;
  }

  /** Moves a clip between the output folder and `locked/`, and fsyncs both folders. */
  async #move(entry: Entry, to: "" | typeof LOCKED_DIR): Promise<void> {
    const from = this.#path(entry);
    await rename(from, join(this.#output, to, entry.name));
    if (entry.track) {
      // Its GPS track goes with it; one gone meanwhile is no reason to fail the move.
      await rename(join(this.#output, entry.track), join(this.#output, to, trackName(entry.name)))
        .catch((error) => {
          if (!isNotFound(error)) throw error;
        });
    }
    await syncDirectory(join(this.#output, to));
    await syncDirectory(join(this.#output, entry.dir));
  }

  async #remove(entry: Entry): Promise<void> {
    await unlink(this.#path(entry)).catch((error) => {
      if (!isNotFound(error)) throw error;
    });
    if (entry.track) {
      await unlink(join(this.#output, entry.track)).catch(() => {});
      this.#tracks.forget(entry.track);
    }
    this.#probes.forget(entry.name);
    await this.#thumbnails.remove(entry.id);
  }
}

/** The entry for `seq`, preferring a closed clip over an open one. */
function pick(entries: Entry[], seq: number): Entry | undefined {
  const matches = entries.filter((entry) => entry.seq === seq);
  return matches.find((entry) => !entry.recording) ?? matches[0];
}
