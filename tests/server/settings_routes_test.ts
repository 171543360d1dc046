import assert from "node:assert/strict";
import { join } from "node:path";
import { type Config, DEFAULTS } from "../../src/config/mod.ts";
import { settingsRoutes } from "../../src/server/settings_routes.ts";

/** The settings routes over a plain config, recording what was applied. */
async function routes() {
  const dir = await Deno.makeTempDir({ prefix: "settings_routes_test_" });
  let config: Config = { ...DEFAULTS, output: dir };
  const applied: Partial<Config>[] = [];
  const app = settingsRoutes({
    config: () => config,
    apply: (changes) => {
      applied.push(changes);
      config = { ...config, ...changes };
      return Promise.resolve(["recorder"]);
    },
    configFile: join(dir, "config.json"),
  });
  const put = async (body: string) => {
    const response = await app.request("/", { method: "PUT", body });
    return { status: response.status, body: await response.json() };
  };
  return {
    dir,
    applied,
    put,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("PUT /api/settings answers every invalid field, the first also as error and field", async () => {
  await using t = await routes();
  const { status, body } = await t.put(JSON.stringify({ fps: 0, segment: 99999, quality: 50 }));
  assert.equal(status, 400);
  assert.deepEqual(body, {
    error: "Frame rate must be more than 0 and at most 120 frames per second, got 0",
    field: "fps",
    errors: [
      {
        field: "fps",
        error: "Frame rate must be more than 0 and at most 120 frames per second, got 0",
      },
      { field: "segment", error: "Clip length must be from 1 to 3600 seconds, got 99999" },
    ],
  });
  assert.deepEqual(t.applied, [], "nothing applied, not even the valid quality");
  await assert.rejects(Deno.stat(join(t.dir, "config.json")), Deno.errors.NotFound);
});

Deno.test("PUT /api/settings answers a body that is not JSON in the same shape", async () => {
  await using t = await routes();
  const { status, body } = await t.put("{fps: 0");
  assert.equal(status, 400);
  assert.deepEqual(body, {
    error: "Invalid settings: the body is not JSON",
    field: null,
    errors: [{ field: null, error: "Invalid settings: the body is not JSON" }],
  });
});

Deno.test("PUT /api/settings applies and saves valid settings", async () => {
  await using t = await routes();
  const { status, body } = await t.put(JSON.stringify({ segment: 30 }));
  assert.equal(status, 200);
  assert.deepEqual(body.applied, ["recorder"]);
  assert.equal(body.settings.segment, 30);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(join(t.dir, "config.json"))), {
    segment: 30,
  });
});
