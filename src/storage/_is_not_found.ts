/** Whether `error` says the file is not there (ENOENT), on Deno and on Node. */
export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown })?.code === "ENOENT";
}
