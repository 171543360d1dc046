// @ts-check
/**
 * Byte counts for people, one formatter for the page and the server
 * (`src/storage/byte_size.ts` re-exports it), so a size reads the same in a status message
 * and on the page. Plain JavaScript with JSDoc types: the browser runs it as it is, Deno
 * type-checks it, esbuild bundles it for Node 18. It uses nothing of the browser's or the
 * server's.
 *
 * @module
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/**
 * Formats a byte count for people, in powers of 1024 with one decimal.
 *
 * @example
 * ```ts
 * formatBytes(512); // "512 B"
 * formatBytes(22870700032); // "21.3 GiB"
 * ```
 *
 * @param {number} bytes
 * @returns {string}
 */
export function formatBytes(bytes) {
  const sign = bytes < 0 ? "-" : "";
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${sign}${Math.round(value)} B`;
  // 1023.96 KiB would round to "1024.0 KiB"; say "1 MiB" instead.
  if (Number(value.toFixed(1)) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${sign}${value.toFixed(1).replace(/\.0$/, "")} ${UNITS[unit]}`;
}
