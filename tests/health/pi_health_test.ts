import assert from "node:assert/strict";
import { join } from "node:path";
import {
  parseThrottled,
  PiHealthReader,
  piHealthReport,
  readPiHealth,
} from "../../src/health/pi_health.ts";

const MEMINFO = `MemTotal:         436240 kB
MemFree:           52716 kB
MemAvailable:     262144 kB
Buffers:           20492 kB
Cached:           196912 kB
`;

interface FakePi {
  thermal?: Record<string, { type: string; temp: string }>;
  meminfo?: string;
  loadavg?: string;
  /** What the fake vcgencmd prints for get_throttled; undefined: no vcgencmd. */
  throttled?: string;
  hwmonUnderVoltage?: boolean;
}

/** A /sys and /proc tree of a Pi, and a vcgencmd with the real one's CLI and output. */
async function fakePi(pi: FakePi) {
  const root = await Deno.makeTempDir({ prefix: "pi_health_" });
  const sysRoot = join(root, "sys");
  const procRoot = join(root, "proc");
  await Deno.mkdir(join(sysRoot, "class", "thermal"), { recursive: true });
  await Deno.mkdir(procRoot, { recursive: true });
  for (const [zone, { type, temp }] of Object.entries(pi.thermal ?? {})) {
    const dir = join(sysRoot, "class", "thermal", zone);
    await Deno.mkdir(dir);
    await Deno.writeTextFile(join(dir, "type"), `${type}\n`);
    await Deno.writeTextFile(join(dir, "temp"), `${temp}\n`);
  }
  if (pi.hwmonUnderVoltage !== undefined) {
    const dir = join(sysRoot, "class", "hwmon", "hwmon0");
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "name"), "rpi_volt\n");
    await Deno.writeTextFile(join(dir, "in0_lcrit_alarm"), pi.hwmonUnderVoltage ? "1\n" : "0\n");
  }
  if (pi.meminfo !== undefined) await Deno.writeTextFile(join(procRoot, "meminfo"), pi.meminfo);
  if (pi.loadavg !== undefined) await Deno.writeTextFile(join(procRoot, "loadavg"), pi.loadavg);
  let vcgencmd: string | null = null;
  const calls = join(root, "vcgencmd.calls");
  if (pi.throttled !== undefined) {
    vcgencmd = join(root, "vcgencmd");
    await Deno.writeTextFile(
      vcgencmd,
      `#!/bin/sh
echo "$*" >> '${calls}'
case "$1" in
  get_throttled) echo '${pi.throttled}' ;;
  *) echo 'error=1 error_msg="Command not registered"'; exit 255 ;;
esac
`,
    );
    await Deno.chmod(vcgencmd, 0o755);
  }
  return {
    options: { sysRoot, procRoot, vcgencmd },
    vcgencmdCalls: async () => {
      try {
        return (await Deno.readTextFile(calls)).trim().split("\n").length;
      } catch {
        return 0;
      }
    },
    remove: () => Deno.remove(root, { recursive: true }),
  };
}

Deno.test("readPiHealth reads temperature, throttling, memory and load of a Pi", async () => {
  const pi = await fakePi({
    thermal: { thermal_zone0: { type: "cpu-thermal", temp: "48312" } },
    meminfo: MEMINFO,
    loadavg: "0.52 0.58 0.59 1/215 12345\n",
    throttled: "throttled=0x0",
  });
  try {
    const health = await readPiHealth(pi.options);
    assert.equal(health.temperatureC, 48.3);
    assert.equal(health.throttled?.raw, 0);
    assert.equal(health.throttled?.underVoltage, false);
    assert.deepEqual(health.memory, { totalBytes: 436240 * 1024, availableBytes: 262144 * 1024 });
    assert.deepEqual(health.load, [0.52, 0.58, 0.59]);
    assert.deepEqual(health.warnings, []);
  } finally {
    await pi.remove();
  }
});

Deno.test("readPiHealth warns of under-voltage and throttling now (0x50005)", async () => {
  const pi = await fakePi({ meminfo: MEMINFO, throttled: "throttled=0x50005" });
  try {
    const health = await readPiHealth(pi.options);
    const t = health.throttled!;
    assert.deepEqual(
      [t.underVoltage, t.frequencyCapped, t.throttled, t.softTempLimit],
      [true, false, true, false],
    );
    assert.deepEqual(
      [t.underVoltageOccurred, t.frequencyCappedOccurred, t.throttledOccurred],
      [true, false, true],
    );
    assert.equal(health.warnings.length, 2, health.warnings.join("\n"));
    assert.match(health.warnings[0], /^Under-voltage now: the power supply is too weak/);
    assert.match(health.warnings[1], /^Throttled now/);
  } finally {
    await pi.remove();
  }
});

Deno.test("readPiHealth warns of past under-voltage, a hot SoC and low memory", async () => {
  const pi = await fakePi({
    thermal: {
      thermal_zone0: { type: "acpitz", temp: "30000" },
      thermal_zone1: { type: "cpu-thermal", temp: "82650" },
    },
    meminfo: "MemTotal: 436240 kB\nMemAvailable: 20480 kB\n",
    throttled: "throttled=0x10000\n",
  });
  try {
    const health = await readPiHealth(pi.options);
    assert.equal(health.temperatureC, 82.7, "the SoC zone, not zone0");
    assert.deepEqual(health.warnings, [
      "Under-voltage has occurred since boot: the power supply is too weak (use a 5 V supply " +
      "rated for the board, and a short, thick cable); clips and the SD card may get corrupted",
      "SoC at 82.7 °C: a Pi throttles from 80 °C; give it air or a heatsink",
      "Low memory: 20 MiB available of 426 MiB",
    ]);
  } finally {
    await pi.remove();
  }
});

Deno.test("readPiHealth without vcgencmd reads the hwmon under-voltage alarm", async () => {
  const pi = await fakePi({ meminfo: MEMINFO, hwmonUnderVoltage: true });
  try {
    const health = await readPiHealth(pi.options);
    assert.equal(health.throttled, null);
    assert.equal(health.temperatureC, null);
    assert.match(health.warnings[0], /^Under-voltage now/);
  } finally {
    await pi.remove();
  }
});

Deno.test("readPiHealth gives null for what it cannot read", async () => {
  const pi = await fakePi({ throttled: "something unexpected" });
  try {
    const health = await readPiHealth(pi.options);
    assert.deepEqual(
      [health.temperatureC, health.throttled, health.memory, health.load],
      [null, null, null, null],
    );
    assert.deepEqual(health.warnings, []);
    const missing = await readPiHealth({ ...pi.options, vcgencmd: "/nonexistent/vcgencmd" });
    assert.equal(missing.throttled, null);
  } finally {
    await pi.remove();
  }
});

Deno.test("readPiHealth reads this machine's /proc", async () => {
  const health = await readPiHealth();
  assert.ok(health.memory !== null && health.memory.totalBytes > 0);
  assert.ok(health.memory.availableBytes > 0);
  assert.ok(health.memory.availableBytes <= health.memory.totalBytes);
  assert.ok(health.load !== null && health.load.every((n) => n >= 0));
  assert.ok(health.temperatureC === null || health.temperatureC > -40);
  assert.ok(Math.abs(health.readAt - Date.now()) < 5_000);
});

Deno.test("PiHealthReader reuses a reading for maxAgeMs and shares concurrent reads", async () => {
  const pi = await fakePi({ meminfo: MEMINFO, throttled: "throttled=0x0" });
  try {
    const reader = new PiHealthReader({ ...pi.options, maxAgeMs: 300 });
    assert.equal(reader.latest, null);
    const [a, b] = await Promise.all([reader.read(), reader.read()]);
    assert.equal(a, b);
    assert.equal(await reader.read(), a);
    assert.equal(await pi.vcgencmdCalls(), 1);
    assert.equal(reader.latest, a);
    await new Promise((resolve) => setTimeout(resolve, 350));
    assert.notEqual(await reader.read(), a);
    assert.equal(await pi.vcgencmdCalls(), 2);
  } finally {
    await pi.remove();
  }
});

Deno.test("piHealthReport uses snake_case and hex for the raw flags", () => {
  const report = piHealthReport({
    temperatureC: 51.2,
    throttled: parseThrottled("throttled=0x50005"),
    memory: { totalBytes: 1024, availableBytes: 512 },
    load: [1, 2, 3],
    warnings: ["w"],
    readAt: 5,
  });
  assert.deepEqual(report, {
    temperature_c: 51.2,
    throttled: {
      raw: "0x50005",
      under_voltage: true,
      frequency_capped: false,
      throttled: true,
      soft_temp_limit: false,
      under_voltage_occurred: true,
      frequency_capped_occurred: false,
      throttled_occurred: true,
      soft_temp_limit_occurred: false,
    },
    memory: { total_bytes: 1024, available_bytes: 512 },
    load: [1, 2, 3],
    warnings: ["w"],
    read_at: 5,
  });
});

Deno.test("parseThrottled accepts only vcgencmd's throttled=0x... line", () => {
  assert.equal(parseThrottled("throttled=0x8")?.softTempLimit, true);
  assert.equal(parseThrottled("throttled=0x20002\n")?.frequencyCappedOccurred, true);
  assert.equal(parseThrottled("0x50005"), null);
  assert.equal(parseThrottled('error=1 error_msg="Command not registered"'), null);
});
