import assert from "node:assert/strict";
import { join } from "node:path";
import {
  detectGpiomon,
  gpiomonArgs,
  GpioMonitor,
  type GpioMonitorOptions,
  parseGpiomonLine,
  parseGpiomonVersion,
} from "../../src/car/gpio_monitor.ts";
import { waitFor } from "../_helpers.ts";
import { fakeGpio, VERSIONS } from "./_gpio.ts";

Deno.test("parseGpiomonVersion reads 1.6 and 2.x and refuses anything else", () => {
  assert.deepEqual(parseGpiomonVersion("gpiomon (libgpiod) v1.6.3\nCopyright (C) 2017-2018"), {
    major: 1,
    version: "1.6.3",
  });
  assert.deepEqual(parseGpiomonVersion("gpiomon (libgpiod) v2.1.3\n"), {
    major: 2,
    version: "2.1.3",
  });
  assert.throws(() => parseGpiomonVersion("gpiomon (libgpiod) v3.0\n"), /not libgpiod 1.x/);
  assert.throws(() => parseGpiomonVersion("usage: foo"), /printed "usage: foo"/);
});

Deno.test("gpiomonArgs speaks each version's syntax", () => {
  const line = { chip: "gpiochip0", line: 17, bias: "pull-up" as const, debounceMs: 30 };
  assert.deepEqual(gpiomonArgs(1, line), [
    "--line-buffered",
    "--format=%o %e %s %n",
    "--bias=pull-up",
    "gpiochip0",
    "17",
  ]);
  assert.deepEqual(gpiomonArgs(2, line), [
    "--chip",
    "gpiochip0",
    "--format",
    "%o %e %S",
    "--bias",
    "pull-up",
    "--debounce-period",
    "30ms",
    "17",
  ]);
  assert.deepEqual(gpiomonArgs(2, { chip: "0", line: 4, bias: "disable" }).slice(4), [
    "--bias",
    "disabled",
    "17".replace("17", "4"),
  ]);
  assert.deepEqual(gpiomonArgs(1, { chip: "0", line: 4 }), [
    "--line-buffered",
    "--format=%o %e %s %n",
    "0",
    "4",
  ]);
});

Deno.test("parseGpiomonLine reads the formats asked for and both default lines", () => {
  assert.deepEqual(parseGpiomonLine("17 1 1234 5678", 1), {
    offset: 17,
    rising: true,
    timestamp: 1234 + 5678e-9,
  });
  assert.deepEqual(parseGpiomonLine("17 0 1234 567890123", 1)?.rising, false);
  assert.equal(parseGpiomonLine("17 2 1234 5", 1), undefined, "1.6 has no edge 2");
  assert.deepEqual(parseGpiomonLine("4 2 1234.567890123", 2), {
    offset: 4,
    rising: false,
    timestamp: 1234.567890123,
  });
  assert.equal(parseGpiomonLine("4 0 1234.5", 2), undefined, "2.x has no edge 0");
  assert.deepEqual(
    parseGpiomonLine("event:  RISING EDGE offset: 17 timestamp: [    1234.567890123]", 1),
    { offset: 17, rising: true, timestamp: 1234.567890123 },
  );
  assert.deepEqual(
    parseGpiomonLine("event: FALLING EDGE offset: 3 timestamp: [       5.000000001]", 1)?.rising,
    false,
  );
  assert.deepEqual(parseGpiomonLine('1234.567890123\trising\tgpiochip0 17 "GPIO17"', 2), {
    offset: 17,
    rising: true,
    timestamp: 1234.567890123,
  });
  assert.deepEqual(parseGpiomonLine("99.000000001\tfalling\tgpiochip1 40", 2)?.offset, 40);
  assert.equal(parseGpiomonLine("gpiomon: something", 2), undefined);
  assert.equal(parseGpiomonLine("", 1), undefined);
});

Deno.test("detectGpiomon says how to install a missing gpiomon", async () => {
  await assert.rejects(
    detectGpiomon("/nonexistent/gpiomon"),
    /Cannot use gpiomon: \/nonexistent\/gpiomon: No such file or directory \(install it with: sudo apt install gpiod\)/,
  );
});

Deno.test("detectGpiomon reads the version of Debian's real gpiomon", {
  ignore: !(await Deno.stat("/usr/bin/gpiomon").then(() => true, () => false)),
}, async () => {
  const found = await detectGpiomon("/usr/bin/gpiomon");
  assert.ok(found.major === 1 || found.major === 2, JSON.stringify(found));
});

function monitor(options: Omit<GpioMonitorOptions, "name" | "onChange">) {
  const changes: boolean[] = [];
  const gpio = new GpioMonitor({
    name: "lock button",
    onChange: (active) => changes.push(active),
    backoff: { initialMs: 100, maxMs: 500 },
    ...options,
  });
  return { gpio, changes };
}

for (const version of VERSIONS) {
  Deno.test(`GpioMonitor reports edges of its line from gpiomon ${version}`, async () => {
    await using fake = await fakeGpio(version);
    const { gpio, changes } = monitor({
      program: fake.program,
      chip: "gpiochip0",
      line: 17,
      debounceMs: 0,
    });
    gpio.start();
    try {
      const [started] = await fake.started(1);
      assert.match(started, version.startsWith("1.") ? /gpiochip0 17$/ : / 17$/);
      assert.equal(gpio.status().state, "unknown");
      assert.equal(gpio.status().gpiomon, version);
      await fake.edge("gpiochip0", 17, "rising");
      await waitFor("the rising edge", () => changes.length === 1);
      await fake.edge("gpiochip0", 18, "falling"); // another line
      await fake.edge("gpiochip1", 17, "falling"); // another chip
      await fake.edge("gpiochip0", 17, "falling");
      await waitFor("the falling edge", () => changes.length === 2);
      assert.deepEqual(changes, [true, false]);
      const status = gpio.status();
      assert.equal(status.state, "inactive");
      assert.equal(status.process, "running");
      assert.equal(status.lastError, null);
      assert.ok(status.changedAt! > Date.now() - 60_000);
    } finally {
      await gpio.stop();
    }
    assert.equal(gpio.status().process, "stopped");
  });

  Deno.test(`GpioMonitor inverts an active-low line and debounces it (gpiomon ${version})`, async () => {
    await using fake = await fakeGpio(version);
    const { gpio, changes } = monitor({
      program: fake.program,
      chip: "0",
      line: 4,
      activeLow: true,
      bias: "pull-up",
      debounceMs: 2_000,
    });
    gpio.start();
    try {
      await fake.started(1);
      // A press to ground, bouncing: falling, rising, falling within the debounce period.
      await fake.edge("gpiochip0", 4, "falling");
      await fake.edge("gpiochip0", 4, "rising");
      await fake.edge("gpiochip0", 4, "falling");
      await waitFor("the press", () => changes.length >= 1);
      assert.equal(gpio.status().state, "active");
      // The release comes after the period: reported once it is over.
      await fake.edge("gpiochip0", 4, "rising");
      await waitFor("the release", () => changes.length >= 2, 15_000);
      assert.deepEqual(changes, [true, false], "the bounces were not reported");
    } finally {
      await gpio.stop();
    }
  });

  Deno.test(`GpioMonitor restarts gpiomon ${version} when it crashes`, async () => {
    await using fake = await fakeGpio(version);
    const { gpio, changes } = monitor({
      program: fake.program,
      chip: "gpiochip0",
      line: 17,
      debounceMs: 0,
    });
    gpio.start();
    try {
      await fake.started(1);
      await fake.crash();
      await waitFor("the crash to be reported", () => gpio.status().restarts >= 1);
      await fake.started(2);
      await waitFor("gpiomon running again", () => gpio.status().process === "running");
      await fake.edge("gpiochip0", 17, "rising");
      await waitFor("an edge after the restart", () => changes.length === 1);
      assert.equal(gpio.status().state, "active");
    } finally {
      await gpio.stop();
    }
  });

  Deno.test(`GpioMonitor says what gpiomon ${version} said about a missing chip`, async () => {
    await using fake = await fakeGpio(version);
    const { gpio } = monitor({ program: fake.program, chip: "gpiochip7", line: 17 });
    gpio.start();
    try {
      const error = await waitFor("the error", () => gpio.status().lastError);
      assert.match(error, /^Gpiomon exited with code 1: gpiomon: /);
      assert.match(
        error,
        version.startsWith("1.")
          ? /error waiting for events: No such file or directory/
          : /cannot find GPIO chip character device 'gpiochip7'/,
      );
      assert.equal(gpio.status().state, "unknown");
    } finally {
      await gpio.stop();
    }
  });
}

Deno.test("The fake gpiomon refuses the other version's command line as the real one does", async () => {
  for (
    const [version, args, said] of [
      ["2.1.3", ["--line-buffered", "gpiochip0", "17"], /unrecognized option '--line-buffered'/],
      ["2.1.3", ["-b", "gpiochip0", "17"], /invalid bias: gpiochip0/],
      ["1.6.3", ["--chip", "gpiochip0", "17"], /unrecognized option '--chip'/],
      ["1.6.3", ["-c", "gpiochip0", "17"], /invalid option -- 'c'/],
      ["1.6.3", ["--bias", "pull-up"], /gpiochip must be specified/],
    ] as const
  ) {
    await using fake = await fakeGpio(version);
    const output = await new Deno.Command(fake.program, { args: [...args], stderr: "piped" })
      .output();
    assert.equal(output.code, 1, `${version} ${args.join(" ")}`);
    assert.match(new TextDecoder().decode(output.stderr), said);
  }
});

Deno.test("GpioMonitor reports a missing gpiomon and starts once it is installed", async () => {
  await using fake = await fakeGpio("2.1.3");
  const program = join(fake.dir, "later", "gpiomon");
  const { gpio, changes } = monitor({ program, chip: "gpiochip0", line: 17, debounceMs: 0 });
  gpio.start();
  try {
    const error = await waitFor("the error", () => gpio.status().lastError);
    assert.match(error, /^Cannot watch the lock button: Cannot use gpiomon: .*No such file/);
    await Deno.mkdir(join(fake.dir, "later"));
    await Deno.copyFile(fake.program, program);
    await Deno.chmod(program, 0o755);
    await fake.started(1);
    await waitFor("no error", () => gpio.status().lastError === null);
    await fake.edge("gpiochip0", 17, "rising");
    await waitFor("the edge", () => changes.length === 1);
  } finally {
    await gpio.stop();
  }
});

Deno.test("GpioMonitor refuses a bad line or chip", () => {
  const onChange = () => {};
  assert.throws(
    () => new GpioMonitor({ name: "lock button", chip: "gpiochip0", line: -1, onChange }),
    /Invalid GPIO line for the lock button: -1/,
  );
  assert.throws(
    () => new GpioMonitor({ name: "ignition", chip: " ", line: 3, onChange }),
    /Invalid GPIO chip for the ignition/,
  );
});
