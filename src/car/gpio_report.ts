/**
 * The GPIO inputs' part of `/api/status`, in a module of its own so that the page's type check
 * (`src/server/api_documents.ts`) takes in no more than this.
 *
 * @module
 */

import type { IgnitionState } from "./ignition.ts";

/** `/api/status`'s `gpio`. */
export interface GpioReport {
  lock: {
    chip: string;
    line: number;
    active_low: boolean;
    state: "pressed" | "released" | "unknown";
    /** When the button was last pressed, ms since the epoch. */
    last_press: number | null;
    /** What the last press did: "Locked clip 42" or why it could not. */
    last_result: string | null;
  } | null;
  ignition: {
    chip: string;
    line: number;
    active_low: boolean;
    state: IgnitionState;
    since: number | null;
    /** When the Pi powers off unless the key comes back; null when nothing is scheduled. */
    poweroff_at: number | null;
    poweroff_requested_at: number | null;
    /** The power-off delay in seconds; null when power-off is disabled. */
    poweroff_delay_s: number | null;
  } | null;
  /** The gpiomon in use ("1.6.3", "2.1.3"); null until found. */
  gpiomon: string | null;
  /** Why a line is not watched or what failed last, as a sentence; null when all is well. */
  last_error: string | null;
}
