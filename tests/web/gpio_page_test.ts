/**
 * The control page's GPIO tile, in Chromium, against the real program with the fake gpiomon
 * (libgpiod 2.x) first on its PATH, and a systemctl there that only records a power-off.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser } from "../_browser.ts";
import { waitFor } from "../_helpers.ts";
import { fakeGpio } from "../car/_gpio.ts";
import { makeWorkspace, startRecorder, waitInPage } from "./_page_helpers.ts";

const CAMERA = ["--source", "test", "--width", "320", "--height", "240", "--fps", "10"];

Deno.test("Control page shows the lock button's and the ignition's state and a scheduled power-off", async () => {
  await using fake = await fakeGpio("2.1.3");
  // Never the host's systemctl: this one records what it is asked.
  await Deno.writeTextFile(
    join(fake.dir, "systemctl"),
    `#!/bin/sh\necho "systemctl $*" >> '${join(fake.dir, "systemctl.log")}'\n`,
  );
  await Deno.chmod(join(fake.dir, "systemctl"), 0o755);
  await using workspace = await makeWorkspace({
    lockButton: "gpiochip0:17",
    ignition: "gpiochip0:27",
    ignitionPoweroff: true,
    ignitionPoweroffDelay: 600,
  });
  await using recorder = await startRecorder([...CAMERA, "--segment", "1", ...workspace.args], {
    env: { PATH: `${fake.dir}:${Deno.env.get("PATH")}` },
  });
  await fake.started(2);
  await waitFor("a clip", async () => (await recorder.get("api/status")).recorder?.segments >= 1);
  await using browser = await launchBrowser();
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(`${recorder.url}/`);
  const tile = `document.querySelector("#fact-gpio").textContent`;
  await waitInPage(
    page,
    `!document.querySelector('[data-fact="gpio"]').hidden &&
      /lock button unknown · ignition unknown/.test(${tile})`,
    20_000,
  );

  await fake.edge("gpiochip0", 17, "falling"); // pressed (to ground)
  await fake.edge("gpiochip0", 27, "rising"); // key on
  await waitInPage(page, `/lock button pressed \\(last: .*Locked clip \\d+\\)/.test(${tile})`);
  await waitInPage(page, `/ignition key on/.test(${tile})`);
  await fake.edge("gpiochip0", 17, "rising");
  await waitInPage(page, `/lock button released/.test(${tile})`);

  await fake.edge("gpiochip0", 27, "falling"); // key off: power-off in 10 minutes
  await waitInPage(page, `/ignition key off, power-off in (9 min|10 min)/.test(${tile})`);
  const text = String(await page.evaluate(tile));
  await fake.edge("gpiochip0", 27, "rising");
  await waitInPage(page, `/ignition key on$/.test(${tile})`);
  assert.match(text, /power-off in/);
  assert.deepEqual(pageErrors, []);
  const status = await recorder.get("api/status");
  assert.equal(status.gpio.ignition.poweroff_at, null);
  assert.equal(status.gpio.gpiomon, "2.1.3");
});
