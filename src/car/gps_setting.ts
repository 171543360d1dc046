/**
 * The `gps` setting, in a module of its own so that the settings schema (and through it the
 * page's type check) takes in no socket code.
 *
 * @module
 */

/** gpsd's port, `gpsd -S`'s default. */
export const GPSD_PORT = 2947;

/**
 * The `gps` setting: `auto` (gpsd on this machine when one runs: nothing listening is no
 * error), `off`, or `host[:port]` of a gpsd that should be there.
 */
export type GpsSetting = string;

/** What a `gps` setting asks for. */
export type GpsTarget =
  | { mode: "off" }
  | { mode: "auto" | "on"; host: string; port: number };

/**
 * Parses the `gps` setting.
 *
 * @throws {RangeError} For anything but `auto`, `off`, a host, or `host:port`.
 *
 * @example
 * ```ts
 * parseGpsSetting("auto"); // { mode: "auto", host: "127.0.0.1", port: 2947 }
 * parseGpsSetting("192.168.1.5:2948"); // { mode: "on", host: "192.168.1.5", port: 2948 }
 * ```
 */
export function parseGpsSetting(value: string): GpsTarget {
  const text = String(value).trim();
  if (text === "off") return { mode: "off" };
  if (text === "auto" || text === "") return { mode: "auto", host: "127.0.0.1", port: GPSD_PORT };
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(text);
  const port = match?.[3] === undefined ? GPSD_PORT : Number(match[3]);
  if (!match || port < 1 || port > 65535) {
    throw new RangeError(
      `Invalid gps setting: expected "auto", "off" or gpsd's host:port like 127.0.0.1:2947, got ${
        JSON.stringify(text.slice(0, 64))
      }`,
    );
  }
  return { mode: "on", host: match[1] ?? match[2], port };
}
