/**
 * Clip thumbnails: the first frame as a 320-pixel-wide JPEG, made by ffmpeg and cached in
 * `.thumbs/<id>.jpg` for closed clips.
 *
 * @module
 */
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { runtime } from "../runtime/current.ts";
import { TaskLimit } from "../task_limit.ts";

/** Options for {@linkcode ClipThumbnails}. */
export interface ClipThumbnailsOptions {
  /** ffmpeg binary. Default `ffmpeg`. */
  ffmpeg?: string;
  /** Shared with other ffmpeg/ffprobe runs. Default: at most 2 at once. */
  limit?: TaskLimit;
}

/** A clip to make a thumbnail of. */
export interface ThumbnailSource {
  /** Clip id: the cache file is `<id>.jpg`. */
  id: string;
  /** The clip file's path. */
  path: string;
  /** Being written: never cached, as its first frame may not be written yet. */
  recording: boolean;
}

/**
 * Thumbnails cached in one folder. Two requests for the same clip at once run ffmpeg once.
 *
 * @example
 * ```ts
 * import { ClipThumbnails } from "./clip_thumbnails.ts";
 *
 * const thumbnails = new ClipThumbnails("/media/pi/REMOVABLE/output/.thumbs");
 * const jpeg = await thumbnails.get({
 *   id: "000042_20261130-111627",
 *   path: "/media/pi/REMOVABLE/output/000042_20261130-111627.mkv",
 *   recording: false,
 * });
 * ```
 */
export class ClipThumbnails {
  readonly #dir: string;
  readonly #ffmpeg: string;
  readonly #limit: TaskLimit;
  readonly #making = new Map<string, Promise<Uint8Array | null>>();

  /** Thumbnails cached in folder `dir` (created when the first is written). */
  constructor(dir: string, options: ClipThumbnailsOptions = {}) {
    this.#dir = dir;
    this.#ffmpeg = options.ffmpeg ?? "ffmpeg";
    this.#limit = options.limit ?? new TaskLimit(2);
  }

  /** The clip's thumbnail, or null when ffmpeg gave no image (no frame written yet?). */
  async get(clip: ThumbnailSource): Promise<Uint8Array | null> {
    const cache = this.#cachePath(clip.id);
    if (!clip.recording) {
      try {
        return new Uint8Array(await readFile(cache));
      } catch {
        // not made yet
      }
    }
    let making = this.#making.get(clip.id);
    if (!making) {
      making = this.#make(clip.path, clip.recording ? null : cache)
        .finally(() => this.#making.delete(clip.id));
      this.#making.set(clip.id, making);
    }
    return await making;
  }

  /** Removes clip `id`'s cached thumbnail (the clip is deleted). */
  async remove(id: string): Promise<void> {
    await unlink(this.#cachePath(id)).catch(() => {});
  }

  #cachePath(id: string): string {
    return join(this.#dir, `${id}.jpg`);
  }

  async #make(path: string, cache: string | null): Promise<Uint8Array | null> {
    const jpeg = await this.#limit.run(() => firstFrame(this.#ffmpeg, path));
    if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return null;
    if (cache) {
      // A cache: no fsync, and a full disk only means making it again next time.
      // Named like writeFileAtomic's temporaries, so ClipStore.open removes one a crash left.
      const temp = join(this.#dir, `.${basename(cache)}.${crypto.randomUUID()}.tmp`);
      await mkdir(this.#dir, { recursive: true })
        .then(() => writeFile(temp, jpeg))
        .then(() => rename(temp, cache))
        .catch(() => unlink(temp).catch(() => {}));
    }
    return jpeg;
  }
}

/** Decodes only the first frame, scaled down: cheap even on a Pi. */
async function firstFrame(ffmpeg: string, path: string): Promise<Uint8Array> {
  const output = await runtime().output(ffmpeg, {
    args: [
      "-nostdin",
      "-hide_banner",
      "-v",
      "error",
      "-i",
      path,
      "-map",
      "0:v:0",
      "-frames:v",
      "1",
      "-vf",
      "scale=320:-2",
      "-q:v",
      "5",
      "-f",
      "image2",
      "-",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  });
  return output.success ? output.stdout : new Uint8Array();
}
