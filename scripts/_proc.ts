/**
 * Process accounting from Linux `/proc`, and a shell job whose output can be awaited line by
 * line, for `scripts/bench.ts`.
 *
 * @module
 */

/** CPU times from `/proc/<pid>/stat`, in clock ticks (see {@linkcode clockTicksPerSecond}). */
export interface ProcStat {
  /** Parent process ID. */
  ppid: number;
  /** The process's own user and system time (all its threads). */
  utime: number;
  stime: number;
  /** User and system time of the children it has waited for, and of theirs, recursively. */
  cutime: number;
  cstime: number;
}

/** Memory from `/proc/<pid>/status`, in KiB. */
export interface ProcMemory {
  /** Resident set size now. */
  vmRss: number;
  /** Peak resident set size ("high water mark"). */
  vmHwm: number;
  /**
   * Of VmRSS now: anonymous memory (heap, buffers: what the process really costs), and pages of
   * files (the executable and libraries, shared with other processes and dropped under memory
   * pressure rather than swapped).
   */
  rssAnon: number;
  rssFile: number;
}

/**
 * Parses one `/proc/<pid>/stat` line. The command name (field 2) is in parentheses and may
 * hold spaces or parentheses itself, so fields are counted from the last `)`.
 */
export function parseProcStat(line: string): ProcStat {
  const close = line.lastIndexOf(")");
  // After ")": field 3 (state) is index 0, so field n is index n - 3.
  const fields = line.slice(close + 2).trim().split(" ");
  if (close < 0 || fields.length < 15) {
    throw new TypeError(`Cannot parse /proc stat: ${JSON.stringify(line.slice(0, 120))}`);
  }
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return { ppid: Number(fields[1]), utime, stime, cutime, cstime };
}

/** Reads `/proc/<pid>/stat`. */
export async function readProcStat(pid: number): Promise<ProcStat> {
  return parseProcStat(await Deno.readTextFile(`/proc/${pid}/stat`));
}

/** A running child process, as `/proc` shows it. */
export interface ProcChild {
  pid: number;
  /** Its command line (empty for a zombie). */
  argv: string[];
  stat: ProcStat;
}

/**
 * The running children of `pid`, found by scanning `/proc/<n>/stat` for the parent PID
 * (`/proc/<pid>/task/<tid>/children` needs CONFIG_PROC_CHILDREN, which not every kernel has).
 */
export async function readChildren(pid: number): Promise<ProcChild[]> {
  const children: ProcChild[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = parseProcStat(await Deno.readTextFile(`/proc/${entry.name}/stat`));
      if (stat.ppid !== pid) continue;
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      const argv = cmdline.split("\0");
      if (argv.at(-1) === "") argv.pop();
      children.push({ pid: Number(entry.name), argv, stat });
    } catch {
      // It ended meanwhile.
    }
  }
  return children;
}

/** Reads VmRSS and VmHWM from `/proc/<pid>/status`. */
export async function readProcMemory(pid: number): Promise<ProcMemory> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = (key: string) => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(text);
    if (!match) throw new TypeError(`Cannot find ${key} in /proc/${pid}/status`);
    return Number(match[1]);
  };
  return {
    vmRss: kib("VmRSS"),
    vmHwm: kib("VmHWM"),
    rssAnon: kib("RssAnon"),
    rssFile: kib("RssFile"),
  };
}

/**
 * Context switches of all the process's threads: `voluntary` counts each time a thread went to
 * sleep (for an event loop: about one per wakeup), `involuntary` each time it was preempted.
 */
export async function readContextSwitches(
  pid: number,
): Promise<{ voluntary: number; involuntary: number }> {
  let voluntary = 0;
  let involuntary = 0;
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    let text;
    try {
      text = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/status`);
    } catch {
      continue; // the thread ended meanwhile
    }
    voluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(text)?.[1] ?? 0);
    involuntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)$/m.exec(text)?.[1] ?? 0);
  }
  return { voluntary, involuntary };
}

/** The process's command name (`/proc/<pid>/comm`). */
export async function readProcName(pid: number): Promise<string> {
  return (await Deno.readTextFile(`/proc/${pid}/comm`)).trim();
}

/** Clock ticks per second, the unit of `/proc/<pid>/stat` times (`getconf CLK_TCK`, normally 100). */
export async function clockTicksPerSecond(): Promise<number> {
  const output = await new Deno.Command("getconf", { args: ["CLK_TCK"], stderr: "inherit" })
    .output();
  const ticks = Number(new TextDecoder().decode(output.stdout).trim());
  if (!output.success || !(ticks > 0)) throw new Error("Cannot read CLK_TCK: getconf failed");
  return ticks;
}

/** Quotes one argument for a POSIX shell. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'"'"'`)}'`;
}

/** How a {@linkcode ShellJob} ended. */
export interface ShellJobResult {
  status: Deno.CommandStatus;
  /** Every line it printed on stdout. */
  stdout: string[];
  /** The last lines it printed on stderr. */
  stderr: string[];
}

/** Options for {@linkcode ShellJob}. */
export interface ShellJobOptions {
  /** Working directory. */
  cwd?: string;
  /** Variables added to the environment. */
  env?: Record<string, string>;
  /** Lines of stderr kept. Default 40. */
  stderrLines?: number;
  /** Sees every stderr line; return true to keep it out of the kept tail. */
  onStderrLine?: (line: string) => boolean | void;
}

/**
 * `bash -c script` in its own process group, so {@linkcode kill} reaches everything it
 * started. Stdout is read line by line ({@linkcode line}); the tail of stderr is kept for
 * error messages.
 */
export class ShellJob {
  readonly pid: number;
  /** Resolves once bash has exited and both its outputs are read to the end. */
  readonly done: Promise<ShellJobResult>;
  readonly #child: Deno.ChildProcess;
  readonly #stdout: string[] = [];
  readonly #stderr: string[] = [];
  #ended = false;
  #wake: (() => void)[] = [];

  constructor(script: string, options: ShellJobOptions = {}) {
    this.#child = new Deno.Command("bash", {
      args: ["-c", script],
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    this.pid = this.#child.pid;
    const keep = options.stderrLines ?? 40;
    const stdout = readLines(this.#child.stdout, (line) => {
      this.#stdout.push(line);
      this.#notify();
    }).finally(() => {
      this.#ended = true;
      this.#notify();
    });
    const stderr = readLines(this.#child.stderr, (line) => {
      if (options.onStderrLine?.(line)) return;
      this.#stderr.push(line);
      if (this.#stderr.length > keep) this.#stderr.shift();
    });
    this.done = Promise.all([this.#child.status, stdout, stderr]).then(([status]) => ({
      status,
      stdout: [...this.#stdout],
      stderr: [...this.#stderr],
    }));
  }

  /** The last lines of stderr so far. */
  get stderrTail(): string[] {
    return [...this.#stderr];
  }

  /** The first stdout line starting with `prefix` (without it); waits for it up to `timeoutMs`. */
  async line(prefix: string, timeoutMs: number): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const found = this.#stdout.find((line) => line.startsWith(prefix));
      if (found !== undefined) return found.slice(prefix.length);
      const left = deadline - performance.now();
      if (this.#ended || left <= 0) {
        const why = this.#ended ? "it ended first" : `none within ${timeoutMs} ms`;
        throw new Error(
          `Expected a line starting with "${prefix}" from bash: ${why}` + tail(this.stderrTail),
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Waits for the job to end; false when it is still running after `timeoutMs`. */
  async endsWithin(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) =>
      timer = setTimeout(() => resolve(false), timeoutMs)
    );
    try {
      return await Promise.race([this.done.then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Signals the job's process group; a group already gone is fine. */
  kill(signal: Deno.Signal): void {
    try {
      Deno.kill(-this.pid, signal);
    } catch {
      // ESRCH: nothing left.
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const resolve of wake) resolve();
  }
}

/** Formats stderr lines for the end of an error message. */
export function tail(lines: string[]): string {
  return lines.length ? `\n  stderr:\n    ${lines.join("\n    ")}` : "";
}

async function readLines(
  stream: ReadableStream<Uint8Array>,
  take: (line: string) => void,
): Promise<void> {
  let rest = "";
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split(/\r?\n|\r/);
      rest = lines.pop()!;
      lines.forEach(take);
    }
  } catch {
    // The pipe broke with the process.
  }
  if (rest) take(rest);
}
