import assert from "node:assert/strict";
import { SystemdNotifier } from "../../src/systemd/systemd_notifier.ts";
import { readWatchdogUsec, startWatchdog } from "../../src/systemd/watchdog.ts";
import { waitFor } from "../_helpers.ts";
import { NotifyListener } from "./_notify_listener.ts";

function env(values: Record<string, string>) {
  return { get: (name: string) => values[name] };
}

Deno.test("readWatchdogUsec reads WATCHDOG_USEC when WATCHDOG_PID is this process or unset", () => {
  assert.equal(readWatchdogUsec(env({ WATCHDOG_USEC: "30000000" }), 42), 30_000_000);
  assert.equal(readWatchdogUsec(env({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "42" }), 42), 30e6);
  // Inherited from a parent that systemd watches: not ours to ping.
  assert.equal(
    readWatchdogUsec(env({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "7" }), 42),
    undefined,
  );
  assert.equal(readWatchdogUsec(env({}), 42), undefined);
  assert.equal(readWatchdogUsec(env({ WATCHDOG_USEC: "0" }), 42), undefined);
  assert.equal(readWatchdogUsec(env({ WATCHDOG_USEC: "soon" }), 42), undefined);
});

Deno.test("startWatchdog sends READY=1 once ready, then WATCHDOG=1 at half the watchdog time", async () => {
  const listener = await NotifyListener.open();
  const notifier = new SystemdNotifier({ socket: listener.address });
  let ready = false;
  const watchdog = startWatchdog(notifier, {
    ready: () => ready,
    healthy: () => true,
    watchdogUsec: 200_000,
    readyPollMs: 20,
  });
  try {
    assert.deepEqual(await listener.collect(150), [], "nothing before ready");
    ready = true;
    assert.equal(await listener.next(), "READY=1\nWATCHDOG=1\n");
    const started = performance.now();
    assert.equal(await listener.next(), "WATCHDOG=1\n");
    assert.equal(await listener.next(), "WATCHDOG=1\n");
    const perPing = (performance.now() - started) / 2;
    assert.ok(perPing >= 80 && perPing < 250, `a ping every ${perPing} ms, expected 100`);
    assert.equal(watchdog.ready, true);
    assert.ok(watchdog.pings >= 3);
  } finally {
    watchdog.stop();
    notifier.close();
    await listener.close();
  }
});

Deno.test("startWatchdog withholds WATCHDOG=1 while unhealthy and says why in STATUS", async () => {
  const listener = await NotifyListener.open();
  const notifier = new SystemdNotifier({ socket: listener.address });
  let healthy = true;
  const watchdog = startWatchdog(notifier, {
    healthy: () => healthy,
    status: () => healthy ? "Recording" : "Stalled: no frame from the camera for 12 s",
    watchdogUsec: 100_000,
  });
  try {
    assert.equal(await listener.next(), "READY=1\nWATCHDOG=1\nSTATUS=Recording\n");
    assert.equal(await listener.next(), "WATCHDOG=1\n", "an unchanged status is not repeated");
    healthy = false;
    const stalled = await listener.collect(400);
    assert.deepEqual(stalled, ["STATUS=Stalled: no frame from the camera for 12 s\n"]);
    assert.ok(watchdog.missed >= 3, `${watchdog.missed} missed`);
    healthy = true;
    assert.equal(await listener.next(), "WATCHDOG=1\nSTATUS=Recording\n");
  } finally {
    watchdog.stop();
    notifier.close();
    await listener.close();
  }
});

Deno.test("startWatchdog counts a health check that throws as unhealthy", async () => {
  const listener = await NotifyListener.open();
  const notifier = new SystemdNotifier({ socket: listener.address });
  const watchdog = startWatchdog(notifier, {
    healthy: () => {
      throw new Error("broken check");
    },
    watchdogUsec: 100_000,
  });
  try {
    assert.equal(await listener.next(), "READY=1\n");
    assert.deepEqual(await listener.collect(250), []);
    assert.ok(watchdog.missed >= 2);
  } finally {
    watchdog.stop();
    notifier.close();
    await listener.close();
  }
});

Deno.test("startWatchdog without a watchdog sends READY=1 and STATUS only", async () => {
  const listener = await NotifyListener.open();
  const notifier = new SystemdNotifier({ socket: listener.address });
  let status = "Starting";
  const watchdog = startWatchdog(notifier, {
    healthy: () => true,
    status: () => status,
    watchdogUsec: null,
    intervalMs: 30,
  });
  try {
    assert.equal(await listener.next(), "READY=1\nSTATUS=Starting\n");
    status = "Recording";
    assert.equal(await listener.next(), "STATUS=Recording\n");
    assert.deepEqual(await listener.collect(150), [], "no WATCHDOG=1, no repeated STATUS");
    assert.equal(watchdog.pings, 0);
  } finally {
    watchdog.stop();
    notifier.close();
    await listener.close();
  }
});

Deno.test("startWatchdog sends nothing when there is no notify socket", async () => {
  const notifier = new SystemdNotifier({ socket: "" });
  const watchdog = startWatchdog(notifier, { healthy: () => true, watchdogUsec: 100_000 });
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.equal(watchdog.ready, false);
  assert.equal(watchdog.pings, 0);
  watchdog.stop();
});

Deno.test("startWatchdog stops on stop() and on its abort signal", async () => {
  const listener = await NotifyListener.open();
  const notifier = new SystemdNotifier({ socket: listener.address });
  const controller = new AbortController();
  const watchdog = startWatchdog(notifier, {
    healthy: () => true,
    watchdogUsec: 60_000,
    signal: controller.signal,
  });
  try {
    await waitFor("two pings", () => watchdog.pings >= 2);
    controller.abort();
    await listener.collect(50);
    const pings = watchdog.pings;
    assert.deepEqual(await listener.collect(200), []);
    assert.equal(watchdog.pings, pings);
  } finally {
    watchdog.stop();
    notifier.close();
    await listener.close();
  }
});
