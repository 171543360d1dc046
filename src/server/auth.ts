import { basicAuth } from "@hono/hono/basic-auth";
import type { MiddlewareHandler } from "@hono/hono";
import { mkdir, readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { messageOf } from "../errors.ts";
import { writeFileAtomic } from "../storage/write_file_atomic.ts";

/** A user name and password for HTTP Basic authentication. */
export interface Credentials {
  user: string;
  password: string;
  /** Set when the password was generated just now: where it was saved (print it once). */
  generatedIn?: string;
}

/** Options for {@linkcode resolveCredentials}. */
export interface ResolveCredentialsOptions {
  /** Where a generated password is kept, e.g. `~/.config/videorecorder`. */
  configDir: string;
}

const PASSWORD_FILE = "password";

/**
 * The credentials to require: the configured password, else the one generated on an earlier
 * start, else a new random one, saved with mode 0600 so that it survives restarts. Null when
 * authentication is off.
 */
export async function resolveCredentials(
  config: { auth: boolean; user: string; password?: string },
  options: ResolveCredentialsOptions,
): Promise<Credentials | null> {
  if (!config.auth) return null;
  if (config.password) return { user: config.user, password: config.password };
  const file = join(options.configDir, PASSWORD_FILE);
  try {
    const saved = (await readFile(file, "utf8")).trim();
    if (saved) return { user: config.user, password: saved };
  } catch (error) {
    if ((error as { code?: unknown })?.code !== "ENOENT") {
      throw new Error(`Cannot read the saved password in ${file}: ${messageOf(error)}`);
    }
  }
  const password = randomPassword();
  try {
    await mkdir(options.configDir, { recursive: true, mode: 0o700 });
    // Mode 0600 from the first byte: never readable by others, never half-written, and
    // fsync'ed, so the password printed once is still the one after a power cut.
    await writeFileAtomic(file, `${password}\n`, { mode: 0o600 });
  } catch (error) {
    throw new Error(`Cannot save a generated password in ${file}: ${messageOf(error)}`);
  }
  return { user: config.user, password, generatedIn: file };
}

/** Options for {@linkcode requireCredentials}. */
export interface RequireCredentialsOptions {
  /** Wrong passwords from one client before it is locked out. Default 5. */
  freeFailures?: number;
  /** The first lockout; doubles with each further wrong password. Default 1 s. */
  lockoutMs?: number;
  /** The longest lockout, so that the owner is never locked out for long. Default 60 s. */
  maxLockoutMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

/** Most clients whose failures are remembered (the oldest is forgotten first). */
const MAX_CLIENTS = 1024;

/**
 * HTTP Basic authentication on every route, including `/stream.mjpg`, so that VLC, ffmpeg and
 * OpenCV work with `http://user:password@host/stream.mjpg` and a browser shows its own prompt.
 *
 * Guessing is slowed per client address: after `freeFailures` wrong passwords every request
 * from that address gets 429 without its password being checked (else a guess could still
 * tell right from wrong) for 1 s, doubling with each further wrong password up to 60 s. Other
 * addresses are never affected, a right password clears the count, and a request without
 * credentials (a browser's first) is not a failure.
 */
export function requireCredentials(
  credentials: Credentials,
  options: RequireCredentialsOptions = {},
): MiddlewareHandler {
  const now = options.now ?? Date.now;
  const freeFailures = options.freeFailures ?? 5;
  const lockoutMs = options.lockoutMs ?? 1000;
  const maxLockoutMs = options.maxLockoutMs ?? 60_000;
  const failures = new Map<string, { count: number; until: number }>();
  // verifyUser instead of username/password: Hono then compares hashes (four SHA-256 per
  // request, measured 0.2-0.3 ms); a constant-time compare is as safe and 10x cheaper.
  const check = basicAuth({
    verifyUser: (user, password) =>
      constantTimeEqual(user, credentials.user) &&
      constantTimeEqual(password, credentials.password),
    realm: "videorecorder",
    invalidUserMessage: { error: "Unauthorized: this recorder needs its user name and password" },
  });
  return async (c, next) => {
    const client = clientAddress(c.env);
    const failed = failures.get(client);
    const wait = failed ? failed.until - now() : 0;
    if (wait > 0) {
      c.header("retry-after", String(Math.ceil(wait / 1000)));
      return c.json({
        error: `Too many wrong passwords: try again in ${Math.ceil(wait / 1000)} s`,
      }, 429);
    }
    let passed = false;
    try {
      return await check(c, async () => {
        passed = true;
        failures.delete(client);
        await next();
      });
    } finally {
      if (!passed && c.req.header("authorization") !== undefined) {
        const count = (failed?.count ?? 0) + 1;
        const over = count - freeFailures;
        const until = over > 0 ? now() + Math.min(lockoutMs * 2 ** (over - 1), maxLockoutMs) : 0;
        failures.delete(client); // re-inserted last: the map is oldest-first
        failures.set(client, { count, until });
        if (failures.size > MAX_CLIENTS) failures.delete(failures.keys().next().value!);
      }
    }
  };
}

/** The client's address as `listen` passes it (`env.remoteAddr`); "unknown" without one. */
function clientAddress(env: unknown): string {
  const address = (env as { remoteAddr?: { hostname?: unknown } } | undefined)?.remoteAddr;
  return typeof address?.hostname === "string" ? address.hostname : "unknown";
}

/** Compares without stopping at the first difference, so timing tells nothing about `b`. */
function constantTimeEqual(a: string, b: string): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a.charCodeAt(i) | 0) ^ b.charCodeAt(i);
  return difference === 0;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses state-changing requests from other origins, so that a web page elsewhere cannot
 * start, stop or delete anything through the user's browser (which would send the saved Basic
 * credentials along). Browsers send `Origin` (and `Sec-Fetch-Site`) on such requests, or at
 * least `Referer`; tools like curl send none and are let through.
 */
export function sameOriginOnly(): MiddlewareHandler {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return await next();
    const origin = c.req.header("origin");
    // Without Origin (older browsers, some form posts), the Referer tells where it came from.
    const referer = origin === undefined ? c.req.header("referer") : undefined;
    const site = c.req.header("sec-fetch-site");
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    const crossOrigin = (origin !== undefined && hostOf(origin) !== host) ||
      (referer !== undefined && hostOf(referer) !== host) ||
      (site !== undefined && site !== "same-origin" && site !== "none");
    if (crossOrigin) {
      return c.json(
        { error: `Forbidden: cross-origin ${c.req.method} from ${origin ?? referer ?? site}` },
        403,
      );
    }
    await next();
  };
}

/** Options for {@linkcode knownHostOnly}. */
export interface KnownHostOnlyOptions {
  /** The configured `--host`, always accepted. */
  host: string;
  /** The machine's name. Default: `os.hostname()`. */
  hostname?: string;
}

/**
 * Refuses (421) a request whose `Host` is not an IP address, `localhost`, the machine's name,
 * a `.local` name or the configured host. A DNS-rebinding page (evil.example made to resolve to
 * the Pi) then cannot drive the recorder through the visitor's browser: its requests carry
 * `Host: evil.example`, and the same-origin check alone would pass them. Matters most under
 * `--no-auth`.
 */
export function knownHostOnly(options: KnownHostOnlyOptions): MiddlewareHandler {
  const known = new Set(["localhost", options.host.toLowerCase()]);
  try {
    const name = (options.hostname ?? hostname()).toLowerCase();
    known.add(name);
    known.add(`${name}.local`);
  } catch {
    // No hostname permission: IP addresses and .local names still work.
  }
  return async (c, next) => {
    const header = c.req.header("host");
    if (header === undefined) return await next(); // HTTP/1.0 tools send none
    const name = hostnameOf(header);
    const ok = name !== undefined &&
      (known.has(name) || name.endsWith(".local") || name.endsWith(".localhost") ||
        isIpLiteral(name));
    if (!ok) {
      return c.json(
        { error: `Misdirected request: this recorder does not answer to host ${header}` },
        421,
      );
    }
    await next();
  };
}

/** The host name of a Host header, lowercase, without port or IPv6 brackets. */
function hostnameOf(header: string): string | undefined {
  try {
    return new URL(`http://${header}`).hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  } catch {
    return undefined;
  }
}

function isIpLiteral(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || (name.includes(":") && /^[0-9a-f:.]+$/.test(name));
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined; // "null" (sandboxed frames, file://) is never our origin
  }
}

function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}
