/** GPX text and the per-clip track writer, on real files; Python's XML parser as the judge. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ClipTracks } from "../../src/car/clip_tracks.ts";
import type { GpsFix } from "../../src/car/gps.ts";
import { closeGpx, firstTrackPoint, GPX_FOOTER, gpxHeader, gpxPoint } from "../../src/car/gpx.ts";
import { run, waitFor } from "../_helpers.ts";

function fix(i: number): GpsFix {
  return {
    time: Date.UTC(2031, 4, 4, 10, 0, i),
    lat: 52.5 + i * 1e-4,
    lon: -13.4 - i * 1e-4,
    alt: i % 2 ? null : 34.5,
    speed: i % 3 ? 10.25 : null,
    heading: 90,
    mode: 3,
    satellites: i % 2 ? 7 : null,
  };
}

/** The times of a GPX file's points, through Python's XML parser (fails on malformed XML). */
async function pointTimes(text: string): Promise<string[]> {
  const script = `
import sys, xml.etree.ElementTree as ET
ns = {"g": "http://www.topografix.com/GPX/1/1"}
root = ET.fromstring(sys.stdin.read())
for p in root.findall("g:trk/g:trkseg/g:trkpt", ns): print(p.find("g:time", ns).text)`;
  const out = await run(["python3", "-c", script], { stdin: new TextEncoder().encode(text) });
  return new TextDecoder().decode(out).split("\n").filter(Boolean);
}

const iso = (i: number) => new Date(fix(i).time).toISOString().replace(".000Z", "Z");

Deno.test("gpxPoint writes valid GPX 1.1 with the optional fields only when known", async () => {
  const text = gpxHeader("000042") + gpxPoint(fix(0)) + gpxPoint(fix(1)) + GPX_FOOTER;
  assert.deepEqual(await pointTimes(text), [iso(0), iso(1)]);
  assert.match(gpxPoint(fix(1)), /^<trkpt lat="52\.5001000" lon="-13\.4001000"><time>/);
  assert.doesNotMatch(gpxPoint(fix(1)), /<ele>/);
  assert.match(gpxPoint(fix(0)), /<ele>34\.5<\/ele>.*<fix>3d<\/fix>.*<gpxtpx:course>90\.0</);
  assert.doesNotMatch(gpxPoint(fix(0)), /gpxtpx:speed/);
  assert.match(gpxPoint(fix(1)), /<sat>7<\/sat>.*<gpxtpx:speed>10\.25<\/gpxtpx:speed>/);
  assert.deepEqual(firstTrackPoint(text), { lat: 52.5, lon: -13.4 });
  assert.equal(firstTrackPoint(gpxHeader("x")), null);
  assert.match(gpxHeader('a<b&"c'), /<name>a&#60;b&#38;&#34;c<\/name>/);
});

Deno.test("closeGpx makes a cut-off track whole and keeps a closed one as it is", async () => {
  const two = gpxHeader("000042") + gpxPoint(fix(0)) + gpxPoint(fix(1));
  const closed = two + GPX_FOOTER;
  assert.equal(closeGpx(closed, "000042"), closed);
  // Cut in the middle of a point, or followed by the zeros a power cut leaves on ext4.
  for (const cut of [two + gpxPoint(fix(2)).slice(0, 30), two + "\0".repeat(4096), two]) {
    const whole = closeGpx(cut, "000042")!;
    assert.equal(whole, closed);
    assert.deepEqual(await pointTimes(whole), [iso(0), iso(1)]);
  }
  // Closed, then written on (a clip number used again): one track, no tags in the middle.
  const twice = closed + gpxPoint(fix(2));
  assert.deepEqual(await pointTimes(closeGpx(twice, "000042")!), [iso(0), iso(1), iso(2)]);
  // Only the header: an empty track. Not even that: nothing to keep.
  assert.deepEqual(await pointTimes(closeGpx(gpxHeader("000042"), "000042")!), []);
  assert.equal(closeGpx('<?xml version="1.0"?>\n<gpx', "000042"), null);
  assert.equal(closeGpx("", "000042"), null);
});

Deno.test("ClipTracks writes each clip's points to its track and hands it over once saved", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gpx_test_" });
  try {
    let current: { seq: number } | null = { seq: 7 };
    const attached: [number, string][] = [];
    const tracks = new ClipTracks({
      output: dir,
      currentClip: () => current,
      attach: async (seq, path) => {
        const text = await Deno.readTextFile(path);
        attached.push([seq, text]);
        await Deno.remove(path);
      },
    });
    // A stale track under clip 7's recording name, from a run that never saved it: replaced.
    await Deno.writeTextFile(join(dir, "000007.recording.gpx"), gpxHeader("x") + gpxPoint(fix(50)));
    tracks.add(fix(0));
    tracks.add(fix(1));
    await waitFor("two points", () => tracks.status().total === 2);
    assert.equal(tracks.status().file, "000007.recording.gpx");
    current = { seq: 8 }; // clip 7 closed, 8 began; 7's save comes a moment later
    tracks.add(fix(2));
    await tracks.clipSaved(7);
    tracks.add(fix(3));
    current = null; // not recording: no points
    tracks.add(fix(4));
    await tracks.clipSaved(8);
    assert.deepEqual(attached.map(([seq]) => seq), [7, 8]);
    assert.deepEqual(await pointTimes(attached[0][1]), [iso(0), iso(1)]);
    assert.deepEqual(await pointTimes(attached[1][1]), [iso(2), iso(3)]);
    assert.ok(attached.every(([, text]) => text.endsWith(GPX_FOOTER)));
    // A saved clip's track is never opened again, whatever the recorder says.
    current = { seq: 8 };
    tracks.add(fix(5));
    await tracks.stop();
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    assert.equal(tracks.status().lastError, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ClipTracks holds points while the card is away and writes them when it is back", async () => {
  const root = await Deno.makeTempDir({ prefix: "gpx_test_" });
  const dir = join(root, "clips");
  try {
    const attached: string[] = [];
    const tracks = new ClipTracks({
      output: dir,
      currentClip: () => ({ seq: 1 }),
      attach: async (_seq, path) => void attached.push(await Deno.readTextFile(path)),
    });
    tracks.add(fix(0)); // the folder is not there
    await waitFor("the error", () => tracks.status().lastError);
    assert.match(tracks.status().lastError!, /^Cannot write the GPS track 000001\.recording\.gpx:/);
    await Deno.mkdir(dir);
    tracks.add(fix(1));
    await waitFor("both points written", () => tracks.status().total === 2);
    assert.equal(tracks.status().lastError, null);
    await tracks.clipSaved(1);
    assert.deepEqual(await pointTimes(attached[0]), [iso(0), iso(1)]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
