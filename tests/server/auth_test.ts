import assert from "node:assert/strict";
import { join } from "node:path";
import { Hono } from "@hono/hono";
import { configDirectory } from "../../src/config.ts";
import { requireCredentials, resolveCredentials, sameOriginOnly } from "../../src/server/auth.ts";
import { reachableUrls } from "../../src/server/listen.ts";

function protectedApp() {
  const app = new Hono();
  app.use("*", requireCredentials({ user: "admin", password: "s3cret" }));
  app.use("*", sameOriginOnly());
  app.get("/stream.mjpg", (c) => c.text("frames"));
  app.post("/api/recording/stop", (c) => c.json({ recording: false }));
  return app;
}

const GOOD = { authorization: `Basic ${btoa("admin:s3cret")}` };

Deno.test("requireCredentials guards every route, the stream too", async () => {
  const app = protectedApp();
  const anonymous = await app.request("/stream.mjpg");
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers.get("www-authenticate")!, /^Basic realm="videorecorder"/);
  const wrong = await app.request("/stream.mjpg", {
    headers: { authorization: `Basic ${btoa("admin:guess")}` },
  });
  assert.equal(wrong.status, 401);
  assert.match((await wrong.json()).error, /^Unauthorized/);
  assert.equal((await app.request("/stream.mjpg", { headers: GOOD })).status, 200);
});

Deno.test("sameOriginOnly refuses cross-origin state changes", async () => {
  const app = protectedApp();
  const url = "http://car.local/api/recording/stop";
  const post = (headers: Record<string, string>) =>
    app.request(url, { method: "POST", headers: { ...GOOD, ...headers } });
  const evil = await post({ origin: "http://evil.example" });
  assert.equal(evil.status, 403);
  assert.match((await evil.json()).error, /^Forbidden: cross-origin POST/);
  assert.equal((await post({ "sec-fetch-site": "cross-site" })).status, 403);
  assert.equal((await post({ origin: "null" })).status, 403);
  assert.equal((await post({ origin: "http://car.local" })).status, 200, "the page itself");
  assert.equal((await post({})).status, 200, "curl sends no Origin");
  // Reading stays open to any origin's <img>: GET changes nothing.
  const img = await app.request("http://car.local/stream.mjpg", {
    headers: { ...GOOD, origin: "http://evil.example" },
  });
  assert.equal(img.status, 200);
});

Deno.test("resolveCredentials generates a password once, mode 0600, then reuses it", async () => {
  const configDir = join(await Deno.makeTempDir(), "videorecorder");
  const config = { auth: true, user: "admin" };
  const first = await resolveCredentials(config, { configDir });
  assert.ok(first?.generatedIn, "generated");
  assert.ok(first.password.length >= 16);
  assert.equal((await Deno.stat(first.generatedIn)).mode! & 0o777, 0o600);
  const second = await resolveCredentials(config, { configDir });
  assert.deepEqual(second, { user: "admin", password: first.password });
  const configured = await resolveCredentials({ ...config, password: "mine" }, { configDir });
  assert.deepEqual(configured, { user: "admin", password: "mine" });
  assert.equal(await resolveCredentials({ ...config, auth: false }, { configDir }), null);
  await Deno.remove(join(configDir, ".."), { recursive: true });
});

Deno.test("configDirectory is beside the config file, else under XDG or HOME", () => {
  assert.equal(configDirectory("/etc/vr/config.json", {}), "/etc/vr");
  assert.equal(configDirectory(undefined, { XDG_CONFIG_HOME: "/x" }), "/x/videorecorder");
  assert.equal(configDirectory(undefined, { HOME: "/home/pi" }), "/home/pi/.config/videorecorder");
});

Deno.test("reachableUrls lists the machine's addresses for a wildcard host", () => {
  const interfaces = () =>
    [
      { family: "IPv4", address: "127.0.0.1" },
      { family: "IPv6", address: "::1" },
      { family: "IPv4", address: "192.168.4.1" },
    ] as Deno.NetworkInterfaceInfo[];
  assert.deepEqual(reachableUrls("0.0.0.0", 8080, interfaces), [
    "http://127.0.0.1:8080",
    "http://192.168.4.1:8080",
  ]);
  assert.deepEqual(reachableUrls("127.0.0.1", 80), ["http://127.0.0.1:80"]);
  assert.deepEqual(reachableUrls("::1", 80), ["http://[::1]:80"]);
});
