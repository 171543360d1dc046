import assert from "node:assert/strict";
import { RecorderClock } from "../src/clock.ts";

Deno.test("RecorderClock keeps the phone's time as an offset over the system clock", () => {
  let system = Date.UTC(1970, 0, 2); // a Pi just booted without RTC or network
  const clock = new RecorderClock({ systemNow: () => system, systemSynchronized: () => false });
  assert.deepEqual(clock.status(), { now: system, offset_ms: 0, trusted: false, source: "system" });
  const phone = Date.UTC(2026, 10, 30, 12);
  const status = clock.set(phone);
  assert.equal(status.now, phone);
  assert.equal(status.trusted, true);
  assert.equal(status.source, "phone");
  system += 5_000;
  assert.equal(clock.now(), phone + 5_000, "the offset holds as time goes on");
});

Deno.test("RecorderClock trusts a synchronized system clock and rejects nonsense", () => {
  const clock = new RecorderClock({ systemSynchronized: () => true });
  assert.equal(clock.status().source, "ntp");
  assert.equal(clock.status().trusted, true);
  for (const bad of [NaN, 0, -1, 1e20]) assert.throws(() => clock.set(bad), RangeError);
});
