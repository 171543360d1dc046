import { type BackoffOptions, SupervisedProcess } from "../process/supervised_process.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { audioCaptureArgv, type AudioInput, SAMPLE_RATE } from "./audio_input.ts";
import type { AudioStatus } from "./audio_status.ts";

export type { AudioStatus } from "./audio_status.ts";

/** Mono 16-bit samples at {@linkcode SAMPLE_RATE}, with the capture time of the first. */
export interface AudioChunk {
  /** When the first sample was captured, ms on the frames' clock (fractional). */
  readonly time: number;
  readonly samples: Int16Array;
}

/** Options for {@linkcode AudioSource}. */
export interface AudioSourceOptions {
  /** What to capture; its command is {@linkcode audioCaptureArgv}'s. */
  input: AudioInput;
  /** The setting's text, for the status ("hw:1,0"). */
  device: string;
  /** The clock the camera stamps frames with: chunks are placed on the same one. */
  now?: () => number;
  /** Replaces the capture command (tests: a FIFO). It must print what ours prints. */
  argv?: () => string[];
  backoff?: BackoffOptions;
  echoStderr?: boolean;
  runtime?: Runtime;
}

/**
 * Captures sound with ffmpeg (ALSA, or a test tone) as PCM and hands it out in chunks, each
 * with the capture time of its first sample on the frames' clock. Restarted with backoff
 * when it fails; a microphone that is absent or unplugged shows in the status, nothing else.
 *
 * Capture times: ffmpeg prints each chunk as soon as the device gave it, so a chunk's last
 * sample was captured just before it arrives, plus the pipe's latency, which varies. The
 * samples themselves are evenly spaced, so the times are the sample count since the start
 * plus one offset: the least `arrival - samples` of the last 10 s, the chunk that came
 * quickest. That is smooth (no arrival jitter), and follows a sound card whose clock runs
 * off the system's (up to 5 ms of drift in the window at 500 ppm). Chunks are handed out
 * 200 ms after they arrive, stamped with the offset then: the backlog read at once when the
 * capture starts is stamped by the prompt chunks after it, not placed late by the time it
 * waited.
 */
export class AudioSource {
  readonly #options: AudioSourceOptions;
  readonly #process: SupervisedProcess;
  readonly #now: () => number;
  readonly #listeners = new Set<(chunk: AudioChunk) => void>();
  #channels: 1 | 2 = 1;
  #running = false;
  /** Samples since this capture started. */
  #samples = 0;
  /** Candidates for the offset, oldest first, each less than the ones before it were. */
  #offsets: { at: number; offset: number }[] = [];
  #far = 0;
  /** Chunks not handed out yet, with their arrival and first sample's number. */
  #held: { at: number; first: number; samples: Int16Array }[] = [];
  #odd: number | null = null;
  #lastChunkAt: number | null = null;
  #energy: { at: number; sumSquares: number; count: number }[] = [];
  #lastError: string | null = null;
  /** The first line of this run's errors was ffmpeg's own (not alsa-lib's). */
  #runError: string | null = null;

  constructor(options: AudioSourceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#process = new SupervisedProcess({
      name: "audio",
      argv: () => {
        this.#samples = 0;
        this.#offsets = [];
        this.#held = [];
        this.#odd = null;
        this.#runError = null;
        return options.argv?.() ?? audioCaptureArgv(options.input, { channels: this.#channels });
      },
      stdout: "piped",
      backoff: { initialMs: 1000, maxMs: 10_000, ...options.backoff },
      echoStderr: options.echoStderr,
      runtime: options.runtime,
      session: (child) => this.#read(child.stdout),
      onStderrLine: (line) => this.#onStderrLine(line),
    });
  }

  /** Starts capturing (no-op when capturing). */
  start(): void {
    this.#running = true;
    this.#process.start();
  }

  /** Stops capturing and waits for ffmpeg to exit. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#process.stop();
    this.#energy = [];
    this.#lastChunkAt = null;
  }

  /** Calls `listener` with each chunk from now on; returns what unsubscribes it. */
  subscribe(listener: (chunk: AudioChunk) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  status(): AudioStatus {
    const process = this.#process.status();
    const now = this.#now();
    const fresh = this.#lastChunkAt !== null && now - this.#lastChunkAt < 1500;
    const error = this.#lastError ?? process.lastError;
    const state = !this.#running
      ? "off"
      : fresh
      ? "on"
      : process.restarts > 0 || process.state === "backoff" || this.#lastChunkAt !== null
      ? "failing"
      : "starting";
    return {
      state,
      device: this.#options.device,
      levelDb: fresh ? this.#level(now) : null,
      lastError: state === "on" ? null : state === "failing" ? error ?? "No sound arrives" : error,
    };
  }

  /**
   * Reads the PCM; a capture that goes quiet for {@linkcode STALL_MS} (a device that hangs
   * rather than fails) is ended, and so restarted.
   */
  async #read(stdout: ReadableStream<Uint8Array>): Promise<void> {
    const reader = stdout.getReader();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      while (true) {
        const stalled = new Promise<never>((_, reject) =>
          timer = setTimeout(
            () =>
              reject(new Error(`no sound from ${this.#options.device} for ${STALL_MS / 1000} s`)),
            STALL_MS,
          )
        );
        const { value, done } = await Promise.race([reader.read(), stalled]);
        clearTimeout(timer);
        if (done) return;
        this.#take(value);
      }
    } finally {
      clearTimeout(timer);
      await reader.cancel().catch(() => {});
    }
  }

  #take(bytes: Uint8Array): void {
    const arrived = this.#now();
    // Samples are two bytes: a read may end between them.
    let data = bytes;
    if (this.#odd !== null) {
      data = new Uint8Array(bytes.length + 1);
      data[0] = this.#odd;
      data.set(bytes, 1);
      this.#odd = null;
    }
    if (data.length % 2 === 1) {
      this.#odd = data[data.length - 1];
      data = data.subarray(0, data.length - 1);
    }
    if (data.length === 0) return;
    const samples = new Int16Array(data.length / 2);
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    let sumSquares = 0;
    for (let i = 0; i < samples.length; i++) {
      const sample = view.getInt16(2 * i, true);
      samples[i] = sample;
      sumSquares += sample * sample;
    }
    const first = this.#samples;
    this.#samples += samples.length;
    const offset = this.#offset(arrived, (this.#samples * 1000) / SAMPLE_RATE);
    this.#lastChunkAt = arrived;
    this.#lastError = null;
    this.#energy.push({ at: arrived, sumSquares, count: samples.length });
    while (this.#energy.length > 1 && arrived - this.#energy[0].at > LEVEL_WINDOW_MS) {
      this.#energy.shift();
    }
    // Held for HOLD_MS and stamped then: a burst (what the device kept while ffmpeg started,
    // read at once, late) gets the offset of the prompt chunks after it.
    this.#held.push({ at: arrived, first, samples });
    while (this.#held.length > 0 && arrived - this.#held[0].at >= HOLD_MS) {
      const held = this.#held.shift()!;
      const chunk = { time: offset + (held.first * 1000) / SAMPLE_RATE, samples: held.samples };
      for (const listener of this.#listeners) listener(chunk);
    }
  }

  /** The offset from sample time to the clock: the least of the window (see the class doc). */
  #offset(arrived: number, sampleTime: number): number {
    const offset = arrived - sampleTime;
    const offsets = this.#offsets;
    // Far above the least for a while: the clock jumped ahead (a stall is one late read).
    if (offsets.length > 0 && offset - offsets[0].offset > 1000) {
      if (++this.#far >= 5) offsets.length = 0;
    } else {
      this.#far = 0;
    }
    while (offsets.length > 0 && offsets[offsets.length - 1].offset >= offset) offsets.pop();
    offsets.push({ at: arrived, offset });
    while (
      offsets.length > 1 && (arrived - offsets[0].at > OFFSET_WINDOW_MS || arrived < offsets[0].at)
    ) {
      offsets.shift();
    }
    return offsets[0].offset;
  }

  #level(now: number): number {
    let sumSquares = 0;
    let count = 0;
    for (const part of this.#energy) {
      if (now - part.at > LEVEL_WINDOW_MS + 1000) continue;
      sumSquares += part.sumSquares;
      count += part.count;
    }
    if (count === 0 || sumSquares === 0) return -100;
    const db = 10 * Math.log10(sumSquares / count / (32768 * 32768));
    return Math.max(-100, Math.round(db * 10) / 10);
  }

  #onStderrLine(line: string): boolean {
    // `hw:` devices take only their own channel count: try the other one next time.
    if (/channel count/i.test(line)) this.#channels = this.#channels === 1 ? 2 : 1;
    const message = line.replace(/^\[\w+ @ 0x[0-9a-f]+\] /, "").trim();
    if (!message) return false;
    // The first of ffmpeg's own lines says it best ("cannot open audio device hw:9,0 (No such
    // file or directory)"); alsa-lib's ("ALSA lib confmisc.c:...") only when there is none.
    const own = !message.startsWith("ALSA lib");
    if (own && this.#runError !== null) return false;
    if (own) this.#runError = message;
    if (own || this.#lastError === null) {
      this.#lastError = `Cannot capture sound from ${this.#options.device}: ${message}`;
    }
    return false;
  }
}

/** How long chunks are held before they are stamped (the recorder waits 500 ms for sound). */
const HOLD_MS = 200;
/** A capture that prints nothing for this long is restarted. */
const STALL_MS = 5000;
/** How far back the offset's candidates go. */
const OFFSET_WINDOW_MS = 10_000;
/** The level is of this much sound. */
const LEVEL_WINDOW_MS = 500;
