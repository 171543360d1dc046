/**
 * The lock button and the ignition on a running recorder: test pattern, real ffmpeg, real
 * files, the fake gpiomon as libgpiod 1.6 and 2.x, and a systemctl that records its arguments.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig, parseCommandLine } from "../../src/config/mod.ts";
import { parseClipName } from "../../src/storage/clip_name.ts";
import { runningDashcam } from "../_dashcam.ts";
import { probeClip, waitFor } from "../_helpers.ts";
import { fakeGpio, VERSIONS } from "./_gpio.ts";

const LOCK = 17;
const IGNITION = 27;

async function running(
  version: string,
  options: { args?: string[]; program?: string } = {},
) {
  const fake = await fakeGpio(version);
  const systemctlLog = join(fake.dir, "systemctl.log");
  const systemctl = join(fake.dir, "systemctl");
  await Deno.writeTextFile(systemctl, `#!/bin/sh\necho "systemctl $*" >> '${systemctlLog}'\n`);
  await Deno.chmod(systemctl, 0o755);
  const t = await runningDashcam({
    dir: fake.dir,
    keepDir: true,
    args: [
      "--lock-button",
      `gpiochip0:${LOCK}`,
      "--ignition",
      `gpiochip0:${IGNITION}`,
      ...options.args ?? [],
    ],
    dashcam: {
      gpio: {
        program: options.program ?? fake.program,
        poweroffCommand: [systemctl, "poweroff"],
        backoff: { initialMs: 200, maxMs: 1_000 },
      },
    },
  });
  const { dashcam, output, app } = t;
  return {
    dashcam,
    fake,
    output,
    segments: () => dashcam.recorder.status().segments,
    gpio: () => dashcam.status().gpio,
    async systemctlCalls(): Promise<string[]> {
      try {
        return (await Deno.readTextFile(systemctlLog)).split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
    async status() {
      return await (await app.request("/api/status")).json();
    },
    async [Symbol.asyncDispose]() {
      await t[Symbol.asyncDispose]();
      await fake[Symbol.asyncDispose]();
    },
  };
}

/** The clip files in `dir` (not the storage guard's hidden probe). */
async function clipsIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && parseClipName(entry.name)) names.push(entry.name);
  }
  return names.sort();
}

for (const version of VERSIONS) {
  Deno.test(`Lock button press locks the current clip (gpiomon ${version})`, async () => {
    await using t = await running(version);
    await t.fake.started(2); // the button's gpiomon and the ignition's
    await waitFor("two closed clips", () => t.segments() >= 2, 20_000);
    const before = t.dashcam.recorder.status().current!.seq;
    // Active low (the default): pressed pulls the line to ground.
    await t.fake.edge("gpiochip0", LOCK, "falling");
    await waitFor("the press", () => t.gpio().lock?.state === "pressed");
    await t.fake.edge("gpiochip0", LOCK, "rising");
    const result = await waitFor("the lock", () => t.gpio().lock?.last_result);
    const seq = Number(/^Locked clip (\d+)$/.exec(result)?.[1]);
    assert.ok(seq >= before, `${result} (current was ${before} before the press)`);
    await waitFor("the release", () => t.gpio().lock?.state === "released");
    // The clip after the locked one closes too: then all three are in locked/.
    await waitFor("the next clip to close", () => t.segments() >= seq + 2, 20_000);
    await t.dashcam.stopRecording();
    const locked = (await clipsIn(join(t.output, "locked"))).map((n) => parseClipName(n)!.seq);
    assert.deepEqual(locked, [seq - 1, seq, seq + 1]);

    const { gpio } = await t.status();
    assert.equal(gpio.gpiomon, version);
    assert.equal(gpio.last_error, null);
    assert.deepEqual(
      { chip: gpio.lock.chip, line: gpio.lock.line, state: gpio.lock.state },
      { chip: "gpiochip0", line: LOCK, state: "released" },
    );
    assert.ok(gpio.lock.last_press > Date.now() - 120_000);
    assert.equal(gpio.ignition.state, "unknown", "no ignition edge yet");
  });

  Deno.test(`Ignition off closes the clip and powers off; key on within the delay cancels it (gpiomon ${version})`, async () => {
    await using t = await running(version, {
      args: ["--ignition-poweroff", "--ignition-poweroff-delay", "4"],
    });
    await t.fake.started(2);
    await t.fake.edge("gpiochip0", IGNITION, "rising"); // key on
    await waitFor("key on", () => t.gpio().ignition?.state === "on");
    await waitFor("a closed clip", () => t.segments() >= 1, 20_000);

    await t.fake.edge("gpiochip0", IGNITION, "falling"); // key off
    await waitFor("key off", () => t.gpio().ignition?.state === "off");
    const poweroffAt = t.gpio().ignition!.poweroff_at;
    assert.ok(poweroffAt !== null && poweroffAt > Date.now(), "a power-off is scheduled");
    await waitFor("the clip to close", () => t.dashcam.recorder.status().state === "stopped");
    assert.equal(t.dashcam.recording, false);
    // Every clip has its final name and plays: nothing was left open for the power cut.
    for (const name of await clipsIn(t.output)) {
      assert.ok(!parseClipName(name)!.recording, `${name} was closed`);
      assert.ok((await probeClip(join(t.output, name))).frames > 0, `${name} plays`);
    }

    // The key comes back within the delay: no power-off, recording again.
    await t.fake.edge("gpiochip0", IGNITION, "rising");
    await waitFor("key on again", () => t.gpio().ignition?.state === "on");
    assert.equal(t.gpio().ignition!.poweroff_at, null);
    await waitFor("recording again", () => t.dashcam.recorder.status().state === "running");
    assert.equal(t.dashcam.recording, true);
    const segments = t.segments();
    await waitFor("clips again", () => t.segments() > segments, 20_000);
    // Past the delay the key-off set: still nothing powered off.
    await waitFor("the delay to pass", () => Date.now() > poweroffAt + 1_000, 10_000);
    assert.deepEqual(await t.systemctlCalls(), []);

    // Off for good this time: systemctl poweroff once the delay has passed.
    await t.fake.edge("gpiochip0", IGNITION, "falling");
    await waitFor("key off", () => t.gpio().ignition?.state === "off");
    const calls = await waitFor("systemctl poweroff", async () => {
      const calls = await t.systemctlCalls();
      return calls.length > 0 ? calls : undefined;
    }, 20_000);
    assert.deepEqual(calls, ["systemctl poweroff"]);
    const { gpio } = await t.status();
    assert.equal(gpio.ignition.state, "off");
    assert.equal(gpio.ignition.poweroff_at, null);
    assert.ok(gpio.ignition.poweroff_requested_at > Date.now() - 60_000);
    assert.equal(gpio.ignition.poweroff_delay_s, 4);
    assert.equal(gpio.last_error, null);
  });
}

Deno.test("Ignition off without power-off keeps the Pi running, and Stop is not undone by key on", async () => {
  await using t = await running("2.1.3");
  await t.fake.started(2);
  await waitFor("a closed clip", () => t.segments() >= 1, 20_000);
  await t.fake.edge("gpiochip0", IGNITION, "falling");
  await waitFor("key off", () => t.gpio().ignition?.state === "off");
  assert.equal(t.gpio().ignition!.poweroff_at, null, "power-off is off by default");
  await waitFor("the clip to close", () => t.dashcam.recorder.status().state === "stopped");
  // The driver stops recording on the page while the key is off: key on leaves it stopped.
  await t.dashcam.stopRecording();
  await t.fake.edge("gpiochip0", IGNITION, "rising");
  await waitFor("key on", () => t.gpio().ignition?.state === "on");
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(t.dashcam.recording, false);
  assert.deepEqual(await t.systemctlCalls(), []);
});

Deno.test("A missing gpiomon shows in the status and never disturbs recording", async () => {
  await using t = await running("1.6.3", { program: "/nonexistent/gpiomon" });
  await waitFor("two clips", () => t.segments() >= 2, 20_000);
  const { gpio, recorder } = await t.status();
  assert.match(
    gpio.last_error,
    /^Cannot watch the lock button: Cannot use gpiomon: \/nonexistent\/gpiomon: No such file or directory \(install it with: sudo apt install gpiod\)$/,
  );
  assert.equal(gpio.lock.state, "unknown");
  assert.equal(gpio.gpiomon, null);
  assert.equal(recorder.state, "running");
  const segments = t.segments();
  await waitFor("more clips", () => t.segments() >= segments + 2, 20_000);
  assert.equal(t.dashcam.camera.status().restarts, 0);
});

Deno.test("A crashing gpiomon is restarted, shows in the status, and never disturbs recording", async () => {
  await using t = await running("2.1.3");
  await t.fake.started(2);
  await waitFor("a clip", () => t.segments() >= 1, 20_000);
  const segments = t.segments();
  await t.fake.crash(); // both gpiomons fail
  const error = await waitFor("the crash in the status", () => t.gpio().last_error);
  assert.match(error, /Gpiomon exited with code 1: gpiomon: error reading line events/);
  await t.fake.started(4); // both restarted
  await waitFor("no error", () => t.gpio().last_error === null, 20_000);
  await t.fake.edge("gpiochip0", LOCK, "falling");
  const result = await waitFor("the lock after the restart", () => t.gpio().lock?.last_result);
  assert.match(result, /^Locked clip \d+$/);
  await waitFor("more clips", () => t.segments() >= segments + 2, 20_000);
  assert.equal(t.dashcam.recorder.status().state, "running");
  assert.equal(t.dashcam.camera.status().restarts, 0);
});

Deno.test("Lock button pressed while not recording says why in the status", async () => {
  await using t = await running("1.6.3", { args: ["--no-record"] });
  await t.fake.started(2);
  await t.fake.edge("gpiochip0", LOCK, "falling");
  const result = await waitFor("the press", () => t.gpio().lock?.last_result);
  assert.equal(result, "Cannot lock now: not recording, so there is no current clip");
  assert.equal(t.gpio().last_error, result);
});

Deno.test("The GPIO line settings refuse what is not CHIP:LINE", async () => {
  for (const flag of ["--lock-button", "--ignition"]) {
    await assert.rejects(
      async () => await loadConfig(parseCommandLine([flag, "gpiochip0-17"]), { env: {} }),
      new RegExp(`Invalid ${flag}: expected CHIP:LINE like gpiochip0:17, or empty for none`),
    );
  }
  await assert.rejects(
    async () => await loadConfig(parseCommandLine(["--lock-button-active", "up"]), { env: {} }),
    /Invalid --lock-button-active/,
  );
  const config = await loadConfig(parseCommandLine(["--ignition", "/dev/gpiochip1:4"]), {
    env: {},
  });
  assert.equal(config.ignition, "/dev/gpiochip1:4");
  assert.equal(config.lockButton, "", "none by default");
  assert.equal(config.ignitionPoweroff, false);
});
