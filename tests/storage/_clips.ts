/** Test clips: real Matroska files made once by ffmpeg, copied under clip names. */
import { join } from "node:path";
import { run } from "../_helpers.ts";

let made: Promise<Uint8Array> | undefined;

/** A 1 s, 160x120, 10 fps MJPEG Matroska clip (testsrc), made once per test module. */
export function sampleClip(): Promise<Uint8Array> {
  made ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "sample_clip_" });
    try {
      const path = join(dir, "000001_20261130-111627.mkv");
      await run([
        "ffmpeg",
        "-hide_banner",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=10",
        "-t",
        "1",
        "-c:v",
        "mjpeg",
        "-f",
        "matroska",
        path,
      ]);
      return await Deno.readFile(path);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return made;
}

/** Writes the sample clip under each name (relative to `dir`, e.g. `locked/…`). */
export async function writeClips(dir: string, ...names: string[]): Promise<void> {
  const bytes = await sampleClip();
  for (const name of names) {
    await Deno.mkdir(join(dir, name, ".."), { recursive: true });
    await Deno.writeFile(join(dir, name), bytes);
  }
}

/** Sorted file names in `dir` (empty when it does not exist). */
export async function filesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

/** A temp output directory, removed on dispose. */
export async function tempOutput(prefix: string) {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}
