/** ClipTracks.recover on real files: what a power cut leaves in the output directory. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ClipTracks } from "../../src/car/clip_tracks.ts";
import { closeGpx, GPX_FOOTER, gpxHeader, gpxPoint } from "../../src/car/gpx.ts";

const point = (i: number) =>
  gpxPoint({
    time: Date.UTC(2031, 4, 4, 10, 0, i),
    lat: 52.5 + i * 1e-4,
    lon: -13.4,
    alt: null,
    speed: null,
    heading: null,
    mode: 3,
    satellites: null,
  });

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name).sort();
}

Deno.test("ClipTracks.recover closes a cut-off track atomically and removes the temporaries a cut rewrite left", async () => {
  const output = await Deno.makeTempDir({ prefix: "clip_tracks_test_" });
  try {
    await Deno.mkdir(join(output, "locked"));
    // Clip 7 was repaired and saved; its track lost its closing tags and the last line half.
    await Deno.writeTextFile(join(output, "000007_20310504-100000.mkv"), "clip");
    const cut = gpxHeader("000007") + point(0) + point(1) + point(2).slice(0, 20);
    await Deno.writeTextFile(join(output, "000007.recording.gpx"), cut);
    // A rewrite of clip 7's track a second power cut stopped, and an older version's one.
    const stale = `.000007.recording.gpx.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(join(output, stale), gpxHeader("000007") + point(0));
    await Deno.writeTextFile(join(output, "000007.recording.gpx.tmp"), "old");
    // Not the tracks': kept.
    const foreign = `.settings.json.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(join(output, foreign), "{}");

    const attached: { seq: number; text: string }[] = [];
    const tracks = new ClipTracks({
      output,
      currentClip: () => null,
      attach: async (seq, path) => {
        attached.push({ seq, text: await Deno.readTextFile(path) });
        await Deno.remove(path);
      },
    });
    await tracks.recover();

    assert.equal(tracks.status().lastError, null);
    assert.equal(attached.length, 1);
    assert.equal(attached[0].seq, 7);
    assert.equal(attached[0].text, closeGpx(cut, "000007"));
    assert.ok(attached[0].text.endsWith(GPX_FOOTER));
    assert.equal(attached[0].text.split("<trkpt").length - 1, 2);
    assert.deepEqual(await names(output), [foreign, "000007_20310504-100000.mkv", "locked"].sort());
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});
