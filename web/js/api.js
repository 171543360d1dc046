// @ts-check
/// <reference lib="dom" />
/**
 * The API client: same-origin JSON requests and the server's errors as {@link ApiError}.
 *
 * @module
 */

/** An API error: the server's `{ error, field }`, or a network failure (status 0). */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status
   * @param {string | null} [field]
   * @param {{ field?: string | null, error: string }[]} [errors] every invalid field
   */
  constructor(message, status, field = null, errors = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.field = field;
    this.errors = errors;
  }
}

/**
 * Calls the API; resolves with the parsed JSON, rejects with an {@link ApiError} carrying
 * the server's message.
 * @param {string} path relative, e.g. `api/status`
 * @param {{ method?: string, body?: unknown, timeoutMs?: number }} [options]
 * @returns {Promise<unknown>} the document; the caller names its type (see `state.js`)
 */
export async function api(path, options = {}) {
  const method = options.method ?? "GET";
  /** @type {RequestInit} */
  const init = { method, cache: "no-store", credentials: "same-origin" };
  if (options.timeoutMs) init.signal = AbortSignal.timeout(options.timeoutMs);
  if (method !== "GET") {
    init.headers = { "content-type": "application/json" };
    if (method !== "DELETE") init.body = JSON.stringify(options.body ?? {});
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    const reason = error instanceof DOMException && error.name === "TimeoutError"
      ? `no answer in ${Math.round((options.timeoutMs ?? 0) / 1000)} s`
      : messageOf(error);
    throw new ApiError(`Cannot reach the recorder: ${reason}`, 0);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page, say): the status line says enough.
  }
  if (!response.ok) {
    const message = typeof data?.error === "string"
      ? data.error
      : `Request failed: ${method} ${path} answered ${response.status} ${response.statusText}`;
    const errors = Array.isArray(data?.errors)
      ? data.errors.filter((/** @type {{ error?: unknown } | null} */ each) =>
        typeof each?.error === "string"
      )
      : [];
    throw new ApiError(message, response.status, data?.field ?? null, errors);
  }
  return data;
}

/** @param {unknown} error */
export function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}
