/** GpsdClient and Gps against Debian's real gpsd, fed by gpsfake with a drive we make. */
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { Gps, type GpsFix, parseGpsSetting } from "../../src/car/gps.ts";
import { GpsdClient, type GpsdSky, type GpsdTpv } from "../../src/car/gpsd_client.ts";
import { waitFor } from "../_helpers.ts";
import { freePort, nmeaLog, sentence, startGpsfake } from "./_nmea.ts";

const FAST = { initialMs: 200, maxMs: 1_000 };

async function tempDir() {
  const path = await Deno.makeTempDir({ prefix: "gpsd_client_test_" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

Deno.test("sentence gives NMEA's XOR checksum", () => {
  // A sentence from the NMEA 0183 examples everyone quotes.
  assert.equal(
    sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
    "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n",
  );
});

Deno.test("parseGpsSetting takes auto, off, a host and host:port, and refuses the rest", () => {
  assert.deepEqual(parseGpsSetting("auto"), { mode: "auto", host: "127.0.0.1", port: 2947 });
  assert.deepEqual(parseGpsSetting("off"), { mode: "off" });
  assert.deepEqual(parseGpsSetting("pi.local"), { mode: "on", host: "pi.local", port: 2947 });
  assert.deepEqual(parseGpsSetting("10.0.0.2:2948"), { mode: "on", host: "10.0.0.2", port: 2948 });
  assert.deepEqual(parseGpsSetting("[::1]:2947"), { mode: "on", host: "::1", port: 2947 });
  for (const bad of ["host:0", "host:70000", "a b", "http://x", "host:", ""]) {
    if (bad === "") continue; // empty is auto (the schema refuses it before)
    assert.throws(() => parseGpsSetting(bad), /Invalid gps setting: expected "auto", "off"/, bad);
  }
});

Deno.test("GpsdClient reads gpsd's TPV and SKY reports of the drive in the log", async () => {
  await using dir = await tempDir();
  const { text, points } = nmeaLog({ epochs: 40 });
  await using _gpsd = await startGpsfake(text, { dir: dir.path, port: freePort() });
  const tpvs: GpsdTpv[] = [];
  const skies: GpsdSky[] = [];
  const client = new GpsdClient({
    port: _gpsd.port,
    backoff: FAST,
    onTpv: (tpv) => tpvs.push(tpv),
    onSky: (sky) => skies.push(sky),
  });
  client.start();
  try {
    await waitFor("five 3D fixes", () => tpvs.filter((tpv) => tpv.time).length >= 5, 30_000);
    await waitFor("a SKY report with satellites", () => skies.length > 0, 10_000);
    const status = client.status();
    assert.equal(status.state, "connected");
    assert.match(status.version ?? "", /^3\./);
    assert.equal(status.devices, 1);
    // gpsd holds the time back from the first reports, until it trusts the date.
    const timed = tpvs.filter((tpv) => tpv.mode === 3 && tpv.time !== null);
    assert.ok(timed.length >= 3, `${timed.length} 3D fixes with a time`);
    for (const tpv of timed) {
      const point = points.find((p) => p.time === tpv.time);
      assert.ok(point, `TPV time ${new Date(tpv.time!).toISOString()} is one of the log's`);
      assert.ok(Math.abs(tpv.lat! - point.lat) < 1e-6, `lat ${tpv.lat} vs ${point.lat}`);
      assert.ok(Math.abs(tpv.lon! - point.lon) < 1e-6, `lon ${tpv.lon} vs ${point.lon}`);
      assert.ok(Math.abs(tpv.speed! - point.speed) < 0.01, `speed ${tpv.speed} vs ${point.speed}`);
      assert.ok(Math.abs(tpv.track! - point.heading) < 0.1);
      // A report after the epoch's RMC alone has no altitude yet (GGA brings it).
      if (tpv.alt !== null) assert.ok(Math.abs(tpv.alt - point.alt) < 0.05, `alt ${tpv.alt}`);
    }
    assert.ok(timed.filter((tpv) => tpv.alt !== null).length >= 3, "altitudes from GGA");
    const sky = skies.at(-1)!;
    assert.equal(sky.seen, 8);
    assert.equal(sky.used, 7);
  } finally {
    await client.stop();
  }
  assert.equal(client.status().state, "stopped");
});

Deno.test("Gps says gpsd is absent, keeps trying, and follows it once it runs", async () => {
  await using dir = await tempDir();
  const port = freePort();
  const fixes: GpsFix[] = [];
  // Auto mode at a port with nothing behind it: how a car without GPS looks.
  const gps = new Gps(`127.0.0.1:${port}`, { backoff: FAST, onFix: (fix) => fixes.push(fix) });
  gps.start();
  try {
    await waitFor("a refused connection", () => gps.status().last_error, 10_000);
    let status = gps.status();
    assert.equal(status.state, "disconnected");
    assert.equal(status.fix, "none");
    assert.match(status.last_error!, /Cannot connect to gpsd at 127\.0\.0\.1:\d+: nothing listens/);
    assert.match(status.message, /not answering: reconnecting/);

    const { text, points } = nmeaLog({ epochs: 60 });
    await using gpsd = await startGpsfake(text, { dir: dir.path, port });
    await waitFor("a 3D fix with a time and the 7 satellites the log uses", () => {
      const status = gps.status();
      return status.fix === "3d" && status.time !== null && status.satellites === 7;
    }, 30_000);
    status = gps.status();
    assert.equal(status.state, "connected");
    assert.equal(status.satellites, 7);
    assert.equal(status.last_error, null);
    assert.match(status.message, /^3D fix, 7 satellites$/);
    const point = points.find((p) => p.time === status.time)!;
    assert.ok(point, "the status's time is one of the log's");
    assert.ok(Math.abs(status.lat! - point.lat) < 1e-6 && Math.abs(status.lon! - point.lon) < 1e-6);
    assert.ok(Math.abs(status.speed! - point.speed) < 0.01);
    assert.equal(status.heading, point.heading);
    // One fix a second of GPS time, though gpsd reports the first epoch twice.
    await waitFor("three fixes", () => fixes.length >= 3, 20_000);
    const seconds = fixes.map((fix) => fix.time);
    assert.deepEqual(seconds, [...new Set(seconds)].sort((a, b) => a - b));
    await gpsd.stop();
    await waitFor("the loss to show", () => gps.status().state !== "connected", 10_000);
    assert.equal(gps.status().fix, "none");
    assert.equal(gps.status().lat, status.lat === null ? null : gps.status().lat);
    assert.ok(gps.status().lat !== null, "the last position is kept");
  } finally {
    await gps.stop();
  }
});

Deno.test("Gps off connects nowhere", async () => {
  const off = new Gps("off");
  off.start();
  assert.equal(off.status().state, "off");
  assert.equal(off.status().server, null);
  assert.match(off.status().message, /GPS is off/);
  await off.stop();
});

/** Whether something listens on gpsd's own port here (a gpsd of the box's own). */
async function gpsdPortTaken(): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port: 2947 })).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "Gps auto with no gpsd on 127.0.0.1:2947 is absent, not an error, and keeps asking",
  // auto means this port; a box running its own gpsd cannot show the case (reported ignored).
  ignore: await gpsdPortTaken(),
  fn: async () => {
    const gps = new Gps("auto", { backoff: FAST });
    gps.start();
    try {
      await waitFor("a refusal", () => gps.status().state === "absent", 10_000);
      const status = gps.status();
      assert.equal(status.server, "127.0.0.1:2947");
      assert.equal(status.fix, "none");
      assert.match(status.message, /^No gpsd at 127\.0\.0\.1:2947: no GPS/);
      assert.match(status.last_error!, /nothing listens there \(is gpsd running\?\)/);
    } finally {
      await gps.stop();
    }
  },
});

Deno.test("GpsdClient reconnects after gpsd is killed and comes back, and skips garbage", async () => {
  await using dir = await tempDir();
  const port = freePort();
  const tpvs: GpsdTpv[] = [];
  const client = new GpsdClient({ port, backoff: FAST, onTpv: (tpv) => tpvs.push(tpv) });
  client.start();
  try {
    {
      await using first = await startGpsfake(nmeaLog({ epochs: 60 }).text, {
        dir: dir.path,
        port,
      });
      await waitFor("fixes from the first gpsd", () => tpvs.length >= 3, 30_000).catch((e) => {
        throw new Error(`${e.message}: ${JSON.stringify(client.status())}`);
      });
      await first.killGpsd();
      await waitFor("the client to see it gone", () => client.status().state !== "connected");
      assert.match(client.status().lastError ?? "", /gpsd/);
    }

    // The second gpsd's drive is a day later: its reports are told apart by time.
    const later = Date.UTC(2031, 4, 5, 10, 0, 0);
    await using _second = await startGpsfake(
      nmeaLog({ epochs: 60, start: later }).text,
      { dir: dir.path, port },
    );
    await waitFor("fixes from the second gpsd", () => tpvs.some((t) => t.time! >= later), 30_000);
    assert.equal(client.status().state, "connected");
    assert.equal(client.status().connects, 2);
  } finally {
    await client.stop();
  }

  // A "gpsd" that speaks nonsense, then a real report: the nonsense is skipped.
  const seen: GpsdTpv[] = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.write('not json\n{"class":\n\x00\xff\n[1,2]\nnull\n');
    socket.write('{"class":"TPV","mode":3,"time":"2031-05-04T10:00:00.000Z","lat":91,"lon":1}\n');
    socket.write('{"class":"TPV","mode":3,"time":"x","lat":52.5,"lon":13.4,"speed":"fast"}\n');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const fake = new GpsdClient({
    port: (server.address() as { port: number }).port,
    onTpv: (tpv) => seen.push(tpv),
  });
  fake.start();
  try {
    await waitFor("two TPVs", () => seen.length >= 2);
    assert.deepEqual(seen[0], {
      device: null,
      mode: 3,
      time: Date.UTC(2031, 4, 4, 10),
      lat: null, // 91° is no latitude
      lon: 1,
      alt: null,
      speed: null,
      track: null,
    });
    assert.equal(seen[1].time, null);
    assert.equal(seen[1].speed, null);
    assert.equal(fake.status().state, "connected");
  } finally {
    await fake.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
