/**
 * ffprobe results for closed clips, cached in memory and in `.thumbs/probes.json` so a
 * restart does not probe the whole card again.
 *
 * @module
 */
import type { Stats } from "node:fs";
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { probeVideo } from "../process/ffprobe.ts";
import { TaskLimit } from "../task_limit.ts";
import { parseClipName } from "./clip_name.ts";

/** The cache file, in the folder given to {@linkcode ClipProbes.load}. */
export const PROBES_FILE = "probes.json";

/** What ffprobe says about a clip; null for what it could not tell. */
export interface ClipProbe {
  /** Seconds of footage. */
  duration: number | null;
  /** Video codec as ffprobe names it (`mjpeg`, `h264`). */
  codec: string | null;
  width: number | null;
  height: number | null;
}

/** Options for {@linkcode ClipProbes.load}. */
export interface ClipProbesOptions {
  /** ffprobe binary. Default `ffprobe`. */
  ffprobe?: string;
  /** Shared with other ffmpeg/ffprobe runs. Default: at most 2 at once. */
  limit?: TaskLimit;
}

const UNKNOWN: ClipProbe = { duration: null, codec: null, width: null, height: null };

/**
 * Probes clips once per (name, size, mtime). Cached as promises, so two listings at once
 * probe a clip once.
 *
 * @example
 * ```ts
 * import { lstat } from "node:fs/promises";
 * import { ClipProbes } from "./clip_probes.ts";
 *
 * const probes = await ClipProbes.load("/media/pi/REMOVABLE/output/.thumbs");
 * const path = "/media/pi/REMOVABLE/output/000042_20261130-111627.mkv";
 * const probe = await probes.probe("000042_20261130-111627.mkv", path, await lstat(path));
 * await probes.save();
 * ```
 */
export class ClipProbes {
  readonly #dir: string;
  readonly #ffprobe: string;
  readonly #limit: TaskLimit;
  /** Results by file name, valid while the key (size, mtime) matches. */
  readonly #probes = new Map<string, { key: string; probe: Promise<ClipProbe> }>();
  #changed = false;

  private constructor(dir: string, options: ClipProbesOptions) {
    this.#dir = dir;
    this.#ffprobe = options.ffprobe ?? "ffprobe";
    this.#limit = options.limit ?? new TaskLimit(2);
  }

  /** Opens the cache kept in folder `dir`; a missing or broken file is an empty cache. */
  static async load(dir: string, options: ClipProbesOptions = {}): Promise<ClipProbes> {
    const probes = new ClipProbes(dir, options);
    try {
      const json = JSON.parse(await readFile(join(dir, PROBES_FILE), "utf8"));
      for (const [name, item] of Object.entries(json.clips ?? {})) {
        const { key, duration, codec, width, height } = item as Record<string, unknown>;
        if (typeof key !== "string" || !parseClipName(name)) continue;
        const probe: ClipProbe = {
          duration: typeof duration === "number" ? duration : null,
          codec: typeof codec === "string" ? codec : null,
          width: typeof width === "number" ? width : null,
          height: typeof height === "number" ? height : null,
        };
        probes.#probes.set(name, { key, probe: Promise.resolve(probe) });
      }
    } catch {
      // No cache yet, or a broken one: probe again.
    }
    return probes;
  }

  /** Clip file `name` at `path`, whose `lstat` is `info`: cached, or probed now. */
  probe(name: string, path: string, info: Stats): Promise<ClipProbe> {
    const key = `${info.size}:${info.mtime.getTime()}`;
    const cached = this.#probes.get(name);
    if (cached?.key === key) return cached.probe;
    const probe = this.#limit.run(() => probeFile(this.#ffprobe, path))
      .catch(() => {
        // ffprobe missing or killed: report unknowns now, try again next time.
        if (this.#probes.get(name)?.probe === probe) this.#probes.delete(name);
        return UNKNOWN;
      });
    this.#probes.set(name, { key, probe });
    this.#changed = true;
    return probe;
  }

  /** Forgets clip file `name` (deleted). */
  forget(name: string): void {
    if (this.#probes.delete(name)) this.#changed = true;
  }

  /** Forgets every clip not in `names`, so the cache stays as small as the card. */
  keepOnly(names: ReadonlySet<string>): void {
    for (const name of this.#probes.keys()) {
      if (!names.has(name)) this.forget(name);
    }
  }

  /**
   * Writes the cache when it changed (temp file + rename; a cache, so no fsync). Never
   * rejects: a full disk only means probing again after a restart.
   */
  async save(): Promise<void> {
    if (!this.#changed) return;
    this.#changed = false;
    const clips: Record<string, ClipProbe & { key: string }> = {};
    for (const [name, { key, probe }] of this.#probes) clips[name] = { key, ...await probe };
    const temp = join(this.#dir, `.${PROBES_FILE}.${crypto.randomUUID()}.tmp`);
    try {
      await mkdir(this.#dir, { recursive: true });
      await writeFile(temp, JSON.stringify({ clips }));
      await rename(temp, join(this.#dir, PROBES_FILE));
    } catch {
      await unlink(temp).catch(() => {});
    }
  }
}

async function probeFile(ffprobe: string, path: string): Promise<ClipProbe> {
  const entries = "stream=codec_name,width,height:format=duration";
  const { stream, format } = await probeVideo(path, { entries, ffprobe }) ??
    { stream: {}, format: {} };
  const duration = Number(format.duration);
  return {
    duration: Number.isFinite(duration) ? Math.round(duration * 1000) / 1000 : null,
    codec: typeof stream.codec_name === "string" ? stream.codec_name : null,
    width: Number.isSafeInteger(stream.width) ? stream.width as number : null,
    height: Number.isSafeInteger(stream.height) ? stream.height as number : null,
  };
}
