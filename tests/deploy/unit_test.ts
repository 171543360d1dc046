/** deploy/videorecorder.service as systemd reads it, and the example config as the app reads it. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig, parseCommandLine } from "../../src/config/mod.ts";

const UNIT = new URL("../../deploy/videorecorder.service", import.meta.url).pathname;
const EXAMPLE = new URL("../../deploy/config.example.json", import.meta.url).pathname;

/**
 * `systemd-analyze --user verify`, as the user manager would load the unit: %h is a temp HOME
 * holding an executable at the ExecStart path. systemd-analyze exits 0 for many mistakes (an
 * unknown key, a bad value: "ignoring"), so any output counts as a failure too.
 */
async function verifyUserUnit(unitFile: string) {
  const home = await Deno.makeTempDir({ prefix: "unit_home_" });
  const runtime = await Deno.makeTempDir({ prefix: "unit_runtime_" });
  try {
    const bin = join(home, ".local", "bin");
    await Deno.mkdir(bin, { recursive: true });
    await Deno.writeTextFile(join(bin, "videorecorder"), "#!/bin/sh\n");
    await Deno.chmod(join(bin, "videorecorder"), 0o755);
    const output = await new Deno.Command("systemd-analyze", {
      args: ["--user", "verify", unitFile],
      env: { HOME: home, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: "0" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    const messages = (decoder.decode(output.stdout) + decoder.decode(output.stderr)).trim();
    return { ok: output.code === 0 && messages === "", code: output.code, messages };
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(runtime, { recursive: true });
  }
}

/** A copy of the unit with `edit` applied, in a temp dir, under the same file name. */
async function editedUnit(edit: (text: string) => string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "unit_" });
  const file = join(dir, "videorecorder.service");
  await Deno.writeTextFile(file, edit(await Deno.readTextFile(UNIT)));
  return file;
}

/** `[Service]` settings of a unit file, last one wins (as for systemd). */
function serviceSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  let section = "";
  for (const line of text.split("\n")) {
    const header = /^\[(\w+)\]$/.exec(line.trim());
    if (header) section = header[1];
    const setting = /^(\w+)=(.*)$/.exec(line);
    if (section === "Service" && setting) settings.set(setting[1], setting[2]);
  }
  return settings;
}

Deno.test("videorecorder.service passes systemd-analyze --user verify", async () => {
  const result = await verifyUserUnit(UNIT);
  assert.ok(result.ok, `exit ${result.code}: ${result.messages}`);
});

Deno.test("verifyUserUnit fails a unit with a bad value, an unknown key or no binary", async () => {
  const broken = [
    await editedUnit((text) => text.replace("Type=notify", "Type=notifyy")),
    await editedUnit((text) => text.replace("KillMode=mixed", "KillMode=mixed\nRestartOften=yes")),
    await editedUnit((text) => text.replace("%h/.local/bin/videorecorder", "%h/.local/bin/nope")),
  ];
  const [badValue, unknownKey, noBinary] = await Promise.all(broken.map(verifyUserUnit));
  assert.equal(badValue.ok, false);
  assert.match(badValue.messages, /Failed to parse service type.*notifyy/);
  assert.equal(unknownKey.ok, false);
  assert.match(unknownKey.messages, /Unknown key.*'RestartOften'/);
  assert.equal(noBinary.ok, false);
  assert.notEqual(noBinary.code, 0);
  assert.match(noBinary.messages, /nope.*(not executable|No such file)/);
  for (const file of broken) await Deno.remove(join(file, ".."), { recursive: true });
});

Deno.test("videorecorder.service is restarted when stalled and gives ffmpeg time to close the clip", async () => {
  const service = serviceSettings(await Deno.readTextFile(UNIT));
  assert.equal(service.get("Type"), "notify");
  assert.equal(service.get("Restart"), "always");
  // SIGTERM to the app alone: it closes ffmpeg's stdin itself; a group SIGTERM would cut the clip.
  assert.equal(service.get("KillMode"), "mixed");
  const watchdog = Number(service.get("WatchdogSec"));
  assert.ok(watchdog >= 10 && watchdog <= 120, `WatchdogSec=${watchdog}`);
  // The recorder waits up to 10 s for ffmpeg to close the clip, then 3 s after SIGTERM.
  const stop = Number(service.get("TimeoutStopSec"));
  assert.ok(stop >= 20, `TimeoutStopSec=${stop}`);
  assert.equal(
    service.get("ExecStart"),
    "%h/.local/bin/videorecorder --config %h/.config/videorecorder/config.json",
    "where scripts/install.sh puts the binary and the config",
  );
});

Deno.test("videorecorder.service raises the descriptor limit above the default 1024", async () => {
  // ~1000 idle sockets used up the default soft limit and the recorder's descriptors (issue 10).
  const service = serviceSettings(await Deno.readTextFile(UNIT));
  const files = Number(service.get("LimitNOFILE"));
  assert.ok(files >= 4096, `LimitNOFILE=${service.get("LimitNOFILE")}`);
});

Deno.test("config.example.json is a valid config for the app", async () => {
  const home = await Deno.makeTempDir({ prefix: "config_home_" });
  try {
    // As scripts/install.sh writes it: /home/pi/ becomes the user's home.
    const text = (await Deno.readTextFile(EXAMPLE)).replaceAll('"/home/pi/', `"${home}/`);
    const file = join(home, "config.json");
    await Deno.writeTextFile(file, text);
    const config = await loadConfig(parseCommandLine(["--config", file]), { cwd: home });
    assert.equal(config.output, join(home, "videorecorder"));
    assert.equal(config.host, "0.0.0.0", "reachable from a phone");
    assert.equal(config.port, 8080);
    assert.equal(config.source, "auto");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
