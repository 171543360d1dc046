/** The fake gpiomon (tests/fixtures/bin/gpiomon) set up as one libgpiod version in a temp dir. */
import { join } from "node:path";
import { FAKE_BIN, waitFor } from "../_helpers.ts";

/** The libgpiod versions Debian ships: Bookworm's and Trixie's. */
export const VERSIONS = ["1.6.3", "2.1.3"] as const;

export interface FakeGpio {
  dir: string;
  /** A `gpiomon` wrapper that runs the fake as this version, with these chips. */
  program: string;
  /** Appends an edge for the running fakes to report ("gpiochip0", 17, "falling"). */
  edge(chip: string, line: number, edge: "rising" | "falling"): Promise<void>;
  /** Makes every running fake fail as on a read error. */
  crash(): Promise<void>;
  /** Waits until `count` fakes in all have started watching; returns their logged lines. */
  started(count: number): Promise<string[]>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function fakeGpio(
  version: string,
  options: { chips?: string } = {},
): Promise<FakeGpio> {
  const dir = await Deno.makeTempDir({ prefix: "gpio_" });
  const events = join(dir, "events");
  const log = join(dir, "started.log");
  await Deno.writeTextFile(events, "");
  const program = join(dir, "gpiomon");
  await Deno.writeTextFile(
    program,
    `#!/bin/sh
export FAKE_GPIOMON_VERSION='${version}' FAKE_GPIOMON_EVENTS='${events}' FAKE_GPIOMON_LOG='${log}'
export FAKE_GPIO_CHIPS='${options.chips ?? "gpiochip0:54"}'
exec '${FAKE_BIN}/gpiomon' "$@"
`,
  );
  await Deno.chmod(program, 0o755);
  const started = async () => {
    try {
      return (await Deno.readTextFile(log)).split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  return {
    dir,
    program,
    edge: (chip, line, edge) =>
      Deno.writeTextFile(events, `${chip} ${line} ${edge}\n`, { append: true }),
    crash: () => Deno.writeTextFile(events, "crash\n", { append: true }),
    async started(count) {
      return await waitFor(`${count} gpiomon started`, async () => {
        const lines = await started();
        return lines.length >= count ? lines : undefined;
      }, 20_000);
    },
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}
