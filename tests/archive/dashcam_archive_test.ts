/**
 * The whole recorder archiving while it records: real camera (test pattern), real ffmpeg,
 * real rclone against `rclone serve sftp`, the server killed and brought back meanwhile.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig, parseCommandLine } from "../../src/config/mod.ts";
import { Dashcam } from "../../src/dashcam.ts";
import { runningDashcam } from "../_dashcam.ts";
import { waitFor } from "../_helpers.ts";
import { RcloneServer } from "./_rclone_server.ts";

Deno.test("Dashcam archives while recording, records on while the server is gone, and loses nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dashcam_archive_test_" });
  try {
    await using server = await RcloneServer.start("sftp", join(dir, "nas"));
    await using t = await runningDashcam({
      dir,
      keepDir: true,
      args: [
        "--archive",
        await server.remote("fleet"),
        "--archive-folder",
        "car1",
        "--archive-clips",
        "all",
        "--archive-bwlimit",
        "4M",
      ],
      dashcam: {
        archive: { intervalMs: 500, backoff: { initialMs: 300, maxMs: 1_500 }, connectTimeoutS: 5 },
      },
    });
    const { dashcam, output } = t;
    const archive = () => dashcam.status().archive!;
    const segments = () => dashcam.recorder.status().segments;
    await waitFor("three clips archived", () => archive().archived >= 3, 60_000);
    assert.equal(archive().reachable, true);

    // The NAS goes away: recording goes on, the archive says why it waits.
    await server.kill();
    const atKill = segments();
    await waitFor("the remote seen gone", () => archive().reachable === false, 30_000);
    assert.match(archive().lastError!, /^Cannot reach the archive remote: /);
    await waitFor("three more clips recorded", () => segments() >= atKill + 3, 30_000);
    assert.equal(dashcam.recorder.status().state, "running");
    assert.ok(archive().queue > 0, "clips wait for the remote");

    await server.restart();
    const atReturn = segments();
    await waitFor("two more clips", () => segments() >= atReturn + 2, 30_000);
    await dashcam.stopRecording();
    const closed = async () => (await dashcam.store.list()).filter((clip) => !clip.recording);
    const clips = await closed();
    await waitFor(
      "every clip archived",
      async () => archive().queue === 0 && archive().archived >= (await closed()).length,
      90_000,
    );

    // Nothing lost: the recorder's clips are consecutive, each on the server byte for byte.
    const seqs = clips.map((clip) => clip.seq).sort((a, b) => a - b);
    assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i), "no clip missing");
    assert.ok(clips.length >= segments(), `${clips.length} clips, ${segments()} segments`);
    const files = await server.files("fleet/car1");
    assert.deepEqual([...files.keys()].sort(), clips.map((clip) => `${clip.id}.mkv`).sort());
    for (const clip of clips) {
      const local = await Deno.readFile(join(output, clip.file));
      const remote = files.get(`${clip.id}.mkv`)!;
      assert.equal(remote.length, local.length, clip.id);
      assert.ok(remote.every((byte, i) => byte === local[i]), `${clip.id}: every byte`);
    }

    // Shown: the status masks the password, the clip list says what is archived.
    const app = t.app;
    const status = await (await app.request("/api/status")).json();
    const pass = await server.obscuredPass();
    assert.ok(!JSON.stringify(status).includes(pass.slice(0, 10)), "no password in the status");
    assert.match(status.archive.remote, /pass=\*\*\*,shell_type=unix:fleet\/car1$/);
    assert.equal(status.archive.reachable, true);
    assert.equal(status.archive.archived, clips.length);
    assert.equal(status.archive.queue, 0);
    assert.equal(status.archive.current, null);
    const listed = (await (await app.request("/api/clips")).json()).clips;
    assert.ok(listed.length >= clips.length);
    for (const clip of listed) assert.equal(clip.archived, !clip.recording, clip.id);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Dashcam restarts only the archive when an archive setting changes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dashcam_archive_test_" });
  try {
    const config = await loadConfig(
      parseCommandLine([
        "--source",
        "test",
        "--width",
        "160",
        "--height",
        "120",
        "--no-record",
        "-f",
        join(dir, "clips"),
        // Nothing listens there: the archive waits, recording is not touched.
        "--archive",
        ":sftp,host=127.0.0.1,port=9,user=u:x",
      ]),
      { env: {} },
    );
    const dashcam = await Dashcam.create(config, { archive: { connectTimeoutS: 2 } });
    await dashcam.start();
    try {
      await waitFor("the remote seen gone", () => dashcam.status().archive?.reachable === false);
      assert.deepEqual(await dashcam.applySettings({ archiveBwlimit: "1M" }), ["archive"]);
      assert.equal(dashcam.status().archive?.bwlimit, "1M");
      // A folder the archiver refuses changes nothing (built before the old one stops).
      await assert.rejects(() => dashcam.applySettings({ archiveFolder: "../up" }), RangeError);
      assert.equal(dashcam.config.archiveFolder, "");
      assert.notEqual(dashcam.status().archive, null);
      assert.deepEqual(await dashcam.applySettings({ archive: "" }), ["archive"]);
      assert.equal(dashcam.status().archive, null);
    } finally {
      await dashcam.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
