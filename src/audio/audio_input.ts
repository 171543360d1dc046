/**
 * Where sound comes from, and the ffmpeg command that captures it as raw PCM on stdout.
 *
 * @module
 */

/** A sound source: an ALSA capture device, or an ffmpeg test source (tests, demos). */
export type AudioInput =
  | { kind: "alsa"; device: string }
  | { kind: "lavfi"; graph: string };

/** The sample rate everything runs at: Opus's own, and a rate every USB microphone offers. */
export const SAMPLE_RATE = 48_000;

// ALSA names: `default`, `hw:1,0`, `plughw:CARD=Device,DEV=0`, `dsnoop:CARD=Mic`.
const ALSA_DEVICE = /^[A-Za-z][A-Za-z0-9_]*(?::[A-Za-z0-9_=,.-]+)?$/;
// Only generators: a graph from the page must not read or write files (`amovie`, `ametadata`).
const TEST_SOURCE = /^(?:sine|anoisesrc|aevalsrc|anullsrc)(?:=[A-Za-z0-9_=:.,*+\-/()|' ]*)?$/;

/**
 * Reads the `audioDevice` setting: an ALSA device name (`default`, `hw:1,0`,
 * `plughw:CARD=Device`) or `lavfi:` and one of ffmpeg's generators (`lavfi:sine=frequency=1000`),
 * a test tone for machines without a sound card. Undefined when it is neither.
 */
export function parseAudioDevice(text: string): AudioInput | undefined {
  if (text.startsWith("lavfi:")) {
    const graph = text.slice("lavfi:".length);
    return TEST_SOURCE.test(graph) ? { kind: "lavfi", graph } : undefined;
  }
  return ALSA_DEVICE.test(text) ? { kind: "alsa", device: text } : undefined;
}

/** Options for {@linkcode audioCaptureArgv}. */
export interface AudioCaptureOptions {
  /** Channels asked of an ALSA device (mixed down to mono either way). Default 1. */
  channels?: 1 | 2;
}

/**
 * The ffmpeg command that captures `input` and prints it on stdout as 16-bit mono PCM at
 * {@linkcode SAMPLE_RATE}, each chunk flushed as it is read: its arrival time is how the
 * recorder places it next to the frames (see `AudioSource`).
 *
 * - ALSA: `hw:` devices take only the channel counts the hardware has; most USB microphones
 *   are mono, some only stereo (`channels: 2`); `plughw:` and `default` convert anything.
 * - A test source is paced to real time (`-re`), as a microphone would be, in 10 ms chunks.
 */
export function audioCaptureArgv(input: AudioInput, options: AudioCaptureOptions = {}): string[] {
  const source = input.kind === "alsa"
    ? [
      "-f",
      "alsa",
      "-channels",
      String(options.channels ?? 1),
      "-sample_rate",
      String(SAMPLE_RATE),
      "-i",
      input.device,
    ]
    : ["-re", "-f", "lavfi", "-i", withChunkSize(input.graph)];
  return [
    "ffmpeg",
    "-hide_banner",
    "-nostdin",
    "-loglevel",
    "error",
    ...source,
    "-vn",
    "-ac",
    "1",
    "-ar",
    String(SAMPLE_RATE),
    "-f",
    "s16le",
    "-flush_packets",
    "1",
    "pipe:1",
  ];
}

/** A generator's chunks of 10 ms, unless it says otherwise (each arrives as one). */
function withChunkSize(graph: string): string {
  if (/(?:^|[=:])(?:n|nb_samples|samples_per_frame)=/.test(graph.replace(/^\w+=/, ":"))) {
    return graph;
  }
  const option = graph.startsWith("sine") ? "samples_per_frame" : "nb_samples";
  const size = `${option}=${SAMPLE_RATE / 100}`;
  return graph.includes("=") ? `${graph}:${size}` : `${graph}=${size}`;
}
