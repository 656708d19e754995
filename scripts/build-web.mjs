// Bundles the browser pages `flor serve` ships (GraphiQL, the dashboard) into dist/web/<page>/, from npm packages
// only, so the pages load nothing from outside the server. Part of `npm run build`; skipped when nothing
// it reads has changed since the last bundle (the stamp holds a hash of its inputs).
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, "dist/web");

/** Each page: its entry and extra entries (web workers), bundled into dist/web/<name>/. */
const PAGES = [
  {
    name: "graphiql",
    entries: {
      app: "web/graphiql/main.tsx",
      "editor.worker": "monaco-editor/esm/vs/editor/editor.worker.js",
      "json.worker": "monaco-editor/esm/vs/language/json/json.worker.js",
      "graphql.worker": "monaco-graphql/esm/graphql.worker.js",
    },
  },
  { name: "dashboard", entries: { app: "web/dashboard/main.tsx" } },
];

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile())
    .sort();
}

/** What a bundle depends on: the page's sources, the locked package versions, this script. */
function inputsHash(page) {
  const hash = createHash("sha256");
  for (const file of [
    ...filesUnder(path.join(ROOT, "web", page.name)),
    path.join(ROOT, "package-lock.json"),
    fileURLToPath(import.meta.url),
  ]) {
    hash.update(path.relative(ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

for (const page of PAGES) {
  const outdir = path.join(OUT, page.name);
  const stamp = path.join(outdir, ".inputs");
  const hash = inputsHash(page);
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === hash) continue;
  const started = performance.now();
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: Object.entries(page.entries).map(([out, entry]) => ({ out, in: entry })),
    outdir,
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    tsconfig: path.join(ROOT, "web/tsconfig.json"),
    define: { "process.env.NODE_ENV": '"production"' },
    // Monaco's icon font, and any other asset a stylesheet names, become files of the bundle.
    loader: { ".ttf": "file", ".woff": "file", ".woff2": "file", ".svg": "file", ".png": "file" },
    assetNames: "[name]-[hash]",
    legalComments: "linked",
    logLevel: "warning",
  });
  writeFileSync(stamp, hash);
  process.stdout.write(`web: bundled ${page.name} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
