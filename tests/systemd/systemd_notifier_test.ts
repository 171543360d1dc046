import assert from "node:assert/strict";
import { SystemdNotifier } from "../../src/systemd/systemd_notifier.ts";
import { NotifyListener } from "./_notify_listener.ts";

const NOTIFIER = new URL("../../src/systemd/systemd_notifier.ts", import.meta.url).href;

Deno.test("SystemdNotifier sends READY=1 and STATUS in one datagram to a socket path", async () => {
  const listener = await NotifyListener.open();
  const notifier = new SystemdNotifier({ socket: listener.address });
  try {
    assert.equal(notifier.enabled, true);
    assert.equal(notifier.transport, "datagram");
    assert.equal(await notifier.ready("Recording"), true);
    assert.equal(await listener.next(), "READY=1\nSTATUS=Recording\n");
    assert.equal(await notifier.watchdog(), true);
    assert.equal(await listener.next(), "WATCHDOG=1\n");
    assert.equal(await notifier.stopping("Closing\nthe clip"), true);
    assert.equal(await listener.next(), "STOPPING=1\nSTATUS=Closing the clip\n");
  } finally {
    notifier.close();
    await listener.close();
  }
});

Deno.test("SystemdNotifier reaches an abstract socket written @name", async () => {
  const listener = await NotifyListener.open({ abstract: true });
  const notifier = new SystemdNotifier({ socket: listener.address });
  try {
    assert.match(listener.address, /^@/);
    assert.equal(await notifier.status("Camera at 30 fps"), true);
    assert.equal(await listener.next(), "STATUS=Camera at 30 fps\n");
  } finally {
    notifier.close();
    await listener.close();
  }
});

Deno.test("SystemdNotifier does nothing without NOTIFY_SOCKET", async () => {
  const saved = Deno.env.get("NOTIFY_SOCKET");
  Deno.env.delete("NOTIFY_SOCKET");
  try {
    const errors: Error[] = [];
    const notifier = new SystemdNotifier({ onError: (error) => errors.push(error) });
    assert.equal(notifier.enabled, false);
    assert.equal(await notifier.ready(), false);
    assert.equal(await notifier.watchdog(), false);
    assert.deepEqual(errors, []);
    notifier.close();
  } finally {
    if (saved !== undefined) Deno.env.set("NOTIFY_SOCKET", saved);
  }
});

Deno.test("SystemdNotifier reads NOTIFY_SOCKET from the environment", async () => {
  const listener = await NotifyListener.open();
  const saved = Deno.env.get("NOTIFY_SOCKET");
  Deno.env.set("NOTIFY_SOCKET", listener.address);
  const notifier = new SystemdNotifier();
  try {
    assert.equal(await notifier.ready(), true);
    assert.equal(await listener.next(), "READY=1\n");
  } finally {
    if (saved === undefined) Deno.env.delete("NOTIFY_SOCKET");
    else Deno.env.set("NOTIFY_SOCKET", saved);
    notifier.close();
    await listener.close();
  }
});

Deno.test("SystemdNotifier sends through systemd-notify, naming this process", async () => {
  const listener = await NotifyListener.open();
  const notifier = new SystemdNotifier({ socket: listener.address, transport: "systemd-notify" });
  try {
    assert.equal(await notifier.ready("Recording"), true);
    const message = await listener.next();
    assert.ok(message !== undefined, "systemd-notify sent nothing");
    const lines = message.trim().split("\n");
    assert.ok(lines.includes("READY=1"), message);
    assert.ok(lines.includes("STATUS=Recording"), message);
    assert.ok(lines.includes(`MAINPID=${Deno.pid}`), message);
  } finally {
    notifier.close();
    await listener.close();
  }
});

Deno.test("SystemdNotifier falls back to systemd-notify without --unstable-net", async () => {
  const listener = await NotifyListener.open();
  const cwd = await Deno.makeTempDir(); // no deno.json there: no "unstable" from the project
  try {
    const script = `
      import { SystemdNotifier } from ${JSON.stringify(NOTIFIER)};
      const notifier = new SystemdNotifier();
      console.log(typeof Deno.listenDatagram, notifier.transport, await notifier.ready());`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-config", script],
      cwd,
      env: { NOTIFY_SOCKET: listener.address, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    assert.equal(output.code, 0, decoder.decode(output.stderr));
    assert.equal(decoder.decode(output.stdout).trim(), "undefined systemd-notify true");
    assert.match((await listener.next()) ?? "", /^READY=1$/m);
  } finally {
    await Deno.remove(cwd);
    await listener.close();
  }
});

Deno.test("SystemdNotifier reports a failed send to onError instead of throwing", async () => {
  const dir = await Deno.makeTempDir();
  const errors: Error[] = [];
  const notifier = new SystemdNotifier({
    socket: `${dir}/missing`,
    onError: (error) => errors.push(error),
  });
  try {
    assert.equal(await notifier.ready(), false);
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /No such file/);
  } finally {
    notifier.close();
    await Deno.remove(dir);
  }
});

Deno.test("SystemdNotifier refuses fields that would break the message", async () => {
  const notifier = new SystemdNotifier({ socket: "/nonexistent/notify" });
  await assert.rejects(notifier.notify({ "ready": 1 }), TypeError);
  await assert.rejects(notifier.notify({ STATUS: "two\nlines" }), TypeError);
  notifier.close();
});
