import { readdirSync } from "node:fs";
import { lstat, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Codec, Frame } from "../frames/frame.ts";
import type { FrameHub } from "../frames/frame_hub.ts";
import {
  type BackoffOptions,
  type ProcessStatus,
  SupervisedProcess,
} from "../process/supervised_process.ts";
import {
  type ClipExtension,
  clipFileName,
  parseClipName,
  recordingFileName,
} from "../storage/clip_name.ts";
import { concat } from "../codecs/bytes.ts";
import { MatroskaStream } from "./matroska_stream.ts";
import { repairClip } from "./repair_clip.ts";
import { AudioTrack } from "./audio_track.ts";
import type { AudioSource, AudioStatus } from "../audio/audio_source.ts";
import { clipExtension, parseSegmentListLine, segmenterArgv } from "./segmenter_argv.ts";
import { messageOf } from "../errors.ts";
import type { ChildProcess } from "../runtime/runtime.ts";

/** Options for {@linkcode SegmentRecorder}. */
export interface SegmentRecorderOptions {
  hub: FrameHub;
  /** Directory the clips go to. */
  output: string;
  /** Clip length in seconds. */
  segmentSeconds: number;
  /** What the hub's frames are. Default "mjpeg". */
  codec?: Codec;
  /** The camera's frames per second. Default: the hub's rate when ffmpeg starts, else 30. */
  fps?: number;
  /**
   * Frames from one H.264 keyframe to the next, when the encoder keeps to it (ours: rpicam-vid
   * `--intra`, libx264 `-g`); clips are then cut at the keyframe nearest each boundary. See
   * {@linkcode segmenterArgv}.
   */
  keyframeInterval?: number;
  /**
   * Sound to record with the frames: captured while recording, laid onto the frames'
   * timeline (see `AudioTrack`) and encoded at `bitrate` bits per second (default 64000).
   * A microphone that fails never stops the video: its track is silence meanwhile.
   */
  audio?: { source: AudioSource; bitrate?: number };
  /** Frames the recorder may fall behind the camera before dropping. Default 90. */
  maxQueuedFrames?: number;
  /** Called once a clip is closed, synced to disk and renamed to its final name. */
  onClip?: (clip: SavedClip) => void;
  /** The folder (inside `output`) a closed clip goes to, e.g. `locked` for a protected one. */
  clipFolder?: (seq: number) => string;
  /** The IANA zone a closed clip's name gives its start time in. Default the system's. */
  timeZone?: () => string;
  backoff?: BackoffOptions;
  /** How long ffmpeg may take to close the last clip after its input ends. Default 10 s. */
  graceMs?: number;
  /** Print ffmpeg's warnings on our stderr. */
  echoStderr?: boolean;
  /** How long one save (fsync, rename) may take before it counts as failed. Default 30 s. */
  saveTimeoutMs?: number;
}

/** A clip on disk, closed and synced. */
export interface SavedClip {
  seq: number;
  /** Path inside the output directory, e.g. `000042_20261130-111627.mkv` or `locked/…`. */
  file: string;
  /** Start time, ms since the epoch. */
  start: number;
  /** Seconds of footage, or null when ffmpeg did not get to say (crash, power cut). */
  duration: number | null;
  /** False when ffmpeg died before closing it; the frames it wrote still play. */
  complete: boolean;
}

/** The recorder's state for `/api/status`. */
export interface RecorderStatus extends Omit<ProcessStatus, "state"> {
  recording: boolean;
  state: ProcessStatus["state"];
  /** Frames written to ffmpeg since launch. */
  frames: number;
  /** Frames lost because the recorder fell more than its queue behind. */
  dropped: number;
  /** Clips closed since launch. */
  segments: number;
  /** The clip being written: its file and start time (null until its first frame). */
  current: { seq: number; file: string; start: number | null } | null;
  lastClip: SavedClip | null;
  /** Closed clips waiting to be synced and renamed. */
  saving: number;
  /** Clips a crash or power cut left open, waiting to be repaired (in the background). */
  repairing: number;
  /**
   * What is wrong with recording although ffmpeg runs, as a sentence: a clip open far longer
   * than the clip length, or closed clips not getting saved. Null while clips close and save.
   */
  fault: string | null;
}

/**
 * Records the hub's frames into clips with an ffmpeg segmenter fed over stdin, copying
 * the frames without re-encoding (see {@linkcode segmenterArgv}).
 *
 * Recording starts and stops at run time; the camera keeps running. Stopping closes
 * ffmpeg's stdin so it finishes the last clip properly, instead of killing it. ffmpeg dying
 * is survived: it restarts with backoff and the clip it left open is kept. Each closed clip is
 * fsync'ed, renamed from `000042.recording.mkv` to `000042_<start>.mkv`, and the directory
 * fsync'ed, before it counts as saved.
 */
export class SegmentRecorder {
  readonly #options: SegmentRecorderOptions;
  readonly #process: SupervisedProcess;
  readonly #ext: ClipExtension;
  #nextSeq = 0;
  /** The stream this ffmpeg run reads: clip times in its list are on this stream's timeline. */
  #matroska: MatroskaStream | null = null;
  #current: RecorderStatus["current"] = null;
  #frames = 0;
  #dropped = 0;
  #liveDropped: () => number = () => 0;
  #segments = 0;
  #lastClip: SavedClip | null = null;
  #lastError: string | null = null;
  /** Closed clips being synced and renamed, in order. */
  #saving: Promise<void> = Promise.resolve();
  /** Sequence numbers queued for saving or repair: a file there is no stray, whatever its name. */
  readonly #pending = new Map<number, { since: number }>();
  /** Clips a crash or power cut left open, repaired one at a time apart from the saves. */
  readonly #strays = new Map<number, { start: number; ext: ClipExtension }>();
  #repairing: Promise<void> | null = null;
  /** A save failed (card away?): look for clips left under their recording name. */
  #strayScanDue = false;
  /** How long the current clip has been open while frames arrived, ms (camera gaps excluded). */
  #openMs = 0;
  #lastFrameTime: number | null = null;
  /** Keyframes since the current clip reached its length (ffmpeg should have cut at the first). */
  #keyframesPastLength = 0;
  #recording = false;
  /** How long a frame lasts, ms: where the sound of the last clip ends. */
  #frameMs = 1000 / 30;

  constructor(options: SegmentRecorderOptions) {
    this.#options = options;
    this.#ext = clipExtension(options.codec);
    this.#process = new SupervisedProcess({
      name: "recorder",
      argv: () => {
        // Never a number that has a file: ffmpeg would truncate it (a card that came back).
        this.#nextSeq = Math.max(this.#nextSeq, highestSeqIn(options.output) + 1);
        const seq = this.#nextSeq;
        this.#current = { seq, file: recordingFileName(seq, this.#ext), start: null };
        const frameRate = options.fps ?? (options.hub.fps || undefined);
        this.#frameMs = 1000 / (frameRate ?? 30);
        this.#matroska = new MatroskaStream(options.codec ?? "mjpeg", {
          frameRate,
          audio: options.audio !== undefined,
        });
        return segmenterArgv({
          output: options.output,
          segmentSeconds: options.segmentSeconds,
          startNumber: this.#nextSeq,
          codec: options.codec,
          frameRate,
          keyframeInterval: options.keyframeInterval,
          audio: options.audio && { bitrate: options.audio.bitrate ?? 64_000 },
        });
      },
      stdin: "piped",
      stopBy: "session",
      graceMs: options.graceMs,
      backoff: options.backoff,
      echoStderr: options.echoStderr,
      session: (child, signal) => this.#feed(child, signal),
      onStderrLine: (line) => this.#onStderrLine(line),
      onExit: () => this.#afterExit(),
    });
  }

  get recording(): boolean {
    return this.#recording;
  }

  /**
   * Starts recording (no-op when recording). Clips a crash left open are queued for repair
   * first, so their numbers are never reused, but recording does not wait for the repairs.
   */
  async start(): Promise<void> {
    if (this.#recording) return;
    this.#recording = true;
    await this.#adoptStrays();
    this.#options.audio?.source.start();
    this.#process.start();
  }

  /**
   * Names and repairs clips a power cut (or a missing card) left under their recording name;
   * resolves once they are repaired. Recording does this itself, in the background; call it at
   * launch so they are listed even when not recording.
   */
  async recover(): Promise<void> {
    await this.#adoptStrays();
    await this.#repairing;
  }

  /** Stops recording, closing the current clip properly; resolves once it is saved. */
  async stop(): Promise<void> {
    if (!this.#recording) return;
    this.#recording = false;
    await this.#process.stop();
    await this.#options.audio?.source.stop();
    await this.#saving;
  }

  /** The sound's state: `off` when the recorder records none. */
  audioStatus(): AudioStatus {
    return this.#options.audio?.source.status() ??
      { state: "off", device: null, levelDb: null, lastError: null };
  }

  status(): RecorderStatus {
    const process = this.#process.status();
    return {
      ...process,
      lastError: this.#lastError ?? process.lastError,
      recording: this.#recording,
      frames: this.#frames,
      dropped: this.#dropped + this.#liveDropped(),
      segments: this.#segments,
      current: this.#recording ? this.#current : null,
      lastClip: this.#lastClip,
      saving: this.#pending.size - this.#strays.size,
      repairing: this.#strays.size,
      fault: this.#fault(),
    };
  }

  /** A clip open too long, or a save stuck for longer than a save may take. */
  #fault(): string | null {
    if (this.#recording && this.#overdue()) {
      return `Clip ${this.#current?.file ?? ""} has been open for ${
        Math.round(this.#openMs / 1000)
      } s, clips are ${this.#options.segmentSeconds} s`;
    }
    const now = Date.now();
    for (const [seq, { since }] of this.#pending) {
      if (this.#strays.has(seq)) continue;
      const waited = now - since;
      if (waited > (this.#options.saveTimeoutMs ?? 30_000)) {
        return `Clip ${recordingFileName(seq, this.#ext)} has waited ${
          Math.round(waited / 1000)
        } s to be saved`;
      }
    }
    return null;
  }

  /**
   * Whether ffmpeg stopped cutting clips: it cuts at the first keyframe after the clip length,
   * so a clip still open 10 s past its length and three keyframes after it is a fault.
   */
  #overdue(): boolean {
    const lengthMs = this.#options.segmentSeconds * 1000;
    return this.#keyframesPastLength >= 3 && this.#openMs > lengthMs + 10_000;
  }

  /** Copies frames from the hub into ffmpeg's stdin until ffmpeg or the recording ends. */
  async #feed(child: ChildProcess, signal: AbortSignal): Promise<void> {
    const consumer = this.#options.hub.every({ maxQueuedFrames: this.#options.maxQueuedFrames });
    this.#liveDropped = () => consumer.stats.dropped;
    const frames = consumer.readable.getReader();
    const stdin = child.stdin.getWriter();
    // Stopping takes no new frames but still writes those captured before the stop.
    const stop = () => consumer.close();
    signal.addEventListener("abort", stop, { once: true });
    const matroska = this.#matroska!;
    // The sound of this run, from its first frame on.
    const track = this.#options.audio ? new AudioTrack() : null;
    const unsubscribe = this.#options.audio?.source.subscribe((chunk) => track!.push(chunk));
    let last: Frame | null = null;
    // Each frame's sound blocks go right after it, once it is on the timeline.
    const sound = track
      ? (frame: Frame) => track.advance(frame.time, matroska.lastTime)
      : undefined;
    // ffmpeg runs: clips an earlier run could not rename (card away) get their names now.
    if (this.#current) void this.#adoptStrays(this.#current.seq);
    this.#resetOpenTime();
    this.#lastFrameTime = null;
    try {
      while (true) {
        const { value: frame, done } = await frames.read();
        if (done) break;
        if (this.#current && this.#current.start === null) this.#current.start = frame.time;
        this.#countOpenTime(frame);
        // Behind (ffmpeg busy, or a fast camera)? Take what is queued into the same write: each
        // write costs an event-loop turn. In real time the queue is empty: a write per frame.
        // The batch is encoded into one buffer of its size: each frame copied once.
        const batch = [frame];
        let bytes = frame.data.length;
        while (consumer.queued > 0 && bytes < MAX_BATCH_BYTES) {
          const next = await frames.read();
          if (next.done) break;
          batch.push(next.value);
          bytes += next.value.data.length;
        }
        last = batch[batch.length - 1];
        // Awaited: a write after ffmpeg died must reject here, not crash Deno (BrokenPipe).
        await stdin.write(matroska.encode(batch, sound));
        this.#frames += batch.length;
      }
    } finally {
      signal.removeEventListener("abort", stop);
      unsubscribe?.();
      // The last clip's sound to its end, as long as its frames.
      const end = matroska.lastTime + this.#frameMs;
      const blocks = last && track
        ? track.finish((last as Frame).time, matroska.lastTime, end)
        : [];
      if (blocks.length > 0) {
        const bytes = concat(
          ...blocks.flatMap((block) => matroska.writeAudio(block.time, block.pcm)),
        );
        await stdin.write(bytes).catch(() => {});
      }
      this.#dropped += consumer.stats.dropped;
      this.#liveDropped = () => 0;
      await frames.cancel().catch(() => {});
      // Closing stdin is how ffmpeg learns to finish the clip.
      await stdin.close().catch(() => {});
    }
  }

  #onStderrLine(line: string): boolean {
    // Expected with no probing: the stream carries real timestamps, not a frame rate.
    if (line.includes("not enough frames to estimate rate")) return true;
    const closed = parseSegmentListLine(line);
    if (!closed) return false;
    const name = parseClipName(closed.file);
    if (!name || !this.#matroska) return false;
    const start = this.#matroska.wallTime(closed.start * 1000);
    const next = name.seq + 1;
    this.#nextSeq = Math.max(this.#nextSeq, next);
    this.#current = {
      seq: next,
      file: recordingFileName(next, this.#ext),
      start: this.#matroska.wallTime(closed.end * 1000),
    };
    this.#resetOpenTime();
    this.#save({ seq: name.seq, start, duration: closed.end - closed.start, complete: true });
    if (this.#strayScanDue) {
      // A save failed (card away): older clips may have kept their recording name.
      this.#strayScanDue = false;
      void this.#adoptStrays(name.seq);
    }
    return true;
  }

  /**
   * Adds the time since the last frame to how long the clip has been open, a camera gap
   * counting as one frame, and ends ffmpeg's run when it stopped cutting clips: a clip open
   * far past its length means ffmpeg no longer closes them, whatever its frame counter says.
   */
  #countOpenTime(frame: Frame): void {
    if (this.#lastFrameTime !== null) {
      this.#openMs += Math.min(Math.max(frame.time - this.#lastFrameTime, 0), MAX_FRAME_GAP_MS);
    }
    this.#lastFrameTime = frame.time;
    if (!frame.keyframe || this.#openMs < this.#options.segmentSeconds * 1000) return;
    this.#keyframesPastLength++;
    if (this.#overdue()) {
      const fault = this.#fault();
      this.#resetOpenTime();
      throw new Error(`${fault}: restarting ffmpeg`);
    }
  }

  #resetOpenTime(): void {
    this.#openMs = 0;
    this.#keyframesPastLength = 0;
  }

  /** ffmpeg is gone: if it left its clip open (crash), keep that clip under a final name. */
  async #afterExit(): Promise<void> {
    await this.#saving; // the clip ffmpeg closed last may still be on its way to its name
    const open = this.#current;
    this.#current = null;
    if (open && await exists(join(this.#options.output, open.file))) {
      this.#nextSeq = Math.max(this.#nextSeq, open.seq + 1);
      this.#save({
        seq: open.seq,
        start: open.start ?? Date.now(),
        duration: null,
        complete: false,
      });
      await this.#saving;
    }
  }

  /**
   * Finds the next sequence number, and queues for repair the clips left under a recording
   * name below `before`: open when the power was cut, or closed while the card was away (so
   * their rename failed). Clips already queued are no strays; leftovers of a repair that was
   * cut off are removed.
   */
  async #adoptStrays(before = Infinity): Promise<void> {
    const found: { seq: number; start: number; ext: ClipExtension }[] = [];
    try {
      for (const entry of await readdir(this.#options.output, { withFileTypes: true })) {
        if (!entry.isFile()) continue;
        if (isRepairLeftover(entry.name) && !this.#repairing) {
          await unlink(join(this.#options.output, entry.name)).catch(() => {});
          continue;
        }
        const name = parseClipName(entry.name);
        if (!name) continue;
        this.#nextSeq = Math.max(this.#nextSeq, name.seq + 1);
        if (name.recording && name.seq < before && !this.#pending.has(name.seq)) {
          const info = await stat(join(this.#options.output, entry.name));
          // 0 where the file system keeps no birth time.
          const start = info.birthtimeMs > 0 ? info.birthtimeMs : info.mtimeMs;
          found.push({ seq: name.seq, start, ext: name.ext });
        }
      }
    } catch (error) {
      this.#lastError = `Cannot read ${this.#options.output}: ${messageOf(error)}`;
      this.#strayScanDue = true;
      return;
    }
    for (const stray of found.sort((a, b) => a.seq - b.seq)) {
      if (this.#pending.has(stray.seq)) continue; // queued meanwhile
      this.#pending.set(stray.seq, { since: Date.now() });
      this.#strays.set(stray.seq, { start: stray.start, ext: stray.ext });
    }
    if (this.#strays.size > 0) this.#repairing ??= this.#repairStrays();
  }

  /** Repairs the queued strays one at a time, oldest first; saves of new clips do not wait. */
  async #repairStrays(): Promise<void> {
    // A Map's iteration also visits entries added while it runs.
    for (const [seq, { start, ext }] of this.#strays) {
      await this.#keep({ seq, start, duration: null, complete: false }, ext);
      this.#strays.delete(seq);
    }
    this.#repairing = null;
  }

  /** Queues a clip ffmpeg closed (or left open when it died) to be synced and renamed. */
  #save(clip: Omit<SavedClip, "file">): void {
    if (this.#pending.has(clip.seq)) return;
    this.#pending.set(clip.seq, { since: Date.now() });
    this.#saving = this.#saving.then(() => this.#keep(clip, this.#ext));
  }

  /**
   * Syncs and renames a clip (repairing it first when it was cut off), never throwing. One
   * that takes longer than the save timeout counts as failed, so a stuck card cannot hold up
   * the clips after it; it stays pending (no second save of it starts) until it ends.
   */
  async #keep(clip: Omit<SavedClip, "file">, ext: ClipExtension): Promise<void> {
    const from = join(this.#options.output, recordingFileName(clip.seq, ext));
    const saving = this.#rename(clip, ext)
      .catch((error) => {
        this.#lastError = `Cannot save clip ${from}: ${messageOf(error)}`;
        this.#strayScanDue = true;
      })
      .finally(() => this.#pending.delete(clip.seq));
    const timeoutMs = this.#options.saveTimeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) =>
      timer = setTimeout(() => {
        this.#lastError = `Cannot save clip ${from}: the card did not answer in ${
          timeoutMs / 1000
        } s`;
        resolve();
      }, timeoutMs)
    );
    await Promise.race([saving, timedOut]);
    clearTimeout(timer);
  }

  async #rename(clip: Omit<SavedClip, "file">, ext: ClipExtension): Promise<void> {
    const output = this.#options.output;
    const from = join(output, recordingFileName(clip.seq, ext));
    const folder = this.#options.clipFolder?.(clip.seq) ?? "";
    const saved: SavedClip = {
      ...clip,
      file: join(folder, clipFileName(clip.seq, clip.start, ext, this.#options.timeZone?.())),
    };
    if (!clip.complete) {
      // Cut off by a crash or power cut: give it back its duration and index. A file with
      // only a header is removed by the repair; one it cannot read keeps its bytes.
      const repaired = await repairClip(from, ext);
      if (repaired.frames === 0 && !await exists(from)) return;
      saved.duration = repaired.duration;
    }
    await syncPath(from);
    await rename(from, join(output, saved.file));
    await syncPath(join(output, folder));
    if (folder) await syncPath(output);
    this.#segments++;
    this.#lastClip = saved;
    this.#lastError = null; // saving works again
    this.#options.onClip?.(saved);
  }
}

/** A camera gap counts as this much open time: the clip holds a gap, not footage. */
const MAX_FRAME_GAP_MS = 1000;

/** A repair's temporary file (`000042.recording.mkv.repair.mkv`), left when it was cut off. */
function isRepairLeftover(name: string): boolean {
  return /\.repair\.(mkv|mp4)$/.test(name);
}

/** The most bytes written to ffmpeg at once when catching up. */
const MAX_BATCH_BYTES = 1024 * 1024;

/** The highest clip number in `dir` (and `locked/`), or -1; an unreadable dir counts as empty. */
function highestSeqIn(dir: string): number {
  let highest = -1;
  for (const folder of [dir, join(dir, "locked")]) {
    try {
      for (const name of readdirSync(folder)) {
        const seq = parseClipName(name)?.seq;
        if (seq !== undefined && seq > highest) highest = seq;
      }
    } catch {
      // Missing (card away, no locked clips yet): ffmpeg's own open will fail or succeed.
    }
  }
  return highest;
}

/** fsync a file or directory, so a rename or a closed clip survives a power cut. */
async function syncPath(path: string): Promise<void> {
  const file = await open(path, "r");
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
