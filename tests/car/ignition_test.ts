import assert from "node:assert/strict";
import { Ignition, type IgnitionOptions, type Timers } from "../../src/car/ignition.ts";

/** Timers that run only when the test advances the clock. */
function fakeTime() {
  let now = 1_000_000;
  let nextId = 1;
  const pending = new Map<number, { at: number; callback: () => void }>();
  const timers: Timers = {
    setTimeout(callback, ms) {
      const id = nextId++;
      pending.set(id, { at: now + ms, callback });
      return id;
    },
    clearTimeout(id) {
      pending.delete(id as number);
    },
  };
  return {
    timers,
    now: () => now,
    pending: () => pending.size,
    advance(ms: number) {
      now += ms;
      for (const [id, timer] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
        if (timer.at > now) continue;
        pending.delete(id);
        timer.callback();
      }
    },
  };
}

function ignition(poweroffDelayMs: number | null, options: Partial<IgnitionOptions> = {}) {
  const time = fakeTime();
  const events: string[] = [];
  const machine = new Ignition({
    poweroffDelayMs,
    onKeyOff: () => events.push("key off"),
    onKeyOn: () => events.push("key on"),
    onPoweroff: () => events.push("poweroff"),
    timers: time.timers,
    now: time.now,
    ...options,
  });
  return { machine, time, events };
}

Deno.test("Ignition key off closes the clip and powers off after the delay", () => {
  const { machine, time, events } = ignition(60_000);
  machine.update(true);
  assert.deepEqual(events, [], "the first edge (key on at start) resumes nothing");
  machine.update(false);
  assert.deepEqual(events, ["key off"]);
  assert.equal(machine.status().poweroffAt, time.now() + 60_000);
  time.advance(59_999);
  assert.deepEqual(events, ["key off"]);
  time.advance(1);
  assert.deepEqual(events, ["key off", "poweroff"]);
  const status = machine.status();
  assert.equal(status.state, "off");
  assert.equal(status.poweroffAt, null);
  assert.equal(status.poweroffRequestedAt, time.now());
});

Deno.test("Ignition key back within the delay cancels the power-off", () => {
  const { machine, time, events } = ignition(30_000);
  machine.update(false);
  time.advance(10_000);
  machine.update(true);
  assert.deepEqual(events, ["key off", "key on"]);
  assert.equal(machine.status().poweroffAt, null);
  assert.equal(time.pending(), 0, "the timer is cleared");
  time.advance(60_000);
  assert.deepEqual(events, ["key off", "key on"], "no power-off");
  // Off again: a fresh full delay.
  machine.update(false);
  time.advance(29_000);
  assert.deepEqual(events, ["key off", "key on", "key off"]);
  time.advance(1_000);
  assert.deepEqual(events.at(-1), "poweroff");
});

Deno.test("Ignition without a delay never powers off", () => {
  const { machine, time, events } = ignition(null);
  machine.update(false);
  time.advance(24 * 3600_000);
  assert.deepEqual(events, ["key off"]);
  assert.equal(machine.status().poweroffAt, null);
  assert.equal(time.pending(), 0);
});

Deno.test("Ignition ignores repeats of the same value", () => {
  const { machine, time, events } = ignition(5_000);
  machine.update(false);
  const at = machine.status().poweroffAt;
  time.advance(4_000);
  machine.update(false); // a second falling edge must not restart the delay
  assert.equal(machine.status().poweroffAt, at);
  time.advance(1_000);
  assert.deepEqual(events, ["key off", "poweroff"]);
  machine.update(true);
  machine.update(true);
  assert.deepEqual(events, ["key off", "poweroff", "key on"]);
  assert.equal(machine.status().poweroffRequestedAt, null);
});

Deno.test("Ignition stop cancels a scheduled power-off", () => {
  const { machine, time, events } = ignition(5_000);
  machine.update(false);
  machine.stop();
  time.advance(10_000);
  assert.deepEqual(events, ["key off"]);
  assert.equal(machine.state, "off");
});

Deno.test("Ignition refuses a negative or non-numeric delay", () => {
  assert.throws(() => ignition(-1), RangeError);
  assert.throws(() => ignition(Number.NaN), /Invalid power-off delay/);
});
