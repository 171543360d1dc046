/**
 * Masks what looks like a secret in text shown to the network: the `--command` line (an RTSP
 * camera's URL carries its password), and the camera's stderr and errors that echo it.
 *
 * @module
 */

/** What replaces a secret. */
export const MASK = "***";

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:'"]+)(:[^\s/@'"]*)?@/gi;
const NAMED_SECRET =
  /\b((?:password|passwd|passphrase|pass|pwd|token|secret|api[_-]?key|access[_-]?key|auth)=)(?:"[^"]*"|'[^']*'|[^\s&;'"]+)/gi;
const SECRET_FLAG =
  /(--?(?:password|passwd|pass|pwd|token|secret|api[_-]?key|auth)[= ])(?:"[^"]*"|'[^']*'|\S+)/gi;
const AUTH_HEADER = /\b(authorization:\s*(?:basic|bearer|digest)\s+)[^\s'"]+/gi;

/**
 * `text` with URL passwords (`rtsp://user:pass@` → `rtsp://user:***@`, `https://token@` →
 * `https://***@`), `password=…`-style
 * values, `--password …`-style flags and Authorization headers masked. The rest is kept, so
 * the status still says which camera or command runs.
 *
 * @example
 * ```ts
 * redactSecrets("ffmpeg -i rtsp://admin:hunter2@cam/stream -f mjpeg -");
 * // "ffmpeg -i rtsp://admin:***@cam/stream -f mjpeg -"
 * ```
 */
export function redactSecrets(text: string): string {
  return text
    // A user name alone may be the token itself (`https://TOKEN@host`).
    .replace(
      URL_CREDENTIALS,
      (_, scheme: string, user: string, password?: string) =>
        password === undefined ? `${scheme}${MASK}@` : `${scheme}${user}:${MASK}@`,
    )
    .replace(NAMED_SECRET, `$1${MASK}`)
    .replace(SECRET_FLAG, `$1${MASK}`)
    .replace(AUTH_HEADER, `$1${MASK}`);
}

/**
 * A copy of a JSON-like value with {@linkcode redactSecrets} applied to every string in it,
 * for a whole status document: a secret may surface in any error or stderr line.
 */
export function redactAll<T>(value: T): T {
  if (typeof value === "string") return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map(redactAll) as T;
  if (value !== null && typeof value === "object" && value.constructor === Object) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, redactAll(item)]),
    ) as T;
  }
  return value;
}
