/**
 * Sound on the real program (issue 14 part 3): the page's switch and level, and a power cut
 * (SIGKILL of the recorder and every ffmpeg at once) after which the clip, repaired at the
 * next start, still holds both tracks. A test tone stands in for the microphone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser } from "../_browser.ts";
import { run, waitFor } from "../_helpers.ts";
import { parseClipName } from "../../src/storage/clip_name.ts";
import { makeWorkspace, startRecorder, waitInPage } from "./_page_helpers.ts";

const TONE = "lavfi:sine=frequency=1000:sample_rate=48000";

/** Closed clips, by name. */
async function closedClips(output: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(output)) {
    const name = parseClipName(entry.name);
    if (entry.isFile && name && !name.recording) names.push(entry.name);
  }
  return names.sort();
}

/** Each stream's type and the seconds its packets span. */
async function spans(path: string): Promise<Record<string, number>> {
  const json = JSON.parse(
    new TextDecoder().decode(
      await run([
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "stream=index,codec_type:packet=stream_index,pts_time,duration_time",
        "-of",
        "json",
        path,
      ]),
    ),
  );
  const out: Record<string, number> = {};
  for (const stream of json.streams) {
    const packets = json.packets.filter((p: { stream_index: number }) =>
      p.stream_index === stream.index
    );
    const start = Math.min(...packets.map((p: { pts_time: string }) => Number(p.pts_time)));
    const end = Math.max(
      ...packets.map((p: { pts_time: string; duration_time?: string }) =>
        Number(p.pts_time) + Number(p.duration_time ?? 0)
      ),
    );
    out[stream.codec_type] = end - start;
  }
  return out;
}

Deno.test("Sound page: the switch turns the microphone off and on, and its level shows", async () => {
  await using workspace = await makeWorkspace({
    width: 320,
    height: 240,
    fps: 10,
    segment: 2,
    gps: "off",
    audio: "on",
    audioDevice: TONE,
  });
  await using recorder = await startRecorder(["--source", "test", ...workspace.args]);
  await using browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
  page.setDefaultTimeout(15_000);
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(`${recorder.url}/`);

  const sound = page.locator("#sound");
  await waitInPage(
    page,
    `document.querySelector("#sound").getAttribute("aria-pressed") === "true"`,
  );
  // The tone is -21 dBFS: the page shows its level, not "muted".
  await waitInPage(
    page,
    `/Microphone level -2[01] dB$/.test(document.querySelector("#sound-state").textContent)`,
    20_000,
  );

  await sound.click();
  await waitInPage(
    page,
    `document.querySelector("#sound").getAttribute("aria-pressed") === "false"`,
  );
  const off = await recorder.get("api/status");
  assert.deepEqual(off.audio, { state: "off", device: null, levelDb: null, lastError: null });
  assert.equal((await recorder.get("api/settings")).settings.audio, "off");
  assert.match(await page.locator("#sound-state").textContent() ?? "", /not recorded/);

  await sound.click();
  await waitFor(
    "sound again",
    async () => (await recorder.get("api/status")).audio.state === "on",
    20_000,
  );
  await waitInPage(
    page,
    `/Microphone level/.test(document.querySelector("#sound-state").textContent)`,
    20_000,
  );
  assert.deepEqual(pageErrors, []);
});

Deno.test("Sound after a power cut: the clip left open is repaired with both tracks", async () => {
  for (const codec of ["mjpeg", "h264"]) {
    await using workspace = await makeWorkspace({
      width: 320,
      height: 240,
      fps: 10,
      segment: 60,
      gps: "off",
      audio: "on",
      audioDevice: TONE,
      codec,
    });
    const recorder = await startRecorder(["--source", "test", ...workspace.args]);
    let pids: number[] = [];
    try {
      await waitFor(
        "sound",
        async () => (await recorder.get("api/status")).audio.state === "on",
        20_000,
      );
      await waitFor(
        "4 s of frames",
        async () => (await recorder.get("api/status")).recorder.frames >= 40,
        20_000,
      );
      // Every process of the recorder, killed at once: a power cut.
      // The program is the camera's parent; the segmenter and the microphone are its siblings.
      const camera = (await recorder.get("api/status")).camera.pid;
      const stat = await Deno.readTextFile(`/proc/${camera}/stat`);
      const program = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const children = new TextDecoder().decode(
        await run(["ps", "-o", "pid=", "--ppid", String(program)]),
      );
      pids = children.trim().split(/\s+/).map(Number).filter((pid) => pid > 0);
      assert.ok(pids.length >= 3, `camera, segmenter and microphone: ${pids}`);
    } finally {
      for (const pid of pids) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
      await recorder.kill("SIGKILL");
    }
    const open = [...Deno.readDirSync(workspace.output)].filter((e) =>
      parseClipName(e.name)?.recording
    );
    assert.equal(open.length, 1, `one clip left open: ${open.map((e) => e.name)}`);

    // The next start repairs it.
    await using again = await startRecorder(["--source", "test", "--no-record", ...workspace.args]);
    const clip = await waitFor(
      "the repaired clip",
      async () => (await closedClips(workspace.output))[0],
      30_000,
    );
    const kept = await spans(join(workspace.output, clip));
    assert.ok(kept.video >= 2 && kept.audio >= 2, `${codec} ${clip}: ${JSON.stringify(kept)}`);
    assert.ok(
      Math.abs(kept.video - kept.audio) <= 0.7,
      `${codec} ${clip}: ${JSON.stringify(kept)}`,
    );
    console.log(`${codec} ${clip} after a power cut: ${JSON.stringify(kept)}`);
    await again.stop();
  }
});
