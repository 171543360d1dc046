/** RecorderClock's GPS source: taken over the phone without NTP, and holding the phone off. */
import assert from "node:assert/strict";
import { GPS_TIME_VALID_MS, RecorderClock } from "../../src/clock.ts";

function clockAt(options: { synchronized?: boolean } = {}) {
  let system = Date.UTC(2026, 11, 2, 12, 0, 0);
  let monotonic = 1_000;
  const clock = new RecorderClock({
    systemNow: () => system,
    monotonicNow: () => monotonic,
    systemSynchronized: () => options.synchronized ?? false,
    systemTimeZone: () => "UTC",
  });
  return {
    clock,
    pass(ms: number) {
      system += ms;
      monotonic += ms;
    },
  };
}

Deno.test("RecorderClock.setFromGps takes GPS time years off the system's, then holds the phone off", () => {
  const t = clockAt();
  const gpsTime = Date.UTC(2031, 4, 4, 10, 0, 0);
  assert.equal(t.clock.setFromGps(gpsTime), true);
  assert.equal(t.clock.now(), gpsTime);
  let status = t.clock.status();
  assert.equal(status.source, "gps");
  assert.equal(status.trusted, true);
  assert.equal(status.offset_ms, gpsTime - Date.UTC(2026, 11, 2, 12, 0, 0));

  // The phone sends its time and zone: the zone is taken, the time is not.
  t.pass(10_000);
  status = t.clock.set(Date.UTC(2026, 11, 2, 12, 0, 10), "Europe/Berlin");
  assert.equal(status.source, "gps");
  assert.equal(status.now, gpsTime + 10_000);
  assert.equal(status.tz, "Europe/Berlin");

  // Fixes a few 100 ms late (the serial line) leave the clock alone; a second or more moves it.
  t.pass(1_000);
  assert.equal(t.clock.setFromGps(gpsTime + 11_000 - 400), false);
  assert.equal(t.clock.now(), gpsTime + 11_000);
  assert.equal(t.clock.setFromGps(gpsTime + 11_000 + 1_500), true);
  assert.equal(t.clock.now(), gpsTime + 12_500);

  // No GPS time for longer than it stays valid (the receiver unplugged): the phone may again.
  t.pass(GPS_TIME_VALID_MS + 1);
  assert.equal(t.clock.gpsValid(), false);
  const phone = Date.UTC(2026, 11, 2, 12, 5, 0);
  status = t.clock.set(phone);
  assert.equal(status.source, "phone");
  assert.equal(status.now, phone);
  // GPS coming back wins over the phone again.
  t.clock.setFromGps(gpsTime + 100_000);
  assert.equal(t.clock.status().source, "gps");
  assert.equal(t.clock.now(), gpsTime + 100_000);
});

Deno.test("RecorderClock.setFromGps leaves an NTP-synchronized clock and implausible times alone", () => {
  const ntp = clockAt({ synchronized: true });
  assert.equal(ntp.clock.setFromGps(Date.UTC(2031, 4, 4)), false);
  assert.equal(ntp.clock.status().source, "ntp");
  assert.equal(ntp.clock.status().offset_ms, 0);
  // NTP's clock is right; the phone may still say its zone, and its time counts as before.
  assert.equal(ntp.clock.gpsValid(), false);

  const t = clockAt();
  for (const bad of [NaN, Infinity, 0, Date.UTC(1999, 7, 22), Date.UTC(2300, 0, 1)]) {
    assert.equal(t.clock.setFromGps(bad), false, String(bad));
  }
  assert.equal(t.clock.status().source, "system");
  assert.equal(t.clock.gpsValid(), false);
});
