/**
 * scripts/install.sh in a temp HOME. systemctl, loginctl and sudo are replaced by recorders of
 * their arguments (no user manager runs here); loginctl keeps the linger state as the real one
 * does, so a second run sees it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const INSTALL = new URL("../../scripts/install.sh", import.meta.url).pathname;
const UNIT = new URL("../../deploy/videorecorder.service", import.meta.url).pathname;

interface Sandbox {
  root: string;
  home: string;
  /** The binary to install: a script that answers --help like the real one. */
  binary: string;
  fakeBin: string;
  /**
   * Runs scripts/install.sh, or `script` (e.g. a bundle's copy), from HOME; as user `uid`
   * (through setpriv) when given; with `withoutNode`, on a PATH that has no node but the fakes'.
   */
  run(
    args?: string[],
    script?: string,
    uid?: number,
    withoutNode?: boolean,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The recorded commands, one "program args..." per line, since the last call. */
  takeCalls(): Promise<string[]>;
  remove(): Promise<void>;
}

async function sandbox(): Promise<Sandbox> {
  const root = await Deno.makeTempDir({ prefix: "install_" });
  const home = join(root, "home");
  const fakeBin = join(root, "fake-bin");
  const calls = join(root, "calls.log");
  const linger = join(root, "linger");
  await Deno.mkdir(home);
  await Deno.mkdir(fakeBin);
  await Deno.mkdir(linger);
  const fakes: Record<string, string> = {
    systemctl: "exit 0",
    sudo: 'exec "$@"',
    loginctl: `case "$1" in
  enable-linger) touch '${linger}'/"$2" ;;
  disable-linger) rm -f '${linger}'/"$2" ;;
  show-user) if [ -e '${linger}'/"$2" ]; then echo yes; else echo no; fi ;;
esac`,
  };
  for (const [name, body] of Object.entries(fakes)) {
    const path = join(fakeBin, name);
    await Deno.writeTextFile(path, `#!/bin/sh\necho "${name} $*" >> '${calls}'\n${body}\n`);
    await Deno.chmod(path, 0o755);
  }
  const binary = join(root, "videorecorder");
  await writeBinary(binary, "1");
  return {
    root,
    home,
    binary,
    fakeBin,
    async run(args = [], script = INSTALL, uid?: number, withoutNode = false) {
      const asUser = uid === undefined
        ? []
        : ["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--"];
      const argv = [...asUser, "bash", script, ...args];
      const output = await new Deno.Command(argv[0], {
        args: argv.slice(1),
        cwd: home,
        clearEnv: true, // no SUDO_USER, XDG_* or DBus of the test runner
        env: {
          HOME: home,
          PATH: `${fakeBin}:${
            withoutNode ? await hostPathWithoutNode(root) : Deno.env.get("PATH")
          }`,
          LANG: "C.UTF-8",
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decoder = new TextDecoder();
      return {
        code: output.code,
        stdout: decoder.decode(output.stdout),
        stderr: decoder.decode(output.stderr),
      };
    },
    async takeCalls() {
      let text = "";
      try {
        text = await Deno.readTextFile(calls);
        await Deno.remove(calls);
      } catch {
        // Nothing was called.
      }
      return text.split("\n").filter((line) => line !== "");
    },
    remove: () => Deno.remove(root, { recursive: true }),
  };
}

/**
 * A directory of links to every program on the host's PATH but node, as a PATH: the system
 * without Node.js, and with everything else install.sh uses.
 */
async function hostPathWithoutNode(root: string): Promise<string> {
  const dir = join(root, "host-bin");
  try {
    await Deno.mkdir(dir);
  } catch {
    return dir; // made by an earlier run
  }
  for (const from of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
    try {
      for await (const entry of Deno.readDir(from)) {
        if (entry.name === "node" || entry.name === "nodejs") continue;
        await Deno.symlink(join(from, entry.name), join(dir, entry.name)).catch(() => {});
      }
    } catch {
      // A PATH entry that does not exist.
    }
  }
  return dir;
}

async function writeBinary(path: string, version: string): Promise<void> {
  await Deno.writeTextFile(path, `#!/bin/sh\n# version ${version}\necho "Usage: videorecorder"\n`);
  await Deno.chmod(path, 0o755);
}

/** What scripts/compile.sh bundles with the binary, flat in one directory (no binary yet). */
async function bundle(root: string): Promise<string> {
  const kit = join(root, "kit");
  await Deno.mkdir(kit);
  for (
    const file of [INSTALL, UNIT, new URL("../../deploy/config.example.json", import.meta.url)]
  ) {
    const from = typeof file === "string" ? file : file.pathname;
    await Deno.copyFile(from, join(kit, from.split("/").at(-1)!));
  }
  return kit;
}

function paths(home: string) {
  return {
    binary: join(home, ".local/bin/videorecorder"),
    unit: join(home, ".config/systemd/user/videorecorder.service"),
    config: join(home, ".config/videorecorder/config.json"),
    marker: join(home, ".local/state/videorecorder/linger-enabled-by-install"),
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function listTree(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    found.push(entry.name);
    if (entry.isDirectory) {
      found.push(...(await listTree(join(dir, entry.name))).map((n) => `${entry.name}/${n}`));
    }
  }
  return found.sort();
}

const user = new TextDecoder().decode(
  (await new Deno.Command("id", { args: ["-un"] }).output()).stdout,
)
  .trim();

Deno.test("install.sh places binary, unit and config, enables lingering, then starts the service", async () => {
  const box = await sandbox();
  try {
    const { code, stdout, stderr } = await box.run(["--binary", box.binary]);
    assert.equal(code, 0, stderr);
    const p = paths(box.home);
    assert.equal((await Deno.stat(p.binary)).mode! & 0o777, 0o755);
    assert.equal((await Deno.stat(p.unit)).mode! & 0o777, 0o644);
    assert.equal((await Deno.stat(p.config)).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(p.binary), await Deno.readTextFile(box.binary));
    assert.equal(await Deno.readTextFile(p.unit), await Deno.readTextFile(UNIT));
    const config = JSON.parse(await Deno.readTextFile(p.config));
    assert.equal(config.output, join(box.home, "videorecorder"), "the user's home, not /home/pi");
    assert.deepEqual(await box.takeCalls(), [
      `loginctl show-user ${user} --property=Linger --value`,
      `loginctl enable-linger ${user}`,
      "systemctl --user daemon-reload",
      "systemctl --user try-restart videorecorder.service",
      "systemctl --user enable --now videorecorder.service",
    ]);
    assert.match(stdout, /journalctl --user -u videorecorder/);
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh never overwrites the user's config", async () => {
  const box = await sandbox();
  try {
    const p = paths(box.home);
    await Deno.mkdir(join(p.config, ".."), { recursive: true });
    await Deno.writeTextFile(p.config, '{"fps": 15}\n');
    const { code, stdout, stderr } = await box.run(["--binary", box.binary]);
    assert.equal(code, 0, stderr);
    assert.equal(await Deno.readTextFile(p.config), '{"fps": 15}\n');
    assert.match(stdout, /keeping your config/);
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh run twice changes nothing the second time", async () => {
  const box = await sandbox();
  try {
    assert.equal((await box.run(["--binary", box.binary])).code, 0);
    await box.takeCalls();
    const p = paths(box.home);
    const before = await Promise.all([p.binary, p.unit, p.config].map((f) => Deno.stat(f)));
    const { code, stderr } = await box.run(["--binary", box.binary]);
    assert.equal(code, 0, stderr);
    const after = await Promise.all([p.binary, p.unit, p.config].map((f) => Deno.stat(f)));
    for (const [i, info] of after.entries()) {
      assert.equal(info.ino, before[i].ino, "not replaced");
      assert.equal(info.mtime?.getTime(), before[i].mtime?.getTime(), "not rewritten");
    }
    // Lingering stays on, and nothing is restarted.
    assert.deepEqual(await box.takeCalls(), [
      `loginctl show-user ${user} --property=Linger --value`,
      "systemctl --user daemon-reload",
      "systemctl --user enable --now videorecorder.service",
    ]);
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh upgrades a changed binary and restarts the running service", async () => {
  const box = await sandbox();
  try {
    assert.equal((await box.run(["--binary", box.binary])).code, 0);
    await box.takeCalls();
    await writeBinary(box.binary, "2");
    const { code, stderr } = await box.run(["--binary", box.binary]);
    assert.equal(code, 0, stderr);
    assert.match(await Deno.readTextFile(paths(box.home).binary), /version 2/);
    assert.ok(
      (await box.takeCalls()).includes("systemctl --user try-restart videorecorder.service"),
    );
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh --dry-run prints each action and changes nothing", async () => {
  const box = await sandbox();
  try {
    const { code, stdout, stderr } = await box.run(["--binary", box.binary, "--dry-run"]);
    assert.equal(code, 0, stderr);
    assert.deepEqual(await listTree(box.home), []);
    // Only the read-only question about lingering was asked.
    assert.deepEqual(await box.takeCalls(), [
      `loginctl show-user ${user} --property=Linger --value`,
    ]);
    const p = paths(box.home);
    for (
      const action of [
        `install -m 0755 ${box.binary} ${p.binary}.new`,
        `mv -f ${p.unit}.new ${p.unit}`,
        `mv -f ${p.config}.new ${p.config}`,
        `loginctl enable-linger ${user}`,
        "systemctl --user daemon-reload",
        "systemctl --user enable --now videorecorder.service",
      ]
    ) {
      assert.ok(stdout.includes(`[dry-run] ${action}\n`), `prints "${action}":\n${stdout}`);
    }
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh --uninstall reverses the install and keeps an edited config", async () => {
  const box = await sandbox();
  try {
    assert.equal((await box.run(["--binary", box.binary])).code, 0);
    const p = paths(box.home);
    assert.ok(await exists(p.marker));
    await box.takeCalls();

    const dry = await box.run(["--uninstall", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(await exists(p.binary) && await exists(p.unit), "--dry-run removed nothing");
    assert.deepEqual(await box.takeCalls(), []);

    const { code, stderr } = await box.run(["--uninstall"]);
    assert.equal(code, 0, stderr);
    assert.deepEqual(await box.takeCalls(), [
      "systemctl --user disable --now videorecorder.service",
      "systemctl --user daemon-reload",
      "systemctl --user reset-failed videorecorder.service",
      `loginctl disable-linger ${user}`,
    ]);
    for (const path of Object.values(p)) assert.equal(await exists(path), false, `${path} removed`);

    // Once more, with a config the user edited: it stays.
    assert.equal((await box.run(["--binary", box.binary])).code, 0);
    await Deno.writeTextFile(p.config, '{"fps": 10}\n');
    const again = await box.run(["--uninstall"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await Deno.readTextFile(p.config), '{"fps": 10}\n');
    assert.match(again.stdout, /keeping your edited config/);
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh leaves lingering on at uninstall when it was on before", async () => {
  const box = await sandbox();
  try {
    // Lingering enabled by someone else first.
    await new Deno.Command(join(box.fakeBin, "loginctl"), { args: ["enable-linger", user] })
      .output();
    assert.equal((await box.run(["--binary", box.binary])).code, 0);
    assert.equal(await exists(paths(box.home).marker), false);
    await box.takeCalls();
    assert.equal((await box.run(["--uninstall"])).code, 0);
    assert.ok(!(await box.takeCalls()).some((call) => call.includes("disable-linger")));
  } finally {
    await box.remove();
  }
});

/** Replaces `name` on the sandbox's PATH by a shell script with `body`. */
async function fake(box: Sandbox, name: string, body: string): Promise<void> {
  await Deno.writeTextFile(join(box.fakeBin, name), `#!/bin/sh\n${body}\n`);
  await Deno.chmod(join(box.fakeBin, name), 0o755);
}

/** A system as `uname -m` and `dpkg --print-architecture` describe it. */
async function fakeSystem(box: Sandbox, cpu: string, userland: string): Promise<void> {
  await fake(box, "uname", `[ "$1" = -m ] && echo ${cpu} || exec /bin/uname "$@"`);
  await fake(box, "dpkg", `[ "$1" = --print-architecture ] && echo ${userland} || exit 2`);
}

/** A node that prints `version`, and logs what it runs to `ran.log` beside the fakes. */
async function fakeNode(box: Sandbox, version: string): Promise<string> {
  await fake(
    box,
    "node",
    `if [ "$1" = --version ]; then echo ${version}; exit 0; fi
echo "$*" >> '${join(box.root, "ran.log")}'`,
  );
  return join(box.fakeBin, "node");
}

/** A Node bundle to install (any file: the fake node runs nothing). */
async function writeBundle(box: Sandbox): Promise<string> {
  const path = join(box.root, "videorecorder.mjs");
  await Deno.writeTextFile(path, 'console.log("Usage: videorecorder");\n');
  return path;
}

/** The installed unit's ExecStart. */
async function execStart(home: string): Promise<string> {
  const unit = await Deno.readTextFile(paths(home).unit);
  return /^ExecStart=(.*)$/m.exec(unit)![1];
}

Deno.test("install.sh refuses a 16K-page kernel for Deno, saying what to do", async () => {
  const box = await sandbox();
  try {
    await fakeSystem(box, "aarch64", "arm64");
    await fake(box, "getconf", '[ "$1" = PAGESIZE ] && echo 16384');
    const pi5 = await box.run(["--binary", box.binary]);
    assert.equal(pi5.code, 1);
    assert.match(pi5.stderr, /16384-byte pages.*kernel=kernel8\.img/);
    assert.deepEqual(await listTree(box.home), [], "nothing installed");
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh on a 64-bit userland (arm64) installs the Deno binary", async () => {
  const box = await sandbox();
  try {
    await fakeSystem(box, "aarch64", "arm64");
    await fake(box, "getconf", '[ "$1" = PAGESIZE ] && echo 4096');
    await fakeNode(box, "v20.19.2"); // present, and still not used
    const { code, stderr } = await box.run(["--binary", box.binary, "--bundle", box.binary]);
    assert.equal(code, 0, stderr);
    const p = paths(box.home);
    assert.equal(await Deno.readTextFile(p.binary), await Deno.readTextFile(box.binary));
    assert.equal(await Deno.readTextFile(p.unit), await Deno.readTextFile(UNIT));
    assert.match(await execStart(box.home), /^%h\/\.local\/bin\/videorecorder --config /);
    assert.equal(await exists(join(box.home, ".local/lib")), false, "no Node bundle");
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh on a 32-bit userland (armhf) installs the Node bundle and a unit running node", async () => {
  const box = await sandbox();
  try {
    // A 64-bit kernel under 32-bit Raspberry Pi OS: uname says aarch64, the programs are armhf.
    await fakeSystem(box, "aarch64", "armhf");
    const node = await fakeNode(box, "v18.19.0");
    const bundle = await writeBundle(box);
    const { code, stdout, stderr } = await box.run(["--bundle", bundle]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /userland armhf: Deno has no 32-bit ARM build/);
    const p = paths(box.home);
    const installed = join(box.home, ".local/lib/videorecorder/videorecorder.mjs");
    assert.equal(await Deno.readTextFile(installed), await Deno.readTextFile(bundle));
    assert.equal(await exists(p.binary), false, "no Deno binary");
    assert.equal(
      await execStart(box.home),
      `${node} --max-semi-space-size=1 %h/.local/lib/videorecorder/videorecorder.mjs ` +
        "--config %h/.config/videorecorder/config.json",
    );
    // Everything else as for Deno: Type=notify, the watchdog, and so on.
    const unit = await Deno.readTextFile(p.unit);
    const deno = await Deno.readTextFile(UNIT);
    const withoutExec = (text: string) => text.replace(/^ExecStart=.*$/m, "");
    assert.equal(withoutExec(unit), withoutExec(deno));
    assert.match(unit, /^Type=notify$/m);
    assert.match(unit, /^WatchdogSec=30$/m);
    // The bundle was tried on this node before it was installed.
    assert.match(await Deno.readTextFile(join(box.root, "ran.log")), /videorecorder\.mjs --help/);
    assert.ok(
      (await box.takeCalls()).includes("systemctl --user enable --now videorecorder.service"),
    );

    // The Node unit passes systemd's own check, as the deploy unit does.
    const verify = await new Deno.Command("systemd-analyze", {
      args: ["--user", "verify", p.unit],
      env: { HOME: box.home, XDG_RUNTIME_DIR: box.root, SYSTEMD_LOG_COLOR: "0" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const messages = new TextDecoder().decode(verify.stderr) +
      new TextDecoder().decode(verify.stdout);
    assert.equal(verify.code, 0, messages);
    assert.equal(messages.trim(), "");

    // A second run changes nothing; --uninstall removes the bundle too.
    const again = await box.run(["--bundle", bundle]);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!(await box.takeCalls()).some((call) => call.includes("try-restart")));
    const removed = await box.run(["--uninstall"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(await exists(installed), false);
    assert.equal(await exists(p.unit), false);
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh on an ARMv6 CPU (Pi Zero W) installs the Node bundle", async () => {
  const box = await sandbox();
  try {
    await fakeSystem(box, "armv6l", "armhf");
    await fakeNode(box, "v18.20.4");
    const { code, stderr } = await box.run(["--bundle", await writeBundle(box)]);
    assert.equal(code, 0, stderr);
    assert.match(await execStart(box.home), /node --max-semi-space-size=1 .*videorecorder\.mjs/);
    assert.ok(await exists(join(box.home, ".local/lib/videorecorder/videorecorder.mjs")));
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh refuses a Node.js older than 18.19 with the command that fixes it", async () => {
  const box = await sandbox();
  try {
    await fakeSystem(box, "armv7l", "armhf");
    await fakeNode(box, "v18.12.1");
    const { code, stderr } = await box.run(["--bundle", await writeBundle(box)]);
    assert.equal(code, 1);
    assert.match(stderr, /Node\.js v18\.12\.1 is too old: the recorder needs 18\.19 or later/);
    assert.match(stderr, /Fix: sudo apt update && sudo apt install nodejs/);
    assert.deepEqual(await listTree(box.home), [], "nothing installed");
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh installs nodejs with apt when there is no node", async () => {
  const box = await sandbox();
  try {
    await fakeSystem(box, "armv6l", "armhf");
    // apt-get (through the fake sudo) logs its arguments; its install puts a node on PATH.
    const node = `#!/bin/sh\n[ "$1" = --version ] && echo v18.19.0\nexit 0\n`;
    await fake(
      box,
      "apt-get",
      `echo "apt-get $*" >> '${join(box.root, "calls.log")}'
if [ "$1" = install ]; then printf '${node}' > '${box.fakeBin}/node'; chmod +x '${box.fakeBin}/node'; fi`,
    );
    // PATH without the host's node: the fakes, then only what the script itself needs.
    const bundle = await writeBundle(box);
    const dry = await box.run(["--bundle", bundle, "--dry-run"], INSTALL, undefined, true);
    assert.equal(dry.code, 0, dry.stderr);
    // sudo unless the test runs as root.
    assert.match(dry.stdout, /^\[dry-run\] (sudo )?apt-get install -y nodejs$/m);
    assert.ok(!(await box.takeCalls()).some((call) => call.startsWith("apt-get")));

    const { code, stdout, stderr } = await box.run(["--bundle", bundle], INSTALL, undefined, true);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /Node\.js is not installed: installing it with apt/);
    const calls = await box.takeCalls();
    assert.ok(calls.includes("apt-get install -y nodejs"), calls.join("\n"));
    assert.ok(calls.indexOf("apt-get update") < calls.indexOf("apt-get install -y nodejs"));
    assert.match(await execStart(box.home), new RegExp(`^${box.fakeBin}/node `));
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh says what is wrong with the binary", async () => {
  const box = await sandbox();
  try {
    const missing = await box.run(["--binary", join(box.root, "nope")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--binary .*nope: no such file/);

    // A bundle without the binary, run without --binary.
    const kit = await bundle(box.root);
    const none = await box.run([], join(kit, "install.sh"));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no videorecorder binary .*pass --binary PATH/);

    const broken = join(box.root, "broken");
    await Deno.writeTextFile(broken, "#!/bin/sh\nexit 139\n");
    await Deno.chmod(broken, 0o755);
    const crash = await box.run(["--binary", broken]);
    assert.equal(crash.code, 1);
    assert.match(crash.stderr, /does not run here/);
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh from the bundle uses the binary, unit and config beside it", async () => {
  const box = await sandbox();
  try {
    const kit = await bundle(box.root);
    await Deno.copyFile(box.binary, join(kit, "videorecorder"));
    const { code, stderr } = await box.run([], join(kit, "install.sh"));
    assert.equal(code, 0, stderr);
    const p = paths(box.home);
    assert.equal(await Deno.readTextFile(p.binary), await Deno.readTextFile(box.binary));
    assert.equal(await Deno.readTextFile(p.unit), await Deno.readTextFile(UNIT));
    assert.ok(await exists(p.config));
  } finally {
    await box.remove();
  }
});

Deno.test({
  name: "install.sh run by a normal user asks sudo to enable lingering",
  ignore: Deno.uid() !== 0, // switching to another user needs root
  async fn() {
    const box = await sandbox();
    try {
      const nobody = 65534;
      // The user's own HOME, and a world-writable log for the fakes.
      await Deno.chmod(box.root, 0o777);
      await Deno.chown(box.home, nobody, nobody);
      await Deno.writeTextFile(join(box.root, "calls.log"), "", { mode: 0o666 });
      await Deno.chmod(join(box.root, "calls.log"), 0o666);
      await Deno.chmod(join(box.root, "linger"), 0o777);
      const { code, stderr } = await box.run(["--binary", box.binary], INSTALL, nobody);
      assert.equal(code, 0, stderr);
      const calls = await box.takeCalls();
      assert.ok(calls.includes("sudo loginctl enable-linger nobody"), calls.join("\n"));
      assert.ok(calls.includes("loginctl enable-linger nobody"), "sudo ran it");
      assert.equal((await Deno.stat(paths(box.home).binary)).uid, nobody);
    } finally {
      await box.remove();
    }
  },
});

Deno.test("install.sh points to the logs when the service does not start", async () => {
  const box = await sandbox();
  try {
    // Like systemctl when the unit fails before READY=1.
    await Deno.writeTextFile(
      join(box.fakeBin, "systemctl"),
      `#!/bin/sh
case "$*" in
  *enable*) echo "Job for videorecorder.service failed because the control process exited" >&2
    exit 1 ;;
esac
`,
    );
    const { code, stderr } = await box.run(["--binary", box.binary]);
    assert.equal(code, 1);
    assert.match(stderr, /Job for videorecorder\.service failed/);
    assert.match(stderr, /did not start; see: journalctl --user -u videorecorder -e/);
  } finally {
    await box.remove();
  }
});

/**
 * A NetworkManager nmcli that records its arguments and keeps the connection profiles as
 * files, answering the questions install.sh asks as the real one does (`-t` terse output,
 * "Error: unknown connection" with exit status 10).
 */
async function fakeNmcli(box: Sandbox, running = "running"): Promise<string> {
  const profiles = join(box.root, "nm-profiles");
  await Deno.mkdir(profiles, { recursive: true });
  await fake(
    box,
    "nmcli",
    `echo "nmcli $*" >> '${join(box.root, "calls.log")}'
profiles='${profiles}'
case "$*" in
  "-t -f RUNNING general") echo ${running} ;;
  "-t -f NAME connection show") ls "$profiles" ;;
  "connection add "*)
    name=""
    shift 2
    while [ $# -gt 1 ]; do
      [ "$1" = con-name ] && name="$2"
      shift 2
    done
    [ $# -eq 0 ] || { echo "Error: value for '$1' is missing." >&2; exit 2; }
    printf '%s\\n' "$*" > "$profiles/$name"
    echo "Connection '$name' (6f9c2a4e-0000-4000-8000-000000000001) successfully added." ;;
  "connection modify "* | "connection delete "*)
    [ -e "$profiles/$3" ] || { echo "Error: unknown connection '$3'." >&2; exit 10; }
    if [ "$2" = delete ]; then
      rm "$profiles/$3"
      echo "Connection '$3' (6f9c2a4e-0000-4000-8000-000000000001) successfully deleted."
    fi ;;
  *) echo "Error: argument '$1' not understood." >&2; exit 2 ;;
esac`,
  );
  return profiles;
}

/** The nmcli calls that change something (sudo's copy, when not root, left out). */
function nmcliChanges(calls: string[]): string[] {
  return calls.filter((call) => /^nmcli connection (add|modify|delete)/.test(call));
}

const HOTSPOT_SETTINGS = "connection.autoconnect yes connection.autoconnect-priority -10 " +
  "802-11-wireless.ssid Dashcam 802-11-wireless.mode ap 802-11-wireless.band bg " +
  "ipv4.method shared ipv6.method ignore wifi-sec.key-mgmt wpa-psk wifi-sec.proto rsn " +
  "wifi-sec.pairwise ccmp wifi-sec.group ccmp wifi-sec.psk";

Deno.test("install.sh --hotspot adds an access point below known networks and prints its address", async () => {
  const box = await sandbox();
  try {
    const profiles = await fakeNmcli(box);
    const { code, stdout, stderr } = await box.run(["--hotspot", "Dashcam", "secret pass 1"]);
    assert.equal(code, 0, stderr);
    assert.deepEqual(nmcliChanges(await box.takeCalls()), [
      "nmcli connection add type wifi con-name videorecorder-hotspot ifname wlan0 " +
      `${HOTSPOT_SETTINGS} secret pass 1`,
    ]);
    assert.ok(await exists(join(profiles, "videorecorder-hotspot")));
    assert.match(stdout, /open http:\/\/10\.42\.0\.1:8080\//);
    assert.ok(!stdout.includes("secret pass 1"), "the password is never printed");
    assert.match(stdout, /wifi-sec\.psk \*{8}/);
    assert.deepEqual(await listTree(box.home), [], "the service is not touched");

    // Again with a new password: the profile is changed, not doubled.
    const again = await box.run(["--hotspot", "Dashcam", "another-secret"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(nmcliChanges(await box.takeCalls()), [
      "nmcli connection modify videorecorder-hotspot connection.interface-name wlan0 " +
      `${HOTSPOT_SETTINGS} another-secret`,
    ]);

    const removed = await box.run(["--no-hotspot"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(nmcliChanges(await box.takeCalls()), [
      "nmcli connection delete videorecorder-hotspot",
    ]);
    assert.equal(await exists(join(profiles, "videorecorder-hotspot")), false);
    const none = await box.run(["--no-hotspot"]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /there is no hotspot videorecorder-hotspot to remove/);
    assert.deepEqual(nmcliChanges(await box.takeCalls()), []);
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh --hotspot prints the page's port from the config", async () => {
  const box = await sandbox();
  try {
    await fakeNmcli(box);
    const p = paths(box.home);
    await Deno.mkdir(join(p.config, ".."), { recursive: true });
    await Deno.writeTextFile(p.config, '{"port": 8443}\n');
    const { code, stdout, stderr } = await box.run(["--hotspot", "Dashcam", "password1"]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /open http:\/\/10\.42\.0\.1:8443\//);
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh --hotspot --dry-run shows the commands and changes nothing", async () => {
  const box = await sandbox();
  try {
    const profiles = await fakeNmcli(box);
    const { code, stdout, stderr } = await box.run(
      ["--hotspot", "Dashcam", "password1", "--dry-run"],
    );
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      /^\[dry-run\] (sudo )?nmcli connection add type wifi con-name videorecorder-hotspot ifname wlan0 .*802-11-wireless\.mode ap .*ipv4\.method shared .*wifi-sec\.psk \*{8}$/m,
    );
    assert.ok(!stdout.includes("password1"));
    assert.deepEqual(nmcliChanges(await box.takeCalls()), [], "only questions were asked");
    assert.deepEqual([...Deno.readDirSync(profiles)], []);

    await fakeNmcli(box);
    assert.equal((await box.run(["--hotspot", "Dashcam", "password1"])).code, 0);
    await box.takeCalls();
    const dry = await box.run(["--no-hotspot", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^\[dry-run\] (sudo )?nmcli connection delete videorecorder-hotspot$/m,
    );
    assert.deepEqual(nmcliChanges(await box.takeCalls()), []);
    assert.ok(await exists(join(profiles, "videorecorder-hotspot")), "still there");
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh --hotspot refuses a name or password Wi-Fi cannot take, saying why", async () => {
  const box = await sandbox();
  try {
    await fakeNmcli(box);
    for (
      const [args, said] of [
        [["--hotspot"], /--hotspot needs the network's name and password: --hotspot SSID PASSWORD/],
        [["--hotspot", "Dashcam"], /--hotspot needs the network's name and password/],
        [["--hotspot", "", "password1"], /network name \(SSID\) must be 1 to 32 bytes, '' is 0/],
        // 17 two-byte letters: 17 characters, 34 bytes.
        [["--hotspot", "ü".repeat(17), "password1"], /must be 1 to 32 bytes, 'ü+' is 34/],
        [
          ["--hotspot", "Dashcam", "short"],
          /password must be 8 to 63 characters \(WPA2\), this one has 5/,
        ],
        [["--hotspot", "Dashcam", "x".repeat(64)], /8 to 63 characters \(WPA2\), this one has 64/],
        [
          ["--hotspot", "Dashcam", "pässwörd1"],
          /only ASCII letters, digits, spaces and punctuation/,
        ],
      ] as const
    ) {
      const { code, stderr } = await box.run([...args]);
      assert.notEqual(code, 0, args.join(" "));
      assert.match(stderr, said);
    }
    // The longest name and password that are allowed.
    const ok = await box.run(["--hotspot", "ü".repeat(16), "x".repeat(63)]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(nmcliChanges(await box.takeCalls()).length, 1, "only the valid one was added");
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh --hotspot says what to do without NetworkManager", async () => {
  const box = await sandbox();
  try {
    await fakeNmcli(box, "stopped");
    const stopped = await box.run(["--hotspot", "Dashcam", "password1"]);
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /NetworkManager is not running.*raspi-config/);
    assert.deepEqual(nmcliChanges(await box.takeCalls()), []);
    await Deno.remove(join(box.fakeBin, "nmcli"));
    const missing = await box.run(["--hotspot", "Dashcam", "password1"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /there is no nmcli \(NetworkManager\)/);
  } finally {
    await box.remove();
  }
});

Deno.test("install.sh --uninstall removes the hotspot too", async () => {
  const box = await sandbox();
  try {
    const profiles = await fakeNmcli(box);
    assert.equal((await box.run(["--binary", box.binary])).code, 0);
    assert.equal((await box.run(["--hotspot", "Dashcam", "password1"])).code, 0);
    await box.takeCalls();
    const { code, stderr } = await box.run(["--uninstall"]);
    assert.equal(code, 0, stderr);
    assert.deepEqual(nmcliChanges(await box.takeCalls()), [
      "nmcli connection delete videorecorder-hotspot",
    ]);
    assert.deepEqual([...Deno.readDirSync(profiles)], []);
  } finally {
    await box.remove();
  }
});
