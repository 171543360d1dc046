import assert from "node:assert/strict";
import { type AudioBlock, AudioTrack, BLOCK_SAMPLES } from "../../src/recorder/audio_track.ts";

const RATE = 48_000;
const T0 = 1_780_000_000_000;

/** A chunk of `ms` of samples numbered from `first` (each sample's value is its number mod 30000). */
function chunk(time: number, first: number, ms = 10) {
  const samples = new Int16Array((ms * RATE) / 1000);
  for (let i = 0; i < samples.length; i++) samples[i] = (first + i) % 30_000;
  return { time, samples };
}

function samplesOf(blocks: AudioBlock[]): number[] {
  return blocks.flatMap((block) =>
    Array.from(new Int16Array(block.pcm.buffer, block.pcm.byteOffset, BLOCK_SAMPLES))
  );
}

/** Runs `seconds` of 30 fps frames and 10 ms chunks; `micTime` maps a sample number to its stamp. */
function simulate(
  seconds: number,
  options: { micTime?: (n: number) => number; frameTimeline?: (t: number) => number } = {},
) {
  const track = new AudioTrack();
  const micTime = options.micTime ?? ((n: number) => T0 + (n * 1000) / RATE);
  const timeline = options.frameTimeline ?? ((t: number) => t - T0);
  const blocks: AudioBlock[] = [];
  let n = 0;
  for (let ms = 0; ms <= seconds * 1000; ms += 10) {
    // A chunk arrives once its last sample is captured, stamped with its first one's time.
    if (ms >= 10) {
      track.push(chunk(micTime(n), n));
      n += RATE / 100;
    }
    if (ms % 30 === 0) blocks.push(...track.advance(T0 + ms, timeline(T0 + ms)));
  }
  return { track, blocks };
}

Deno.test("AudioTrack lays chunks in order as 20 ms blocks from the first frame on", () => {
  const { blocks } = simulate(2);
  assert.equal(blocks[0].time, 0);
  for (let i = 1; i < blocks.length; i++) {
    assert.ok(Math.abs(blocks[i].time - blocks[i - 1].time - 20) < 1e-6, `block ${i}`);
  }
  const samples = samplesOf(blocks);
  assert.deepEqual(samples.slice(0, 5), [0, 1, 2, 3, 4], "nothing dropped, nothing added");
  assert.ok(samples.every((value, i) => value === i % 30_000));
  // Up to the newest frame (2000 ms), less one chunk still on its way.
  assert.ok(blocks.at(-1)!.time >= 1960, `last block at ${blocks.at(-1)!.time}`);
});

Deno.test("AudioTrack stands silence in for a microphone that gives nothing, 500 ms behind", () => {
  const track = new AudioTrack();
  const blocks: AudioBlock[] = [];
  for (let ms = 0; ms <= 3000; ms += 30) blocks.push(...track.advance(T0 + ms, ms));
  assert.ok(samplesOf(blocks).every((value) => value === 0));
  const end = blocks.at(-1)!.time + 20;
  assert.ok(end >= 2480 && end <= 2500, `silence up to ${end} ms at 3000 ms`);
  const last = track.finish(T0 + 3000, 3000, 3033);
  const through = last.at(-1)!.time + 20;
  assert.ok(through >= 3033 && through < 3053, `finished at ${through} ms`);
});

Deno.test("AudioTrack drops the sound of a gap cut out of the timeline and stays unbroken", () => {
  // Frames stop at 1 s and come back at 5 s; the timeline cuts the gap down to 33 ms.
  const track = new AudioTrack();
  const blocks: AudioBlock[] = [];
  let n = 0;
  for (let ms = 10; ms <= 7000; ms += 10) {
    track.push(chunk(T0 + (n * 1000) / RATE, n));
    n += RATE / 100;
    const frame = ms <= 1000 ? ms % 30 === 0 : ms >= 5000 && ms % 30 === 20;
    if (!frame) continue;
    const timeline = ms <= 1000 ? ms : ms - 5000 + 1023;
    blocks.push(...track.advance(T0 + ms, timeline));
  }
  for (let i = 1; i < blocks.length; i++) {
    assert.ok(Math.abs(blocks[i].time - blocks[i - 1].time - 20) < 1e-6, `unbroken at ${i}`);
  }
  // After the gap, sound is that of 5 s on, where the frames are: sample 5 s * 48000 at 1023 ms.
  const samples = samplesOf(blocks);
  const at = Math.round(((1100 - blocks[0].time) * RATE) / 1000); // the track starts at 30 ms
  const expected = Math.round(((1100 - 1023 + 5000) * RATE) / 1000) % 30_000;
  assert.ok(Math.abs(samples[at] - expected) <= 2, `${samples[at]} ≈ ${expected}`);
});

Deno.test("AudioTrack follows a sound card whose clock runs 0.1% fast, within a few ms", () => {
  // The card's samples come 0.1% faster than the clock: stamps say so (AudioSource's offset).
  const drift = 1.001;
  const { blocks } = simulate(60, { micTime: (n) => T0 + (n * 1000) / RATE / drift });
  const samples = samplesOf(blocks);
  // Where sample n of the card ended up on the timeline, against where its stamp says.
  const n = 50 * RATE;
  const placed = samples.indexOf(n % 30_000, Math.round(n / drift) - 4000) * (1000 / RATE);
  const stamped = (n * 1000) / RATE / drift;
  assert.ok(Math.abs(placed - stamped) < 15, `placed at ${placed} ms, stamped ${stamped} ms`);
});

Deno.test("AudioTrack rides over a clock jump the frames make too", () => {
  const track = new AudioTrack();
  const blocks: AudioBlock[] = [];
  let n = 0;
  const jump = 3_600_000;
  for (let ms = 10; ms <= 4000; ms += 10) {
    const clock = ms > 2000 ? jump : 0; // the clock moved an hour ahead at 2 s
    track.push(chunk(T0 + clock + (n * 1000) / RATE, n));
    n += RATE / 100;
    if (ms % 30 === 0) blocks.push(...track.advance(T0 + clock + ms, ms));
  }
  const samples = samplesOf(blocks);
  assert.ok(blocks.at(-1)!.time > 3400, "sound carries on");
  // Sound and frames keep their place: the sample captured at 3000 ms is at 3000 ms.
  const at = Math.round(((3000 - blocks[0].time) * RATE) / 1000); // the track starts at 30 ms
  const expected = (3000 * RATE / 1000) % 30_000;
  assert.ok(Math.abs(samples[at] - expected) <= 2, `${samples[at]} ≈ ${expected}`);
});
