/**
 * The archive target in rclone's syntax, pure (the settings check it): a remote, the car's
 * folder on it, the bandwidth limit, and the masking of a connection string's secrets.
 *
 * @module
 */
import { MASK, redactSecrets } from "../server/redact_secrets.ts";

/** An rclone remote as the user wrote it, split into its parts. */
export interface RemoteSpec {
  /** Everything up to and including the colon: `nas:`, `:sftp,host=nas.local,user=pi:`. */
  remote: string;
  /** The path on the remote after the colon, without leading or trailing `/`: `dashcam`. */
  path: string;
  /** A connection string's parameters (`host`, `user`, `pass`...), in order. */
  params: [key: string, value: string][];
  /** Whether it names a local folder (`/mnt/usb/dashcam`) rather than a remote. */
  local: boolean;
}

/** Parameter names whose values are secrets (passwords, keys, tokens), masked in status. */
const SECRET_PARAM =
  /(pass|password|secret|token|key|credentials|sas_url|account_key|client_secret|session)/i;
/** A remote name as rclone allows it in rclone.conf. */
const REMOTE_NAME = /^[\w.+@ -]*$/;

/**
 * Parses an rclone remote: a name from rclone.conf (`nas:dashcam`), a connection string
 * (`:sftp,host=nas.local,user=pi:dashcam`; values may be quoted, `url='http://h:8080'`), a
 * named remote with overrides (`nas,user=car2:dashcam`), or an absolute local path.
 *
 * @throws {RangeError} When it is none of these.
 *
 * @example
 * ```ts
 * parseRemote(":sftp,host=nas.local,user=pi:dashcam");
 * // { remote: ":sftp,host=nas.local,user=pi:", path: "dashcam", params: [["host", "nas.local"], ["user", "pi"]], local: false }
 * ```
 */
export function parseRemote(text: string): RemoteSpec {
  const value = typeof text === "string" ? text.trim() : "";
  const invalid = (why: string) =>
    new RangeError(`Invalid archive remote ${JSON.stringify(redactRemote(value))}: ${why}`);
  if (!value) throw invalid("expected a remote such as nas:dashcam or :sftp,host=nas:dashcam");
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f]/.test(value)) throw invalid("it holds a control character");
  if (value.startsWith("/")) {
    return { remote: "", path: trimSlashes(value), params: [], local: true };
  }
  // The colon that ends the remote is the first one outside quotes (after a leading one).
  let quote = "";
  let end = -1;
  for (let i = value.startsWith(":") ? 1 : 0; i < value.length; i++) {
    const char = value[i];
    if (quote) {
      if (char === quote) quote = "";
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (char === ":") {
      end = i;
      break;
    }
  }
  if (quote) throw invalid("a quote is not closed");
  if (end < 0) throw invalid("expected NAME:PATH or :BACKEND,KEY=VALUE:PATH (no colon)");
  const head = value.slice(0, end);
  const comma = head.indexOf(",");
  const name = comma < 0 ? head : head.slice(0, comma);
  if (name === ":") throw invalid("a connection string needs a backend: :sftp,host=...");
  if (!REMOTE_NAME.test(name.replace(/^:/, ""))) throw invalid(`bad remote name ${name}`);
  const params = comma < 0 ? [] : splitParams(head.slice(comma + 1));
  if (params === null) throw invalid("expected KEY=VALUE parameters after the backend");
  const path = value.slice(end + 1);
  if (path.split("/").includes("..")) throw invalid("the path may not contain ..");
  return { remote: `${head}:`, path: trimSlashes(path), params, local: false };
}

/** `k=v,k2='v,2'` → pairs; null when one is not KEY=VALUE. */
function splitParams(text: string): [string, string][] | null {
  const pairs: [string, string][] = [];
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) return null;
    const key = text.slice(i, eq);
    if (!/^[\w-]+$/.test(key)) return null;
    let j = eq + 1;
    let val = "";
    if (text[j] === "'" || text[j] === '"') {
      const q = text[j];
      const close = text.indexOf(q, j + 1);
      if (close < 0) return null;
      val = text.slice(j + 1, close);
      j = close + 1;
    } else {
      const comma = text.indexOf(",", j);
      const stop = comma < 0 ? text.length : comma;
      val = text.slice(j, stop);
      j = stop;
    }
    pairs.push([key, val]);
    if (j < text.length && text[j] !== ",") return null;
    i = j + 1;
  }
  return pairs;
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, "").replace(/\/{2,}/g, "/");
}

/**
 * `text` with the secrets of a remote connection string masked (`pass=***`), then
 * {@linkcode redactSecrets}: for the status, errors and logs. `secrets` are further literal
 * values to mask wherever they appear (rclone echoes the whole remote in its errors).
 */
export function redactRemote(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 3) out = out.split(secret).join(MASK);
  }
  // Masked as '***' (quoted): redactSecrets would take an unquoted `pass=***,user=u:path`
  // up to the next space as the password, tail and all, when /api/status runs it again.
  out = out.replace(
    /([,:]([\w-]+)=)('[^']*'|"[^"]*"|[^,:\s]*)/g,
    (whole, prefix: string, key: string) => SECRET_PARAM.test(key) ? `${prefix}'${MASK}'` : whole,
  );
  return redactSecrets(out).replace(/([,:][\w-]+=)\*\*\*(?=[,:]|$)/g, `$1'${MASK}'`);
}

/** The secret values of a parsed remote, to mask wherever rclone echoes them. */
export function remoteSecrets(spec: RemoteSpec): string[] {
  return spec.params.filter(([key]) => SECRET_PARAM.test(key)).map(([, value]) => value);
}

/**
 * The rclone path of `name` in `folder` under the remote's path:
 * `remotePath(parseRemote("nas:dashcam"), "car1", "x.mkv")` is `nas:dashcam/car1/x.mkv`.
 */
export function remotePath(spec: RemoteSpec, ...parts: string[]): string {
  const path = [spec.path, ...parts].map(trimSlashes).filter((part) => part !== "").join("/");
  return spec.local ? `/${path}` : `${spec.remote}${path}`;
}

/**
 * Checks a per-car folder: one or more segments of letters, digits, `.`, `_`, `-`.
 *
 * @throws {RangeError} For anything else (`..`, a leading `/`, spaces, ...).
 */
export function validateFolder(folder: string): string {
  const value = typeof folder === "string" ? folder.trim() : "";
  if (
    !/^[\w.-]+(\/[\w.-]+)*$/.test(value) || value.split("/").some((part) => /^\.+$/.test(part))
  ) {
    throw new RangeError(
      `Invalid archive folder ${JSON.stringify(value)}: expected a name such as car1 ` +
        "(letters, digits, . _ -, and / between folders)",
    );
  }
  return value;
}

const BW = String.raw`(?:off|\d+(?:\.\d+)?[bBkKMGTP]?i?)`;
const BW_PAIR = String.raw`${BW}(?::${BW})?`;
const BW_SLOT = String.raw`(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)-)?\d{1,2}:\d{2},${BW_PAIR}`;
const BWLIMIT = new RegExp(String.raw`^(?:${BW_PAIR}|${BW_SLOT}(?: +${BW_SLOT})*)$`);

/**
 * Checks a bandwidth limit in rclone's `--bwlimit` syntax: `1M`, `512k`, `10M:100k`
 * (up:down), `off`, or a timetable `08:00,512k 19:00,off`. Empty means no limit.
 *
 * @throws {RangeError} For anything else.
 */
export function validateBwlimit(limit: string): string {
  const value = typeof limit === "string" ? limit.trim() : "";
  if (value !== "" && !BWLIMIT.test(value)) {
    throw new RangeError(
      `Invalid archive bandwidth limit ${JSON.stringify(value)}: expected rclone's --bwlimit ` +
        'form such as 1M, 512k, "10M:100k" or "08:00,512k 19:00,off"',
    );
  }
  return value;
}
