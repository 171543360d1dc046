/**
 * Bundles a TypeScript entry and everything it imports (Hono, `@hono/node-server`) into one
 * ES module that Node.js >= 18.19 runs with no `node_modules`:
 *
 * ```sh
 * deno run -A scripts/bundle.ts [ENTRY [OUTFILE]]
 * ```
 *
 * Default: the recorder (src/node_main.ts) to dist/videorecorder.mjs, with the control page
 * (web/) inlined: `src/server/embedded_web.ts` is replaced by a module holding its files as
 * strings, so `node videorecorder.mjs` needs nothing beside it.
 *
 * esbuild (from npm) does the work with `--platform=node --target=node18 --format=esm`, so
 * syntax Node 18 lacks (`using`) is lowered; {@linkcode bundle} then refuses an output that
 * still holds what Node 18 cannot run (`import.meta.main`, `import.meta.dirname`).
 *
 * esbuild does not read deno.json, and Deno keeps npm packages in its own cache without a
 * `node_modules`. So `deno info --json` tells where Deno unpacked each npm package the entry
 * uses; they are linked into a temporary `node_modules` given to esbuild as `nodePaths`, and
 * deno.json's import map entries become esbuild aliases (`@hono/hono` → `hono`).
 *
 * @module
 */

import * as esbuild from "./_esbuild.ts";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** What {@linkcode bundle} wrote. */
export interface BundleReport {
  outfile: string;
  bytes: number;
  /** The npm packages bundled, as name@version. */
  packages: string[];
  /** Milliseconds esbuild took (without `deno info`). */
  buildMs: number;
}

/** What Node 18 cannot parse or does not have, were it left in the output. */
const NODE18_MISSING = [
  /\bimport\.meta\.main\b/,
  /\bimport\.meta\.dirname\b/,
  /\bimport\.meta\.filename\b/,
  /^\s*(await\s+)?using\s+[\w$]+\s*=/m,
  // Methods esbuild does not lower (it changes syntax, not the library): Node 20+ only.
  /\.(toSorted|toReversed|toSpliced|isWellFormed|toWellFormed)\(/,
  /\b(Array\.fromAsync|Object\.groupBy|Map\.groupBy|Promise\.withResolvers)\b/,
];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Bundles `entry` into `outfile` for Node 18.
 *
 * @throws {Error} When esbuild fails, or the output still holds syntax Node 18 lacks.
 */
export async function bundle(entry: string, outfile: string): Promise<BundleReport> {
  const packages = await npmPackages(entry);
  const modules = await Deno.makeTempDir({ prefix: "bundle_modules_" });
  try {
    for (const { name, localPath } of packages) {
      const link = join(modules, name);
      await Deno.mkdir(dirname(link), { recursive: true });
      await Deno.symlink(localPath, link);
    }
    const started = performance.now();
    await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: "node",
      target: "node18",
      format: "esm",
      // Packages written for CommonJS call require() for Node's modules; an ES module has none.
      banner: {
        js: 'import { createRequire as __createRequire } from "node:module";\n' +
          "const require = __createRequire(import.meta.url);",
      },
      nodePaths: [modules],
      alias: await npmAliases(),
      plugins: [npmSpecifiers, embeddedWeb],
      logLevel: "warning",
    });
    const buildMs = Math.round(performance.now() - started);
    const code = await Deno.readTextFile(outfile);
    const missing = NODE18_MISSING.find((pattern) => pattern.test(code));
    if (missing) {
      throw new Error(`Cannot bundle ${entry} for Node 18: the output still holds ${missing}`);
    }
    return {
      outfile,
      bytes: new TextEncoder().encode(code).length,
      packages: packages.map((p) => `${p.name}@${p.version}`),
      buildMs,
    };
  } finally {
    await esbuild.stop();
    await Deno.remove(modules, { recursive: true });
  }
}

interface NpmPackage {
  name: string;
  version: string;
  localPath: string;
}

/** The npm packages `entry` uses, where Deno unpacked them (it fetches what is missing). */
async function npmPackages(entry: string): Promise<NpmPackage[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`Cannot bundle ${entry}: deno info failed: ${stderr}`);
  }
  const info = JSON.parse(new TextDecoder().decode(output.stdout));
  const all = Object.values(info.npmPackages ?? {}) as NpmPackage[];
  const byName = new Map<string, NpmPackage>();
  for (const found of all) {
    const other = byName.get(found.name);
    if (other && other.version !== found.version) {
      throw new Error(
        `Cannot bundle ${entry}: two versions of ${found.name} (${other.version}, ${found.version})`,
      );
    }
    byName.set(found.name, found);
  }
  return [...byName.values()];
}

/** Resolves Deno's `npm:name@range/sub` specifiers as `name/sub` from the linked packages. */
const npmSpecifiers: esbuild.Plugin = {
  name: "npm-specifiers",
  setup(build) {
    build.onResolve({ filter: /^npm:/ }, async (args) => {
      const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)(?:@[^/]*)?(\/.*)?$/.exec(args.path);
      if (!match) return { errors: [{ text: `Cannot resolve ${args.path}` }] };
      const resolved = await build.resolve(match[1] + (match[2] ?? ""), {
        kind: args.kind,
        resolveDir: args.resolveDir,
      });
      return resolved.errors.length ? { errors: resolved.errors } : { path: resolved.path };
    });
  },
};

/** The control page's files the server serves, inlined into `src/server/embedded_web.ts`. */
async function webFiles(): Promise<string[]> {
  const modules: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, "web", "js"))) {
    if (entry.isFile && /^[a-z0-9_]+\.js$/.test(entry.name)) modules.push(`js/${entry.name}`);
  }
  return ["index.html", "app.js", "style.css", ...modules.sort()];
}

/** Replaces `src/server/embedded_web.ts` with one that holds `web/`'s files as strings. */
const embeddedWeb: esbuild.Plugin = {
  name: "embedded-web",
  setup(build) {
    const module = join(ROOT, "src", "server", "embedded_web.ts");
    build.onLoad({ filter: /[\\/]embedded_web\.ts$/ }, async (args) => {
      if (resolve(args.path) !== module) return undefined;
      const files: Record<string, string> = {};
      const names = await webFiles();
      for (const name of names) {
        files[name] = await Deno.readTextFile(join(ROOT, "web", name));
      }
      return {
        contents: `export const EMBEDDED_WEB = Object.freeze(${JSON.stringify(files)});\n`,
        loader: "js",
        watchFiles: names.map((name) => join(ROOT, "web", name)),
      };
    });
  },
};

/** deno.json's `"x": "npm:name@range"` entries as esbuild aliases `x` → `name`. */
async function npmAliases(): Promise<Record<string, string>> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const aliases: Record<string, string> = {};
  for (const [key, target] of Object.entries(config.imports ?? {}) as [string, string][]) {
    const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)(?:@[^/]*)?\/?$/.exec(target);
    if (!match || key.endsWith("/")) continue;
    if (key !== match[1]) aliases[key] = match[1];
  }
  return aliases;
}

if (import.meta.main) {
  const [entry = "src/node_main.ts", outfile = "dist/videorecorder.mjs"] = Deno.args;
  try {
    const report = await bundle(entry, outfile);
    console.error(
      `bundle: ${report.outfile}: ${(report.bytes / 1024).toFixed(0)} KiB with ` +
        `${report.packages.join(", ") || "no npm package"} in ${report.buildMs} ms`,
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    Deno.exit(1);
  }
}
