import { Hono } from "@hono/hono";
import {
  type Config,
  ConfigError,
  EDITABLE_SETTINGS,
  pageSchema,
  saveSettings,
  SETTINGS,
  validateSettings,
} from "../config/mod.ts";
import type { Part } from "../dashcam.ts";
import { messageOf } from "../errors.ts";

/** What the settings routes need. */
export interface SettingsRoutesOptions {
  /** The settings in force. */
  config: () => Config;
  /** Applies validated settings, restarting what must restart; throws when it cannot. */
  apply: (changes: Partial<Config>) => Promise<Part[]>;
  /** The JSON file settings are saved to, so that they survive restarts. */
  configFile: string;
}

/**
 * The settings API, to mount at `/api/settings`:
 *
 * - `GET /` → `{ settings, schema, file }`: the editable settings in force (a secret one's
 *   value is never sent) and, for each, what the page builds its field from: type, label,
 *   help line, default, unit, range (`minimum`, `exclusiveMinimum`, `maximum`) or choices
 *   (`enum`), in form order.
 * - `PUT /` with a JSON object of changed settings → `{ settings, applied }`, where `applied`
 *   names the parts restarted. Invalid input is 400 `{ error, field, errors }` (`errors`
 *   lists every invalid field as `{ field, error }`, the first also given as `error` and
 *   `field`) and changes nothing;
 *   settings are applied first, then saved atomically, so the file never holds settings that
 *   failed to apply.
 */
export function settingsRoutes(options: SettingsRoutesOptions): Hono {
  const app = new Hono();
  const shown = EDITABLE_SETTINGS.filter((key) => !(SETTINGS[key] as { secret?: boolean }).secret);
  const editable = () => Object.fromEntries(shown.map((key) => [key, options.config()[key]]));
  const schema = pageSchema();

  app.get("/", (c) => c.json({ settings: editable(), schema, file: options.configFile }));

  app.put("/", async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      const error = "Invalid settings: the body is not JSON";
      return c.json({ error, field: null, errors: [{ field: null, error }] }, 400);
    }
    let changes;
    try {
      changes = validateSettings(body);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // The first error as before, and every one for the page to show by its field.
      return c.json({ error: error.message, field: error.key ?? null, errors: error.errors }, 400);
    }
    let applied: Part[];
    try {
      applied = await options.apply(changes);
    } catch (error) {
      const message = `Cannot apply these settings: ${messageOf(error)}`;
      return c.json(
        { error: message, field: null, errors: [{ field: null, error: message }] },
        400,
      );
    }
    try {
      await saveSettings(options.configFile, changes);
    } catch (error) {
      const message = messageOf(error);
      return c.json({ error: `Applied but not saved: ${message}`, settings: editable() }, 500);
    }
    return c.json({ settings: editable(), applied });
  });

  return app;
}
