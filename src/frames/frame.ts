/** How frames are encoded: JPEG each (simple, CPU-heavy on a Pi) or H.264 (hardware on a Pi). */
export type Codec = "mjpeg" | "h264";

/** One encoded picture as it left the camera: a whole JPEG, or (H.264) one access unit. */
export interface Frame {
  /** Position in the capture, counting from 0; gaps mean frames were lost before parsing. */
  readonly seq: number;
  /** Capture time in milliseconds since the epoch, as the parser saw the frame complete. */
  readonly time: number;
  /** The encoded bytes; owned by the frame and never mutated after it is emitted. */
  readonly data: Uint8Array;
  /** True when the frame decodes on its own (every JPEG; an IDR access unit in H.264). */
  readonly keyframe: boolean;
  /**
   * H.264: where the access unit's NAL units are in `data`, as the parser found them, so no
   * one searches for start codes again: `[start, end)` pairs, flat, of each unit without its
   * start code (the same views as `nalUnits(data)` in `src/codecs/h264.ts`). Absent for a
   * JPEG, or a frame made elsewhere: `nalRanges(data)` finds them.
   */
  readonly nals?: Uint32Array;
}

/** Counters every frame parser keeps, for `/api/status` and the tests. */
export interface FrameParserStats {
  /** Frames emitted. */
  frames: number;
  /** Bytes skipped while searching for the start of a frame. */
  garbageBytes: number;
  /** Frames that started but were cut short by a new frame or the end of the stream. */
  truncated: number;
  /** Frames dropped because they grew past the size cap. */
  oversized: number;
}
