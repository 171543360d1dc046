/** The control page's archive tile and "Archived" marks, in Chromium, against rclone serve sftp. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser } from "../_browser.ts";
import { waitFor } from "../_helpers.ts";
import { RcloneServer } from "../archive/_rclone_server.ts";
import { makeWorkspace, startRecorder, waitInPage } from "./_page_helpers.ts";

const CAMERA = ["--source", "test", "--width", "320", "--height", "240", "--fps", "10"];

Deno.test("Control page shows the archive's progress, marks archived clips, and says when the remote is gone", async () => {
  await using server = await RcloneServer.start("sftp", await Deno.makeTempDir());
  await using workspace = await makeWorkspace({
    archive: await server.remote("fleet"),
    archiveFolder: "car1",
    archiveClips: "all",
  });
  await using recorder = await startRecorder([...CAMERA, "--segment", "1", ...workspace.args]);
  await waitFor(
    "two clips archived",
    async () => (await recorder.get("api/status")).archive?.archived >= 2,
    60_000,
  );
  await using browser = await launchBrowser();
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(`${recorder.url}/`);
  await waitInPage(
    page,
    `!document.querySelector('[data-fact="archive"]').hidden &&
      /\\d+ archived/.test(document.querySelector("#fact-archive").textContent)`,
    20_000,
  );
  await waitInPage(page, `document.querySelectorAll(".badge.archived").length >= 2`, 30_000);
  const tile = String(await page.evaluate(`document.querySelector("#fact-archive").textContent`));
  const pass = await server.obscuredPass();
  const html = String(await page.evaluate(`document.documentElement.outerHTML`));
  assert.ok(!html.includes(pass), "the password is nowhere on the page");
  assert.doesNotMatch(tile, /not answering/);

  await server.kill();
  await waitInPage(
    page,
    `/remote not answering/.test(document.querySelector("#fact-archive").textContent)`,
    30_000,
  );
  // The recording clip is never archived; the closed ones sent are.
  const clips = (await recorder.get("api/clips")).clips;
  assert.ok(clips.filter((clip: { archived: boolean }) => clip.archived).length >= 2);
  assert.ok(
    clips.every((clip: { archived: boolean; recording: boolean }) =>
      !(clip.recording && clip.archived)
    ),
  );
  const files = await server.files(join("fleet", "car1"));
  assert.ok(files.size >= 2);
  assert.deepEqual(pageErrors, []);
  await Deno.remove(server.dir, { recursive: true });
});
