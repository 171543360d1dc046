/** Test helpers for fragmented MP4: H.264 frames made by ffmpeg, and a reader of the boxes. */
import { H264AccessUnitStream } from "../../src/frames/h264_access_unit_stream.ts";
import type { Frame } from "../../src/frames/frame.ts";
import { lavfi } from "../_helpers.ts";

/**
 * `frames` H.264 access units (Annex B, SPS/PPS before each keyframe, no B-frames) of the
 * moving test pattern, as a camera in H.264 mode gives them. `noise` makes big frames.
 */
export async function makeH264(
  options: { width: number; height: number; frames: number; gop: number; noise?: boolean },
): Promise<Frame[]> {
  const { width, height, frames, gop } = options;
  const filter = `testsrc2=size=${width}x${height}:rate=30` +
    (options.noise ? ",noise=alls=60:allf=t" : "");
  const bytes = await lavfi(filter, [
    "-frames:v",
    String(frames),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-pix_fmt",
    "yuv420p",
    "-g",
    String(gop),
    "-sc_threshold",
    "0",
    "-x264-params",
    "repeat-headers=1",
    ...(options.noise ? ["-qp", "0"] : []),
    "-f",
    "h264",
    "-",
  ]);
  const out: Frame[] = [];
  const source = ReadableStream.from([bytes]).pipeThrough(new H264AccessUnitStream());
  for await (const frame of source) out.push(frame);
  return out;
}

/** One fragment of a stream: its sample's flags say keyframe or not; the sample's bytes. */
export interface Fragment {
  keyframe: boolean;
  decodeTime: number;
  duration: number;
  data: Uint8Array;
}

/** Top-level boxes of an fMP4 stream (type and whole box), and its fragments in order. */
export function readBoxes(
  bytes: Uint8Array,
): { types: string[]; fragments: Fragment[]; rest: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types: string[] = [];
  const fragments: Fragment[] = [];
  let at = 0;
  let pending: Omit<Fragment, "data"> | undefined;
  while (at + 8 <= bytes.length) {
    const size = view.getUint32(at);
    const type = new TextDecoder().decode(bytes.subarray(at + 4, at + 8));
    if (size < 8 || at + size > bytes.length) break;
    types.push(type);
    if (type === "moof") {
      const moof = bytes.subarray(at, at + size);
      const find = (name: string) => {
        for (let i = 0; i + 4 <= moof.length; i++) {
          if (new TextDecoder().decode(moof.subarray(i, i + 4)) === name) return at + i + 4;
        }
        throw new Error(`No ${name} in moof`);
      };
      const tfdt = find("tfdt");
      const trun = find("trun");
      pending = {
        decodeTime: view.getUint32(tfdt + 4) * 2 ** 32 + view.getUint32(tfdt + 8),
        duration: view.getUint32(trun + 12),
        keyframe: view.getUint32(trun + 20) === 0x02000000,
      };
    } else if (type === "mdat" && pending) {
      fragments.push({ ...pending, data: bytes.subarray(at + 8, at + size) });
      pending = undefined;
    }
    at += size;
  }
  return { types, fragments, rest: bytes.length - at };
}

/** The `nal_unit_type` of each NAL unit of a length-prefixed sample. */
export function nalTypesOf(sample: Uint8Array): number[] {
  const view = new DataView(sample.buffer, sample.byteOffset, sample.byteLength);
  const types: number[] = [];
  for (let at = 0; at + 4 < sample.length; at += 4 + view.getUint32(at)) {
    types.push(sample[at + 4] & 0x1f);
  }
  return types;
}
