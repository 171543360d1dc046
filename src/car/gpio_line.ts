/**
 * The GPIO line settings' syntax, in a module of its own: the settings schema imports it, and
 * with it the page's type check, which must not take in the process code.
 *
 * @module
 */

/** A line setting: "CHIP:LINE" ("gpiochip0:17"), or a bare offset on gpiochip0 ("17"). */
export interface GpioLine {
  chip: string;
  line: number;
}

/**
 * Reads a line setting; undefined for a bad one. The chip may be a name ("gpiochip0"), a
 * number ("0") or a path ("/dev/gpiochip0"), as libgpiod's tools take it.
 */
export function parseGpioLine(text: string): GpioLine | undefined {
  const match = /^(?:([\w/.-]+):)?(\d{1,4})$/.exec(text.trim());
  if (!match) return undefined;
  return { chip: match[1] ?? "gpiochip0", line: Number(match[2]) };
}
