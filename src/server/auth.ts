import { basicAuth } from "@hono/hono/basic-auth";
import type { MiddlewareHandler } from "@hono/hono";
import { join } from "node:path";
import { messageOf } from "../errors.ts";

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
    const saved = (await Deno.readTextFile(file)).trim();
    if (saved) return { user: config.user, password: saved };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new Error(`Cannot read the saved password in ${file}: ${messageOf(error)}`);
    }
  }
  const password = randomPassword();
  try {
    await Deno.mkdir(options.configDir, { recursive: true, mode: 0o700 });
    // Written under a temporary name with mode 0600 from the start, then renamed: never readable
    // by others, never half-written.
    const temporary = `${file}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(temporary, `${password}\n`, { mode: 0o600, createNew: true });
    await Deno.rename(temporary, file);
  } catch (error) {
    throw new Error(`Cannot save a generated password in ${file}: ${messageOf(error)}`);
  }
  return { user: config.user, password, generatedIn: file };
}

/**
 * HTTP Basic authentication on every route, including `/stream.mjpg`, so that VLC, ffmpeg and
 * OpenCV work with `http://user:password@host/stream.mjpg` and a browser shows its own prompt.
 */
export function requireCredentials(credentials: Credentials): MiddlewareHandler {
  // verifyUser instead of username/password: Hono then compares hashes (four SHA-256 per
  // request, measured 0.2-0.3 ms); a constant-time compare is as safe and 10x cheaper.
  return basicAuth({
    verifyUser: (user, password) =>
      constantTimeEqual(user, credentials.user) &&
      constantTimeEqual(password, credentials.password),
    realm: "videorecorder",
    invalidUserMessage: { error: "Unauthorized: this recorder needs its user name and password" },
  });
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
 * credentials along). Browsers send `Origin` (and `Sec-Fetch-Site`) on such requests; tools like
 * curl send neither and are let through.
 */
export function sameOriginOnly(): MiddlewareHandler {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return await next();
    const origin = c.req.header("origin");
    const site = c.req.header("sec-fetch-site");
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    const crossOrigin = (origin !== undefined && hostOf(origin) !== host) ||
      (site !== undefined && site !== "same-origin" && site !== "none");
    if (crossOrigin) {
      return c.json(
        { error: `Forbidden: cross-origin ${c.req.method} from ${origin ?? site}` },
        403,
      );
    }
    await next();
  };
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
