/**
 * Sound on a running recorder: the flags, `/api/status`'s `audio`, and the page's switch
 * (`PUT /api/settings {audio}`), with a test tone standing in for the microphone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseClipName } from "../../src/storage/clip_name.ts";
import { runningDashcam } from "../_dashcam.ts";
import { run, waitFor } from "../_helpers.ts";

async function running(args: string[]) {
  const t = await runningDashcam({
    prefix: "dashcam_audio_test_",
    segment: 2,
    args: ["--gps", "off", ...args],
  });
  const app = t.app;
  return {
    dashcam: t.dashcam,
    output: t.output,
    async audio() {
      return (await (await app.request("/api/status")).json()).audio;
    },
    async put(body: unknown) {
      const response = await app.request("/api/settings", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    },
    [Symbol.asyncDispose]: () => t[Symbol.asyncDispose](),
  };
}

/** The codec of each stream of a clip: ["mjpeg", "opus"]. */
async function codecs(path: string): Promise<string[]> {
  const out = await run([
    "ffprobe",
    "-v",
    "error",
    "-show_entries",
    "stream=codec_name",
    "-of",
    "csv=p=0",
    path,
  ]);
  return new TextDecoder().decode(out).trim().split("\n");
}

async function savedClips(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const name = parseClipName(entry.name);
    if (entry.isFile && name && !name.recording) names.push(entry.name);
  }
  return names.sort();
}

Deno.test("Dashcam records sound with --audio on, shows its level, and the switch turns it off", async () => {
  await using r = await running([
    "--audio",
    "on",
    "--audio-device",
    "lavfi:sine=frequency=1000:sample_rate=48000",
  ]);
  const on = await waitFor("sound", async () => {
    const audio = await r.audio();
    return audio.state === "on" && audio;
  }, 20_000);
  assert.equal(on.device, "lavfi:sine=frequency=1000:sample_rate=48000");
  assert.ok(on.levelDb > -25 && on.levelDb < -18, `level ${on.levelDb} dBFS`);
  assert.equal(on.lastError, null);
  await waitFor("a clip", async () => (await savedClips(r.output)).length >= 1, 20_000);
  const [first] = await savedClips(r.output);
  assert.deepEqual(await codecs(join(r.output, first)), ["mjpeg", "opus"]);

  // The privacy switch: the recorder restarts without sound, and says so.
  const { status, body } = await r.put({ audio: "off" });
  assert.equal(status, 200, JSON.stringify(body));
  assert.deepEqual(body.applied, ["recorder"]);
  assert.deepEqual(await r.audio(), { state: "off", device: null, levelDb: null, lastError: null });
  const before = (await savedClips(r.output)).length;
  await waitFor(
    "a clip without sound",
    async () => (await savedClips(r.output)).length > before + 1,
    20_000,
  );
  const last = (await savedClips(r.output)).at(-2)!;
  assert.deepEqual(await codecs(join(r.output, last)), ["mjpeg"]);
});

Deno.test("Dashcam with an absent microphone records video and says the microphone fails", async () => {
  await using r = await running(["--audio", "on", "--audio-device", "plughw:CARD=Nothing"]);
  const failing = await waitFor("the failing state", async () => {
    const audio = await r.audio();
    return audio.state === "failing" && audio;
  }, 20_000);
  assert.match(failing.lastError, /^Cannot capture sound from plughw:CARD=Nothing: /);
  await waitFor("two clips", async () => (await savedClips(r.output)).length >= 2, 20_000);
  assert.equal(r.dashcam.status().recorder.state, "running");
});

Deno.test("PUT /api/settings refuses a microphone that is no ALSA device or test tone", async () => {
  await using r = await running([]);
  for (const device of ["-i /etc/passwd", "lavfi:amovie=/etc/passwd", ""]) {
    const { status, body } = await r.put({ audioDevice: device });
    assert.equal(status, 400, device);
    assert.equal(body.field, "audioDevice");
    assert.match(body.error, /^Microphone must be an ALSA device/);
  }
  assert.deepEqual(await r.audio(), { state: "off", device: null, levelDb: null, lastError: null });
});
