import assert from "node:assert/strict";
import { audioCaptureArgv, parseAudioDevice, SAMPLE_RATE } from "../../src/audio/audio_input.ts";
import { type AudioChunk, AudioSource } from "../../src/audio/audio_source.ts";
import { waitFor } from "../_helpers.ts";

Deno.test("parseAudioDevice takes ALSA names and test tones, nothing that reads files", () => {
  for (const device of ["default", "hw:1,0", "plughw:CARD=Device,DEV=0", "dsnoop:CARD=Mic"]) {
    assert.deepEqual(parseAudioDevice(device), { kind: "alsa", device });
  }
  assert.deepEqual(parseAudioDevice("lavfi:sine=frequency=1000"), {
    kind: "lavfi",
    graph: "sine=frequency=1000",
  });
  for (
    const bad of ["", "-i x", "hw 1", "lavfi:amovie=/etc/passwd", "lavfi:sine,ametadata=file=/x"]
  ) {
    assert.equal(parseAudioDevice(bad), undefined, bad);
  }
});

Deno.test("audioCaptureArgv reads ALSA mono at 48 kHz and paces a test tone to real time", () => {
  assert.deepEqual(
    audioCaptureArgv({ kind: "alsa", device: "hw:1,0" }).slice(5, 13),
    ["-f", "alsa", "-channels", "1", "-sample_rate", "48000", "-i", "hw:1,0"],
  );
  assert.equal(audioCaptureArgv({ kind: "alsa", device: "hw:1,0" }, { channels: 2 })[8], "2");
  const tone = audioCaptureArgv({ kind: "lavfi", graph: "sine=frequency=1000" });
  assert.deepEqual(tone.slice(5, 10), [
    "-re",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=1000:samples_per_frame=480",
  ]);
  assert.deepEqual(tone.slice(-5), ["-f", "s16le", "-flush_packets", "1", "pipe:1"]);
});

Deno.test("AudioSource stamps chunks on the sample clock, close to when they arrive", async () => {
  const device = "lavfi:sine=frequency=1000";
  const source = new AudioSource({ input: parseAudioDevice(device)!, device });
  const chunks: { chunk: AudioChunk; arrived: number }[] = [];
  source.subscribe((chunk) => chunks.push({ chunk, arrived: Date.now() }));
  source.start();
  try {
    await waitFor("3 s of sound", () => chunks.length >= 300, 20_000);
    const status = source.status();
    assert.equal(status.state, "on");
    assert.ok(Math.abs(status.levelDb! - -21.1) < 1, `level ${status.levelDb}`);
  } finally {
    await source.stop();
  }
  assert.equal(source.status().state, "off");
  // Once the offset has settled (the quickest arrival of the window), the times are the
  // sample count: each chunk starts where the one before ended, but where a still quicker
  // arrival moves the offset back a little.
  const settled = chunks.slice(chunks.length - 100);
  const steps: number[] = [];
  for (let i = 1; i < settled.length; i++) {
    const { chunk } = settled[i];
    const before = settled[i - 1].chunk;
    const step = chunk.time - (before.time + (before.samples.length * 1000) / SAMPLE_RATE);
    if (Math.abs(step) > 0.01) steps.push(step);
  }
  assert.ok(steps.length <= 5 && steps.every((step) => step < 0 && step > -20), `steps ${steps}`);
  // And a chunk's end is never after it is handed out: it was captured before.
  for (const { chunk, arrived } of settled) {
    const end = chunk.time + (chunk.samples.length * 1000) / SAMPLE_RATE;
    assert.ok(end <= arrived + 1, `ends ${end}, arrived ${arrived}`);
    // Handed out 200 ms after it came from ffmpeg.
    assert.ok(arrived - end < 400, `ends ${arrived - end} ms before it was handed out`);
  }
});

Deno.test("AudioSource restarts a capture that hangs, and says so meanwhile", async () => {
  const device = "lavfi:sine";
  // 1 s of sound, then the process lives on and prints nothing (a stuck device).
  const argv = () => [
    "sh",
    "-c",
    `${
      audioCaptureArgv({ kind: "lavfi", graph: "sine=duration=1" }).map((a) => `'${a}'`).join(" ")
    }; exec sleep 60`,
  ];
  const source = new AudioSource({
    input: parseAudioDevice(device)!,
    device,
    argv,
    backoff: { initialMs: 100 },
  });
  source.start();
  try {
    await waitFor("sound", () => source.status().state === "on", 20_000);
    // Quiet at once, restarted after 5 s.
    const failing = await waitFor("the stall", () => {
      const status = source.status();
      return status.state === "failing" && /for 5 s/.test(status.lastError ?? "") ? status : null;
    }, 20_000);
    assert.equal(failing.lastError, "Audio failed: no sound from lavfi:sine for 5 s");
    assert.equal(failing.levelDb, null);
    await waitFor("sound again", () => source.status().state === "on", 20_000);
  } finally {
    await source.stop();
  }
});
