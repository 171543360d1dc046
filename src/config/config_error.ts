/** One invalid setting: the key (null when none is at fault) and a sentence for the user. */
export interface SettingError {
  field: string | null;
  error: string;
}

/**
 * A bad flag, config file or output directory. The one error callers are meant to catch:
 * `mod.ts` prints the message and exits with code 2.
 */
export class ConfigError extends Error {
  /** The setting at fault, when there is one (the page shows the message next to it). */
  readonly key?: string;
  /**
   * Every invalid setting when several were checked at once (`validateSettings`), the first
   * being this error's own message and key.
   */
  readonly errors: readonly SettingError[];

  /** Creates a `ConfigError` with a message meant for the user. */
  constructor(
    message: string,
    options?: ErrorOptions & { key?: string; errors?: readonly SettingError[] },
  ) {
    super(message, options);
    this.name = "ConfigError";
    this.key = options?.key;
    this.errors = options?.errors ?? [{ field: this.key ?? null, error: message }];
  }
}
