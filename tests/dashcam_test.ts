/** The running recorder as a whole: real camera (test pattern), real ffmpeg, real files. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseClipName } from "../src/storage/clip_name.ts";
import { runningDashcam } from "./_dashcam.ts";
import { probeClip, waitFor } from "./_helpers.ts";

function running() {
  return runningDashcam({ prefix: "dashcam_test_" });
}

/** The clip files in `dir`: hidden ones (the storage guard's `.write-probe`) are no clips. */
async function filesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && !entry.name.startsWith(".")) names.push(entry.name);
  }
  return names.sort();
}

Deno.test("Dashcam lock-now protects the current clip and the ones either side", async () => {
  await using t = await running();
  const segments = () => t.dashcam.recorder.status().segments;
  await waitFor("two closed clips", () => segments() >= 2, 15_000);
  const current = t.dashcam.recorder.status().current!.seq;
  await t.dashcam.store.lockEvent(current);
  // The clip after the current one closes after another boundary: wait for both.
  await waitFor("the next clip to close", () => segments() >= current + 2, 15_000);
  await t.dashcam.stopRecording();
  const locked = (await filesIn(join(t.output, "locked"))).map((n) => parseClipName(n)!.seq);
  assert.deepEqual(locked, [current - 1, current, current + 1]);
  const unlocked = (await filesIn(t.output)).map((n) => parseClipName(n)!.seq);
  assert.ok(unlocked.every((seq) => seq < current - 1 || seq > current + 1));
  const clips = await t.dashcam.store.list();
  assert.deepEqual(clips.filter((c) => c.locked).map((c) => c.seq), [
    current + 1,
    current,
    current - 1,
  ]);
});

Deno.test("Dashcam keeps live view and resumes recording when the card comes back", async () => {
  await using t = await running();
  await waitFor("a clip", () => t.dashcam.recorder.status().segments >= 1, 15_000);
  // The card is pulled: the folder is gone.
  const away = `${t.output}.away`;
  await Deno.rename(t.output, away);
  await waitFor(
    "the recorder or the storage check to report the missing folder",
    () => {
      // Whichever notices first: ffmpeg opening the next clip, or the storage check's probe.
      const { recorder, storage } = t.dashcam.status();
      return /No such file or directory/.test([...recorder.stderr, storage.reason].join("\n"));
    },
    15_000,
  );
  const frames = t.dashcam.camera.status().frames;
  await waitFor("the camera to go on", () => t.dashcam.camera.status().frames > frames + 15);
  assert.ok(t.dashcam.live.hub.latest, "live view still has pictures");
  // The card is back: recording resumes by itself, nothing recorded before is touched.
  const before = await filesIn(away);
  await Deno.rename(away, t.output);
  const segments = t.dashcam.recorder.status().segments;
  await waitFor(
    "recording to resume",
    () => t.dashcam.recorder.status().segments > segments + 1,
    20_000,
  );
  assert.equal(t.dashcam.recorder.status().state, "running");
  await t.dashcam.stopRecording();
  const after = await filesIn(t.output);
  for (const name of after) {
    assert.ok(!parseClipName(name)!.recording, `${name} got its final name`);
    assert.ok((await probeClip(join(t.output, name))).frames > 0, `${name} plays`);
  }
  const seqsBefore = before.map((name) => parseClipName(name)!.seq);
  const seqsAfter = after.map((name) => parseClipName(name)!.seq);
  assert.ok(seqsBefore.every((seq) => seqsAfter.includes(seq)), "nothing recorded was lost");
});

Deno.test("Dashcam clip names stay in recording order when the clock jumps back", async () => {
  await using t = await running();
  await waitFor("two clips", () => t.dashcam.recorder.status().segments >= 2, 15_000);
  t.dashcam.clock.set(Date.UTC(2020, 0, 1)); // the phone says it is years earlier
  const after = t.dashcam.recorder.status().segments;
  await waitFor("two more clips", () => t.dashcam.recorder.status().segments >= after + 2, 15_000);
  await t.dashcam.stopRecording();
  const names = await filesIn(t.output);
  const seqs = names.map((name) => parseClipName(name)!.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "sorted names are recording order");
  assert.equal(new Set(names).size, names.length, "no name collides");
  const years = names.map((name) => new Date(parseClipName(name)!.start!).getFullYear());
  assert.ok(years.includes(2020) && years.some((year) => year > 2020), `${years}`);
});
