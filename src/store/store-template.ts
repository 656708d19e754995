import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { migrationProvider } from "./migrations.js";

/**
 * A new embedded store starts from a template: an empty store, created and migrated once by `npm run build`
 * and kept as PGlite's data-directory dump in dist/store-template/. Creating a store otherwise runs
 * PostgreSQL's initdb and every migration in WebAssembly: 7–8 s and 830 MB at a load of 4, on the
 * first command of every project (and in every test that makes a store), against about 1 s from the template.
 * A template made by another PGlite or for other migrations is not used (its key differs): the store is then
 * created as before. (The build also remakes it when the migrations' source changes; the key cannot hash
 * their code, which tsc and vitest's esbuild compile to different text.)
 */
const TEMPLATE_DIR = path.resolve(fileURLToPath(import.meta.url), "../../../dist/store-template");
export const TEMPLATE_DUMP = path.join(TEMPLATE_DIR, "store.tar.gz");
export const TEMPLATE_KEY = path.join(TEMPLATE_DIR, "key");

/** The WAL segment size of a new store, in MB (see open-store.ts): a template made with others is not used. */
export const WAL_SEGMENT_MB = 1;

/** What a template must have been made by: this PGlite, and these migrations. */
export async function templateKey(): Promise<string> {
  const migrations = Object.keys(await migrationProvider.getMigrations());
  return createHash("sha256")
    .update(`pglite ${pgliteVersion()}\nwal segments ${WAL_SEGMENT_MB} MB\n${migrations.join("\n")}`)
    .digest("hex");
}

/** The template's dump, when there is one made for this build; null otherwise. */
export async function storeTemplate(): Promise<Blob | null> {
  try {
    if (!existsSync(TEMPLATE_DUMP) || readFileSync(TEMPLATE_KEY, "utf8").split("\n")[0] !== (await templateKey())) return null;
    return new Blob([readFileSync(TEMPLATE_DUMP)]);
  } catch {
    return null;
  }
}

function pgliteVersion(): string {
  // The package's exports hide its package.json: found beside the entry point's dist folder.
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest)) {
      const { name, version } = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string };
      if (name === "@electric-sql/pglite") return version ?? "unknown";
    }
  }
  return "unknown";
}
