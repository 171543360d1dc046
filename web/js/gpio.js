// @ts-check
/// <reference lib="dom" />
/**
 * The car's GPIO inputs in the facts: the lock button's and the ignition's state, the last
 * press, a scheduled power-off. The tile is hidden when neither line is set.
 *
 * @module
 */

import { formatSpan, formatTime } from "./format.js";
import { state } from "./state.js";
import { fact } from "./status.js";

/**
 * @typedef {import("../../src/server/api_documents.ts").StatusDocument} StatusDocument
 * @typedef {import("../../src/car/gpio_report.ts").GpioReport} GpioReport
 */

/**
 * The GPIO tile, from the last status.
 * @param {StatusDocument} status
 */
export function renderGpio(status) {
  const box = /** @type {HTMLElement} */ (document.querySelector('[data-fact="gpio"]'));
  const gpio = status.gpio;
  box.hidden = !gpio || (!gpio.lock && !gpio.ignition);
  if (box.hidden) return;
  // The power-off time is on the Pi's system clock: the recorder's minus its offset.
  const systemNow = Date.now() + state.skewMs - Number(status.clock?.offset_ms ?? 0);
  const { text, tone } = gpioText(gpio, systemNow);
  fact("gpio", text, tone);
  box.title = gpio.last_error ?? (gpio.gpiomon ? `gpiomon ${gpio.gpiomon}` : "");
}

/**
 * The lines in one line: "lock button released (last: 11:16:27, Locked clip 42) · key off,
 * power-off in 45 s".
 * @param {GpioReport} gpio
 * @param {number} now the Pi's system time, ms since the epoch
 * @returns {{ text: string, tone: "" | "good" | "warn" | "bad" }}
 */
export function gpioText(gpio, now) {
  const parts = [];
  if (gpio.lock) {
    const last = gpio.lock.last_press
      ? ` (last: ${formatTime(gpio.lock.last_press)}${
        gpio.lock.last_result ? `, ${gpio.lock.last_result}` : ""
      })`
      : "";
    parts.push(`lock button ${gpio.lock.state}${last}`);
  }
  const ignition = gpio.ignition;
  if (ignition) {
    const state = ignition.state === "unknown" ? "unknown" : `key ${ignition.state}`;
    const poweroff = ignition.poweroff_at
      ? `, power-off in ${formatSpan(Math.max(0, Math.round((ignition.poweroff_at - now) / 1000)))}`
      : ignition.poweroff_requested_at
      ? ", powering off"
      : "";
    parts.push(`ignition ${state}${poweroff}`);
  }
  if (gpio.last_error) parts.push(gpio.last_error);
  const tone = gpio.last_error ? "warn" : ignition?.poweroff_at ? "warn" : "";
  return { text: parts.join(" · "), tone };
}
