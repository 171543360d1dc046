// @ts-check
/// <reference lib="dom" />
/**
 * The recorder's clock: set from the phone's time and zone when they differ.
 *
 * @module
 */

import { api, messageOf } from "./api.js";
import { toast } from "./dom.js";
import { formatSpan, PHONE_ZONE } from "./format.js";
import { state } from "./state.js";
import { poll } from "./status.js";

/**
 * @typedef {import("./state.js").StatusDocument} StatusDocument
 */

/** The recorder's clock is set from the phone's when it is off by more than this. */
const CLOCK_TOLERANCE_MS = 2000;

/** Whether the recorder's clock is within the tolerance of the phone's. */
export function clockAgrees() {
  return Math.abs(state.skewMs) <= CLOCK_TOLERANCE_MS;
}

/**
 * Sets the recorder's clock from the phone's when they differ by more than
 * {@link CLOCK_TOLERANCE_MS}: a Pi in a car has no network time and no RTC battery. The
 * phone's time zone goes with it, or alone when only the zone is new to the recorder: clip
 * names, the burned-in clock and this page then share the phone's local time (unless the
 * recorder's time zone setting names another).
 */
export async function syncClock() {
  const sentAt = Date.now();
  let status;
  try {
    status = /** @type {StatusDocument} */ (await api("api/status"));
  } catch {
    return; // polling shows the problem
  }
  const receivedAt = Date.now();
  if (!status?.clock || typeof status.clock.now !== "number") return;
  const offBy = status.clock.now - (sentAt + receivedAt) / 2;
  if (Math.abs(offBy) <= CLOCK_TOLERANCE_MS) {
    if (status.clock.phone_tz === PHONE_ZONE || status.clock.tz_source === "setting") return;
    try {
      await api("api/clock", { method: "POST", body: { tz: PHONE_ZONE } });
      void poll();
    } catch (error) {
      toast(`Cannot give the recorder this phone's time zone: ${messageOf(error)}`, {
        error: true,
      });
    }
    return;
  }
  try {
    const clock = /** @type {{ now?: unknown } | null} */ (await api("api/clock", {
      method: "POST",
      body: { now: Date.now(), tz: PHONE_ZONE },
    }));
    state.skewMs = typeof clock?.now === "number" ? 0 : state.skewMs;
    toast(
      `Set the recorder's clock from this phone (it was ${formatSpan(Math.abs(offBy) / 1000)} ${
        offBy > 0 ? "ahead" : "behind"
      })`,
    );
    void poll();
  } catch (error) {
    toast(`Cannot set the recorder's clock: ${messageOf(error)}`, { error: true });
  }
}
