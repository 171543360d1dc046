import assert from "node:assert/strict";
import { join } from "node:path";
import { Hono } from "@hono/hono";
import { configDirectory } from "../../src/config/mod.ts";
import {
  knownHostOnly,
  requireCredentials,
  resolveCredentials,
  sameOriginOnly,
} from "../../src/server/auth.ts";
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

Deno.test("requireCredentials locks out a guessing client for a while, never the others", async () => {
  let clock = 1_000_000;
  const app = new Hono();
  app.use("*", requireCredentials({ user: "admin", password: "s3cret" }, { now: () => clock }));
  app.get("/", (c) => c.text("in"));
  const from = (hostname: string, authorization?: string) =>
    app.request("/", { headers: authorization ? { authorization } : {} }, {
      remoteAddr: { hostname },
    });
  const wrong = `Basic ${btoa("admin:guess")}`;
  for (let i = 0; i < 5; i++) assert.equal((await from("10.0.0.9", wrong)).status, 401);
  assert.equal((await from("10.0.0.9", wrong)).status, 401, "the 6th is checked, then locked");
  const locked = await from("10.0.0.9", GOOD.authorization);
  assert.equal(locked.status, 429, "even the right password waits: else guesses go on");
  assert.match((await locked.json()).error, /^Too many wrong passwords: try again in 1 s/);
  assert.equal(locked.headers.get("retry-after"), "1");
  assert.equal((await from("10.0.0.7", GOOD.authorization)).status, 200, "another client");
  assert.equal((await from("10.0.0.9")).status, 429);

  clock += 1_001;
  assert.equal((await from("10.0.0.9", wrong)).status, 401);
  assert.equal((await from("10.0.0.9", wrong)).status, 429, "locked 2 s now");
  // Doubling, capped at a minute: the owner is never locked out for long.
  for (let i = 0; i < 20; i++) {
    clock += 61_000;
    assert.equal((await from("10.0.0.9", wrong)).status, 401);
  }
  assert.equal((await from("10.0.0.9", GOOD.authorization)).status, 429);
  clock += 60_001;
  assert.equal((await from("10.0.0.9", GOOD.authorization)).status, 200, "then in, count cleared");
  assert.equal((await from("10.0.0.9", wrong)).status, 401);
  assert.equal((await from("10.0.0.9", GOOD.authorization)).status, 200);
  // A browser's first request carries no credentials: not a failure.
  for (let i = 0; i < 10; i++) assert.equal((await from("10.0.0.8")).status, 401);
  assert.equal((await from("10.0.0.8", GOOD.authorization)).status, 200);
});

Deno.test("sameOriginOnly refuses a state change with a foreign Referer and no Origin", async () => {
  const app = protectedApp();
  const post = (headers: Record<string, string>) =>
    app.request("http://car.local/api/recording/stop", {
      method: "POST",
      headers: { ...GOOD, ...headers },
    });
  const evil = await post({ referer: "http://evil.example/page.html" });
  assert.equal(evil.status, 403);
  assert.match((await evil.json()).error, /^Forbidden: cross-origin POST from http:\/\/evil/);
  assert.equal((await post({ referer: "http://car.local/" })).status, 200);
  assert.equal((await post({ referer: "not a url" })).status, 403);
});

Deno.test("knownHostOnly refuses a DNS-rebinding Host, takes addresses and the machine's names", async () => {
  const app = new Hono();
  app.use("*", knownHostOnly({ host: "dashcam.home.arpa", hostname: "raspberrypi" }));
  app.get("/", (c) => c.text("in"));
  const status = async (host: string) =>
    (await app.request(`http://${host}/`, { headers: { host } })).status;
  for (
    const host of [
      "192.168.4.1:8080",
      "127.0.0.1",
      "[::1]:8080",
      "[fe80::1]",
      "localhost:8080",
      "raspberrypi",
      "RaspberryPi.local:8080",
      "car.local",
      "dashcam.home.arpa",
    ]
  ) assert.equal(await status(host), 200, host);
  for (const host of ["evil.example", "evil.example:8080", "192.168.4.1.evil.example"]) {
    assert.equal(await status(host), 421, host);
  }
  const refused = await app.request("http://evil.example/", { headers: { host: "evil.example" } });
  assert.match((await refused.json()).error, /^Misdirected request: .* host evil\.example/);
});
