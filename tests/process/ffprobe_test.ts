import assert from "node:assert/strict";
import { join } from "node:path";
import { probeVideo } from "../../src/process/ffprobe.ts";

async function withClip(fn: (dir: string, clip: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ffprobe_test_" });
  try {
    const clip = join(dir, "clip.mkv");
    const made = await new Deno.Command("ffmpeg", {
      args: [
        ...["-hide_banner", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10"],
        ...["-t", "2", "-c:v", "mjpeg", clip],
      ],
    }).output();
    assert.ok(made.success, new TextDecoder().decode(made.stderr));
    await fn(dir, clip);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("probeVideo reads the first video stream's and the format's entries", async () => {
  await withClip(async (_, clip) => {
    const probed = await probeVideo(clip, {
      entries: "stream=codec_name,width,height:format=duration",
    });
    assert.ok(probed);
    assert.equal(probed.stream.codec_name, "mjpeg");
    assert.equal(probed.stream.width, 320);
    assert.equal(probed.stream.height, 240);
    assert.equal(Number(probed.format.duration), 2);
  });
});

Deno.test("probeVideo counts packets when asked", async () => {
  await withClip(async (_, clip) => {
    const probed = await probeVideo(clip, {
      entries: "stream=nb_read_packets",
      countPackets: true,
    });
    assert.equal(probed?.stream.nb_read_packets, "20");
    const uncounted = await probeVideo(clip, { entries: "stream=nb_read_packets" });
    assert.equal(uncounted?.stream.nb_read_packets, undefined);
  });
});

Deno.test("probeVideo gives null for a file that is no video, and throws without ffprobe", async () => {
  await withClip(async (dir) => {
    const text = join(dir, "notes.txt");
    await Deno.writeTextFile(text, "no video here\n");
    assert.equal(await probeVideo(text, { entries: "format=duration" }), null);
    assert.equal(await probeVideo(join(dir, "missing.mkv"), { entries: "format=duration" }), null);
    await assert.rejects(
      probeVideo(text, { entries: "format=duration", ffprobe: join(dir, "no-ffprobe") }),
    );
  });
});
