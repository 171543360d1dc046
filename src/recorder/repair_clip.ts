import { rename, unlink } from "node:fs/promises";
import { probeVideo } from "../process/ffprobe.ts";
import { runtime } from "../runtime/current.ts";
import type { ClipExtension } from "../storage/clip_name.ts";

/** What {@linkcode repairClip} found. */
export interface RepairedClip {
  /** Frames the clip holds; 0 means it held no footage and was removed. */
  frames: number;
  /** Seconds of footage, or null when unknown. */
  duration: number | null;
}

/**
 * Makes a clip that was cut off (ffmpeg killed, power lost) whole again: its frames are
 * copied, without re-encoding, into a new file with a proper duration and index, which then
 * replaces it. A file that holds no frame (an MP4 killed before its first fragment) is removed:
 * there is nothing in it to keep.
 */
export async function repairClip(path: string, ext: ClipExtension): Promise<RepairedClip> {
  const temporary = `${path}.repair.${ext}`;
  const format = ext === "mp4"
    ? ["-f", "mp4", "-movflags", "frag_keyframe+empty_moov+default_base_moof"]
    : ["-f", "matroska"];
  const remux = await runtime().output("ffmpeg", {
    args: [
      "-hide_banner",
      "-nostdin",
      "-v",
      "error",
      "-y",
      "-i",
      path,
      "-c",
      "copy",
      ...format,
      temporary,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  });
  const probed = remux.success ? await probe(temporary) : { frames: 0, duration: null };
  if (probed.frames === 0) {
    await unlink(temporary).catch(() => {});
    // Keep what we cannot read but that has data; drop what is only a header.
    if ((await probe(path)).frames === 0) await unlink(path).catch(() => {});
    return { frames: 0, duration: null };
  }
  await rename(temporary, path);
  return probed;
}

async function probe(path: string): Promise<RepairedClip> {
  const probed = await probeVideo(path, {
    entries: "stream=nb_read_packets:format=duration",
    countPackets: true,
  });
  if (!probed) return { frames: 0, duration: null };
  const frames = Number(probed.stream.nb_read_packets ?? 0);
  const duration = Number(probed.format.duration);
  return { frames, duration: Number.isFinite(duration) ? duration : null };
}
