/**
 * Writes the GPS track of each clip beside it: `000043.recording.gpx` while clip 43 records,
 * one `<trkpt>` line per fix appended and synced as it comes, then, once the clip is saved,
 * closed and moved next to it with the same stem (`000043_20261130-111627+0100.gpx`, in
 * `locked/` when the clip is). A track a power cut left open is closed on the next start,
 * when its clip is repaired.
 *
 * @module
 */
import { type FileHandle, open, readdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { messageOf } from "../errors.ts";
import { SerialQueue } from "../serial_queue.ts";
import { removeTemporaries, writeFileAtomic } from "../storage/write_file_atomic.ts";
import type { GpsFix } from "./gps.ts";
import { closeGpx, GPX_FOOTER, gpxHeader, gpxPoint } from "./gpx.ts";

/** `000043.recording.gpx`. */
const RECORDING_TRACK = /^(\d{6,})\.recording\.gpx$/;
/** A clip file of any kind, to tell a track whose clip is still there. */
const CLIP = /^(\d{6,})(\.recording|_\d{8}-\d{6}([+-]\d{4})?)\.(mkv|mp4)$/;
/** Points held while the card is slow or away; beyond this the oldest are dropped. */
const MAX_BUFFERED_POINTS = 600;

/** The name of clip `seq`'s track while it records. */
export function recordingTrackName(seq: number): string {
  return `${String(seq).padStart(6, "0")}.recording.gpx`;
}

/** The track being written. */
interface OpenTrack {
  seq: number;
  handle: FileHandle;
  points: number;
}

/** Options for {@linkcode ClipTracks}. */
export interface ClipTracksOptions {
  /** The recordings directory. */
  output: string;
  /** The clip being recorded, or null when not recording. */
  currentClip: () => { seq: number } | null;
  /**
   * Puts the closed track `path` of clip `seq` beside that clip (the clip store knows where
   * the clip is: it may be locked meanwhile); removes it when the clip is gone.
   */
  attach: (seq: number, path: string) => Promise<void>;
}

/** {@linkcode ClipTracks.status}. */
export interface ClipTracksStatus {
  /** The track being written (inside the output directory), or null. */
  file: string | null;
  /** Points written to it. */
  points: number;
  /** Points written since launch. */
  total: number;
  /** Points dropped because the card did not take them. */
  dropped: number;
  lastError: string | null;
}

/**
 * One GPX track per clip. {@linkcode add} never throws and never waits for the card: a
 * card that is slow or away holds points in memory (up to ten minutes) and reports it.
 *
 * @example
 * ```ts
 * import { Gps } from "./gps.ts";
 * import type { SegmentRecorder } from "../recorder/segment_recorder.ts";
 * import type { ClipStore } from "../storage/clip_store.ts";
 * declare const recorder: SegmentRecorder;
 * declare const store: ClipStore;
 *
 * const tracks = new ClipTracks({
 *   output: store.output,
 *   currentClip: () => recorder.status().current,
 *   attach: (seq, path) => store.attachTrack(seq, path),
 * });
 * await tracks.recover();
 * const gps = new Gps("auto", { onFix: (fix) => tracks.add(fix) });
 * gps.start();
 * // In the recorder's onClip: void tracks.clipSaved(clip.seq);
 * ```
 */
export class ClipTracks {
  readonly #options: ClipTracksOptions;
  /** The open track: its clip and file. */
  #open: OpenTrack | null = null;
  /** Lines waiting to be written, with the clip they belong to. */
  #buffer: { seq: number; line: string }[] = [];
  #writing: Promise<void> | null = null;
  /** File work one step at a time: writes, closes and moves never interleave. */
  readonly #queue = new SerialQueue();
  /** Clips whose track this process started (a stale file under that name is replaced). */
  readonly #started = new Set<number>();
  /** Clips saved: their track is closed and never opened again. */
  readonly #finished = new Set<number>();
  #total = 0;
  #dropped = 0;
  #lastError: string | null = null;

  constructor(options: ClipTracksOptions) {
    this.#options = options;
  }

  status(): ClipTracksStatus {
    return {
      file: this.#open ? recordingTrackName(this.#open.seq) : null,
      points: this.#open?.points ?? 0,
      total: this.#total,
      dropped: this.#dropped,
      lastError: this.#lastError,
    };
  }

  /** Adds a fix to the track of the clip being recorded (none when not recording). */
  add(fix: GpsFix): void {
    const clip = this.#options.currentClip();
    if (!clip || this.#finished.has(clip.seq)) return;
    this.#buffer.push({ seq: clip.seq, line: gpxPoint(fix) });
    if (this.#buffer.length > MAX_BUFFERED_POINTS) {
      this.#buffer.shift();
      this.#dropped++;
    }
    this.#writing ??= this.#serial(() => this.#drain()).finally(() => this.#writing = null);
  }

  /**
   * Clip `seq` is saved under its final name: closes its track and has it put beside it.
   * Never rejects; a failure is in {@linkcode status} and the track stays to be closed on
   * the next start.
   */
  clipSaved(seq: number): Promise<void> {
    return this.#serial(async () => {
      // Its points buffered until now are its own: written first, then no more.
      await this.#drain();
      this.#finished.add(seq);
      for (const old of this.#finished) if (old < seq - 100) this.#finished.delete(old);
      try {
        if (this.#open?.seq === seq) await this.#closeOpen(true);
        await this.#finish(seq);
      } catch (error) {
        this.#lastError = `Cannot save the GPS track of clip ${seq}: ${messageOf(error)}`;
      }
    });
  }

  /**
   * Closes the tracks a power cut or a crash left open: those whose clip is saved are put
   * beside it, those whose clip is gone are removed, and those whose clip still waits for its
   * repair are left for {@linkcode clipSaved}. Call before recording starts. Never rejects.
   */
  recover(): Promise<void> {
    return this.#serial(async () => {
      const output = this.#options.output;
      let names: string[];
      try {
        names = await readdir(output);
      } catch (error) {
        this.#lastError = `Cannot look for GPS tracks in ${this.#options.output}: ${
          messageOf(error)
        }`;
        return;
      }
      // seq → whether that clip still has its recording name (its repair is to come).
      const clips = new Map<number, boolean>();
      const locked = await readdir(join(output, "locked")).catch(() => [] as string[]);
      for (const name of [...names, ...locked]) {
        const match = CLIP.exec(name);
        if (!match) continue;
        const seq = Number(match[1]);
        clips.set(seq, clips.get(seq) === true || match[2] === ".recording");
      }
      // Rewrites a power cut stopped half-way: the track they were closing is whole beside them.
      await removeTemporaries(output, (name) => RECORDING_TRACK.test(name)).catch(() => {});
      for (const name of names) {
        if (name.endsWith(".gpx.tmp")) {
          await unlink(join(output, name)).catch(() => {}); // an older rewrite's temporary
          continue;
        }
        const match = RECORDING_TRACK.exec(name);
        if (!match) continue;
        const seq = Number(match[1]);
        if (this.#started.has(seq) || clips.get(seq) === true) continue;
        try {
          if (clips.has(seq)) await this.#finish(seq);
          else await unlink(join(output, name));
        } catch (error) {
          this.#lastError = `Cannot close the GPS track ${name}: ${messageOf(error)}`;
        }
      }
    });
  }

  /** Writes what is buffered and closes the open track (recording stopped: its clip is saved). */
  stop(): Promise<void> {
    return this.#serial(async () => {
      await this.#drain();
      // Left open: the clip's save (or the next start) closes it.
      if (this.#open) await this.#closeOpen(false).catch(() => {});
    });
  }

  /** Writes the buffered lines, each to its clip's track, syncing after each batch. */
  async #drain(): Promise<void> {
    while (this.#buffer.length > 0) {
      const seq = this.#buffer[0].seq;
      const lines: string[] = [];
      while (this.#buffer[0]?.seq === seq) lines.push(this.#buffer.shift()!.line);
      if (this.#finished.has(seq)) continue; // saved meanwhile: too late for this clip
      try {
        const track = await this.#trackFor(seq);
        await track.handle.write(lines.join(""));
        // A point a second: syncing each keeps the track as long as the footage a power cut
        // leaves (the clip loses its last second), at a cost the card barely notices.
        await track.handle.datasync();
        track.points += lines.length;
        this.#total += lines.length;
        this.#lastError = null;
      } catch (error) {
        this.#lastError = `Cannot write the GPS track ${recordingTrackName(seq)}: ${
          messageOf(error)
        }`;
        // The card may be away: put the points back and try again with the next fix.
        this.#buffer.unshift(...lines.map((line) => ({ seq, line })));
        const open = this.#open;
        this.#open = null;
        await open?.handle.close().catch(() => {});
        return;
      }
    }
  }

  /** The open track of clip `seq`, opening (and for a new clip, starting) it. */
  async #trackFor(seq: number): Promise<OpenTrack> {
    if (this.#open?.seq === seq) return this.#open;
    // The clip before is closed by its save; points may still come for it (a seq reused).
    if (this.#open) await this.#closeOpen(false);
    const path = join(this.#options.output, recordingTrackName(seq));
    const first = !this.#started.has(seq);
    const handle = await open(path, first ? "w" : "a");
    if (first) {
      await handle.write(gpxHeader(String(seq).padStart(6, "0")));
      this.#started.add(seq);
      for (const old of this.#started) if (old < seq - 100) this.#started.delete(old);
    }
    this.#open = { seq, handle, points: 0 };
    return this.#open;
  }

  /** Closes the open track's file, with the closing tags when the track is complete. */
  async #closeOpen(complete: boolean): Promise<void> {
    const open = this.#open!;
    this.#open = null;
    try {
      if (complete) {
        await open.handle.write(GPX_FOOTER);
        await open.handle.datasync();
      }
    } finally {
      await open.handle.close();
    }
  }

  /** Makes clip `seq`'s recording track whole (if needed) and hands it to `attach`. */
  async #finish(seq: number): Promise<void> {
    const path = join(this.#options.output, recordingTrackName(seq));
    let text;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return; // no track for this clip
      throw error;
    }
    const closed = closeGpx(text, String(seq).padStart(6, "0"));
    if (closed === null || !closed.includes("<trkpt")) {
      await unlink(path); // not one point: no track
      return;
    }
    if (closed !== text) {
      // Cut off by a power cut: rewritten whole, atomically, so a second cut cannot leave
      // less than the first did.
      await writeFileAtomic(path, closed);
    }
    await this.#options.attach(seq, path);
  }

  #serial<T>(step: () => Promise<T>): Promise<T> {
    return this.#queue.run(step);
  }
}
