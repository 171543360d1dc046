/**
 * scripts/compile.sh. The real build needs denort, which deno compile downloads, and that
 * download is blocked here: the tests check the failure explains DENORT_BIN, and run the rest
 * of the script with the deno binary itself standing in for denort (the result is deno, not a
 * working recorder, but the build flags and the bundle are real).
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const COMPILE = new URL("../../scripts/compile.sh", import.meta.url).pathname;

async function compile(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command("bash", {
    args: [COMPILE, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Where deno compile keeps a downloaded denort; present on a machine that once had access. */
async function denortCached(target: string): Promise<boolean> {
  const info = new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output()).stdout,
  );
  const dir = JSON.parse(info).denoDir as string;
  try {
    await Deno.stat(join(dir, "dl", "release", `v${Deno.version.deno}`, `denort-${target}.zip`));
    return true;
  } catch {
    return false;
  }
}

Deno.test("compile.sh bakes in explicit permissions and --unstable-net, never -A", async () => {
  const { code, stdout } = await compile(["--print-flags"]);
  assert.equal(code, 0);
  const flags = stdout.trim().split("\n");
  for (const flag of ["--allow-read", "--allow-write", "--allow-run", "--allow-net"]) {
    assert.ok(flags.includes(flag), `${flag} in ${flags}`);
  }
  assert.ok(flags.includes("--unstable-net"), "Deno.listenDatagram for sd_notify");
  assert.ok(!flags.some((flag) => flag === "-A" || flag === "--allow-all"));
});

Deno.test("compile.sh refuses an unknown target and DENORT_BIN for two targets", async () => {
  const unknown = await compile(["armv7-unknown-linux-gnueabihf"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown target armv7-unknown-linux-gnueabihf/);
  const two = await compile([], { DENORT_BIN: Deno.execPath() });
  assert.equal(two.code, 2);
  assert.match(two.stderr, /DENORT_BIN is the runtime of one target/);
});

Deno.test({
  name: "compile.sh explains DENORT_BIN when denort cannot be downloaded",
  ignore: await denortCached("aarch64-unknown-linux-gnu"),
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "compile_" });
    try {
      // A proxy that refuses: the download fails at once even where the network is open.
      const offline = { HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9" };
      const { code, stderr } = await compile(
        ["--out-dir", out, "aarch64-unknown-linux-gnu"],
        offline,
      );
      assert.equal(code, 1, stderr);
      assert.match(stderr, /cannot get denort for aarch64-unknown-linux-gnu/);
      assert.match(
        stderr,
        /DENORT_BIN=\/path\/to\/denort scripts\/compile\.sh aarch64-unknown-linux-gnu/,
      );
      assert.ok(stderr.includes(`of Deno ${Deno.version.deno}`));
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("compile.sh with DENORT_BIN builds the binary and a bundle install.sh can use", async () => {
  const out = await Deno.makeTempDir({ prefix: "compile_" });
  try {
    const target = "x86_64-unknown-linux-gnu";
    const { code, stderr } = await compile(["--out-dir", out, target], {
      DENORT_BIN: Deno.execPath(),
    });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /web\//, "web/ is embedded");
    assert.ok(!stderr.includes("playwright-core"), "test-only npm packages are left out");
    const binary = join(out, `videorecorder-${target}`);
    assert.ok((await Deno.stat(binary)).mode! & 0o100, "executable");
    const listing = new TextDecoder().decode(
      (await new Deno.Command("tar", { args: ["-tzf", `${binary}.tar.gz`] }).output()).stdout,
    );
    assert.deepEqual(listing.trim().split("\n").sort(), [
      "videorecorder/",
      "videorecorder/config.example.json",
      "videorecorder/install.sh",
      "videorecorder/raspberry-pi.md",
      "videorecorder/videorecorder",
      "videorecorder/videorecorder.service",
    ]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("compile.sh --node-only writes the Node bundle and a videorecorder-node.tar.gz that runs on node", async () => {
  const out = await Deno.makeTempDir({ prefix: "compile_" });
  try {
    // No proxy that refuses here: on a clean machine deno info fetches hono from npm first.
    const { code, stderr } = await compile(["--out-dir", out, "--node-only"]);
    assert.equal(code, 0, stderr);
    assert.ok(!stderr.includes("denort"), "no Deno target was built");
    const archive = join(out, "videorecorder-node.tar.gz");
    const listing = new TextDecoder().decode(
      (await new Deno.Command("tar", { args: ["-tzf", archive] }).output()).stdout,
    );
    assert.deepEqual(listing.trim().split("\n").sort(), [
      "videorecorder/",
      "videorecorder/config.example.json",
      "videorecorder/install.sh",
      "videorecorder/raspberry-pi.md",
      "videorecorder/videorecorder.mjs",
      "videorecorder/videorecorder.service",
    ]);

    const unpacked = join(out, "unpacked");
    await Deno.mkdir(unpacked);
    const untar = await new Deno.Command("tar", { args: ["-xzf", archive, "-C", unpacked] })
      .output();
    assert.ok(untar.success);
    const kit = join(unpacked, "videorecorder");
    assert.equal(
      await Deno.readTextFile(join(kit, "videorecorder.mjs")),
      await Deno.readTextFile(join(out, "videorecorder.mjs")),
    );
    assert.equal(
      await Deno.readTextFile(join(kit, "install.sh")),
      await Deno.readTextFile(new URL("../../scripts/install.sh", import.meta.url)),
    );

    // The unpacked bundle runs alone: node, no node_modules, from a directory of its own.
    const help = await new Deno.Command("node", {
      args: [join(kit, "videorecorder.mjs"), "--help"],
      cwd: kit,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(help.stdout);
    assert.equal(help.code, 0, new TextDecoder().decode(help.stderr));
    assert.match(stdout, /--codec CODEC/);
    assert.match(stdout, /--preview-fps RATE/);

    // The kit's install.sh finds the bundle beside it and checks it on this real node
    // (systemctl, loginctl and sudo are stand-ins: no user manager runs here).
    const home = join(out, "home");
    const fakes = join(out, "fake-bin");
    await Deno.mkdir(home);
    await Deno.mkdir(fakes);
    for (const name of ["systemctl", "loginctl", "sudo"]) {
      const body = name === "sudo" ? 'exec "$@"' : "exit 0";
      await Deno.writeTextFile(join(fakes, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    }
    const install = await new Deno.Command("bash", {
      args: [join(kit, "install.sh"), "--runtime", "node"],
      cwd: home,
      clearEnv: true,
      env: { HOME: home, PATH: `${fakes}:${Deno.env.get("PATH")}`, LANG: "C.UTF-8" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(install.code, 0, new TextDecoder().decode(install.stderr));
    const installed = join(home, ".local/lib/videorecorder/videorecorder.mjs");
    assert.equal(
      await Deno.readTextFile(installed),
      await Deno.readTextFile(join(kit, "videorecorder.mjs")),
    );
    const unit = await Deno.readTextFile(join(home, ".config/systemd/user/videorecorder.service"));
    assert.match(unit, /^ExecStart=\/\S+\/node --max-semi-space-size=1 %h\/\.local\/lib\//m);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("compile.sh refuses DENORT_BIN with only the node target", async () => {
  const { code, stderr } = await compile(["node"], { DENORT_BIN: Deno.execPath() });
  assert.equal(code, 2);
  assert.match(stderr, /DENORT_BIN is the runtime of one target/);
});
