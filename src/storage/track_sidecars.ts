/**
 * GPS tracks kept beside their clips: `000042_20261130-111627.gpx` next to
 * `000042_20261130-111627.mkv` (in `locked/` when the clip is), `000043.recording.gpx` while
 * clip 43 records. {@linkcode ClipStore} moves and deletes them with their clips; this reads
 * them.
 *
 * @module
 */
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { closeGpx, firstTrackPoint } from "../car/gpx.ts";
import { isNotFound } from "./_is_not_found.ts";

/** A track file's extension. */
export const TRACK_EXT = ".gpx";
/** How much of a track is read for its first point: the header and a point fit in 1 KB. */
const TRACK_HEAD_BYTES = 4096;

/** A position, in degrees. */
export interface TrackPosition {
  lat: number;
  lon: number;
}

/**
 * Clip file `name`'s track file name: its own with `.gpx` (`000042_….gpx`,
 * `000043.recording.gpx`).
 */
export function trackName(clipFileName: string): string {
  return clipFileName.slice(0, clipFileName.lastIndexOf(".")) + TRACK_EXT;
}

/**
 * Reads the tracks in an output directory. Paths are relative to it and come from listing
 * the directory, never from a request.
 *
 * @example
 * ```ts
 * import { TrackSidecars } from "./track_sidecars.ts";
 *
 * const tracks = new TrackSidecars("/media/pi/REMOVABLE/output");
 * const start = await tracks.start("locked/000042_20261130-111627.gpx", { final: true });
 * ```
 */
export class TrackSidecars {
  readonly #output: string;
  /** First points of closed clips' tracks, by track path: they never change. */
  readonly #starts = new Map<string, TrackPosition | null>();

  /** Tracks in output directory `output`. */
  constructor(output: string) {
    this.#output = output;
  }

  /**
   * Where track `track` starts (its first point): null when it has none yet, undefined when
   * the file is gone. With `final` (the clip is closed), the answer is kept.
   */
  async start(
    track: string,
    options: { final: boolean },
  ): Promise<TrackPosition | null | undefined> {
    const name = baseName(track);
    const cached = options.final ? this.#starts.get(name) : undefined;
    if (cached !== undefined) return cached;
    let start: TrackPosition | null;
    try {
      const file = await open(join(this.#output, track), "r");
      try {
        const buffer = new Uint8Array(TRACK_HEAD_BYTES);
        const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
        start = firstTrackPoint(new TextDecoder().decode(buffer.subarray(0, bytesRead)));
      } finally {
        await file.close();
      }
    } catch {
      return undefined; // gone since the scan
    }
    // The open clip's track gets its first point later; a closed one's is final.
    if (options.final) this.#starts.set(name, start);
    return start;
  }

  /**
   * Track `track` of clip `id` as whole GPX text (an open one closed as it is so far), or
   * null when it is gone or not a track.
   */
  async read(track: string, id: string): Promise<string | null> {
    let text;
    try {
      text = await readFile(join(this.#output, track), "utf8");
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    return closeGpx(text, id);
  }

  /** Forgets what is known of track `track` (deleted). */
  forget(track: string): void {
    this.#starts.delete(baseName(track));
  }
}

/** The file name of a `/`-separated relative path. */
function baseName(track: string): string {
  return track.slice(track.lastIndexOf("/") + 1);
}
