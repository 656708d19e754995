import { cpSync, existsSync, mkdtempSync } from "node:fs";
import path from "node:path";
import { inject } from "vitest";
import { layoutFor, type ProjectLayout } from "../../src/project-layout.js";
import { openStore, type Store } from "../../src/store/open-store.js";
import { dropDatabase, freshDatabaseUrl } from "./postgres.js";

/** A store backend under test: the embedded PGlite default, and a real PostgreSQL server. */
export interface Backend {
  name: "pglite" | "postgres";
  /** Prepares an empty store for the repository at `root`; returns the environment a `flor` child process needs. */
  prepare(root: string): Promise<NodeJS.ProcessEnv>;
  open(layout: ProjectLayout): Promise<Store>;
  cleanup(): Promise<void>;
}

let template: string | null = null;

/**
 * An initialised, migrated PGlite data directory made once per test worker; copying it is much faster
 * than PGlite's initdb for every test.
 */
async function pgliteTemplate(): Promise<string> {
  if (template !== null && existsSync(template)) return template;
  // In the run's scratch directory, which the global teardown removes (workers can be killed before their exit hooks run).
  const root = mkdtempSync(path.join(inject("scratchDir"), "pglite-template-"));
  const store = await openStore(layoutFor(root), { databaseUrl: "" });
  await store.close();
  template = layoutFor(root).databaseDir;
  return template;
}

export function pgliteBackend(): Backend {
  return {
    name: "pglite",
    async prepare(root) {
      cpSync(await pgliteTemplate(), layoutFor(root).databaseDir, { recursive: true });
      return { FLOR_DATABASE_URL: "" };
    },
    open: (layout) => openStore(layout, { databaseUrl: "" }),
    async cleanup() {},
  };
}

export function postgresBackend(baseUrl: string): Backend {
  const urls: string[] = [];
  let current = "";
  return {
    name: "postgres",
    async prepare() {
      current = await freshDatabaseUrl(baseUrl);
      urls.push(current);
      return { FLOR_DATABASE_URL: current };
    },
    open: (layout) => openStore(layout, { databaseUrl: current }),
    async cleanup() {
      for (const url of urls.splice(0)) await dropDatabase(url);
    },
  };
}

/** Both backends when a PostgreSQL server is available to the suite (CI always has one). */
export function backends(): Backend[] {
  const url = inject("pgUrl");
  return url ? [pgliteBackend(), postgresBackend(url)] : [pgliteBackend()];
}
