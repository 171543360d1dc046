import assert from "node:assert/strict";
import { isTimeZone, RecorderClock } from "../src/clock.ts";

Deno.test("RecorderClock keeps the phone's time as an offset over the system clock", () => {
  let system = Date.UTC(1970, 0, 2); // a Pi just booted without RTC or network
  const clock = new RecorderClock({
    systemNow: () => system,
    systemSynchronized: () => false,
    systemTimeZone: () => "UTC",
  });
  assert.deepEqual(clock.status(), {
    now: system,
    offset_ms: 0,
    trusted: false,
    source: "system",
    tz: "UTC",
    tz_source: "system",
    phone_tz: null,
  });
  const phone = Date.UTC(2026, 10, 30, 12);
  const status = clock.set(phone);
  assert.equal(status.now, phone);
  assert.equal(status.trusted, true);
  assert.equal(status.source, "phone");
  assert.equal(status.tz_source, "system", "a phone that sent no zone leaves the system's");
  system += 5_000;
  assert.equal(clock.now(), phone + 5_000, "the offset holds as time goes on");
});

Deno.test("RecorderClock trusts a synchronized system clock and rejects nonsense", () => {
  const clock = new RecorderClock({ systemSynchronized: () => true });
  assert.equal(clock.status().source, "ntp");
  assert.equal(clock.status().trusted, true);
  for (const bad of [NaN, 0, -1, 1e20]) assert.throws(() => clock.set(bad), RangeError);
});

Deno.test("RecorderClock uses the phone's zone unless the setting names one", () => {
  const clock = new RecorderClock({ systemTimeZone: () => "UTC" });
  const now = Date.UTC(2026, 10, 30, 12);
  const status = clock.set(now, "america/new_york");
  assert.deepEqual(
    [status.tz, status.tz_source, status.phone_tz],
    ["America/New_York", "phone", "America/New_York"],
    "spelled as $TZ needs it",
  );
  assert.equal(clock.timeZone(), "America/New_York");
  clock.setTimeZone("Europe/Berlin");
  assert.deepEqual([clock.status().tz, clock.status().tz_source], ["Europe/Berlin", "setting"]);
  clock.set(now, "Asia/Tokyo");
  assert.equal(clock.timeZone(), "Europe/Berlin", "the setting wins over the phone");
  clock.setTimeZone("");
  assert.deepEqual([clock.status().tz, clock.status().tz_source], ["Asia/Tokyo", "phone"]);
  clock.set(now, "Asia/Kolkata");
  assert.equal(clock.timeZone(), "Asia/Kolkata", "not ICU's old name Asia/Calcutta");
});

Deno.test("RecorderClock refuses an unknown zone and then changes nothing", () => {
  const clock = new RecorderClock({ systemTimeZone: () => "UTC" });
  for (const bad of ["Mars/Olympus", "", "Europe/Berlin; rm -rf /", "+01:00x"]) {
    assert.throws(() => clock.set(Date.UTC(2026, 10, 30), bad), /^RangeError: Invalid time zone/);
  }
  assert.deepEqual([clock.status().source, clock.status().tz], ["system", "UTC"]);
  assert.throws(() => clock.setTimeZone("Nowhere/Land"), RangeError);
  assert.throws(() => new RecorderClock({ timeZone: "Nowhere/Land" }), RangeError);
});

Deno.test("isTimeZone accepts IANA names and refuses anything else", () => {
  for (const zone of ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Asia/Kolkata"]) {
    assert.ok(isTimeZone(zone), zone);
  }
  for (const bad of ["", "Mars/Olympus", 42, null, undefined, "x".repeat(100)]) {
    assert.ok(!isTimeZone(bad), String(bad));
  }
});
