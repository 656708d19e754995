// bench/cli's child: what a cold `flor query` spends its time on, part by part, in one fresh process, on
// the built code (plain node, as the CLI runs). Run in a repository whose store exists and is ingested.
// Prints one JSON object of milliseconds.
import { performance } from "node:perf_hooks";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist");
const query = process.argv[2] ?? "SELECT epoch, loss WHERE epoch = 5";
const ms = {};
let last = performance.now();
const lap = (name) => {
  const now = performance.now();
  ms[name] = now - last;
  last = now;
};

const { openStore } = await import(`${dist}/store/open-store.js`);
const { layoutFor } = await import(`${dist}/project-layout.js`);
const { ProjectSession } = await import(`${dist}/app/project-session.js`);
lap("importStore");
const layout = layoutFor(process.cwd());
// The lock, PGlite's start on the existing data directory, and the check that no migration is pending.
const store = await openStore(layout, { command: "bench" });
lap("openStore");
const { Migrator, sql } = await import("kysely");
const { migrationProvider } = await import(`${dist}/store/migrations.js`);
await sql`select name from flor.kysely_migration order by name`.execute(store.db);
lap("migrationsCheck");
// What every command ran before: Kysely's migrator finding nothing to do.
await new Migrator({ db: store.db, provider: migrationProvider, migrationTableSchema: "flor" }).migrateToLatest();
lap("migrator");
const { ingest } = await import(`${dist}/store/ingest.js`);
lap("importIngest");
await ingest(store, layout);
lap("journalScan");
const session = await ProjectSession.over(store, layout, { workers: 2, lifetime: "command" });
await session.runs();
lap("runs");
await Promise.all([import(`${dist}/florql/query-service.js`), import(`${dist}/florql/explain.js`)]);
lap("importQueryLanguage");
const { QueryCatalog } = await import(`${dist}/florql/catalog.js`);
await QueryCatalog.load(session.project, layout.root);
lap("catalog");
await session.answerQuery(query, "none");
lap("firstQuery");
await session.answerQuery(query, "none");
lap("secondQuery");
await store.close();
lap("close");
await import(`${dist}/replay/replay-plan.js`);
lap("importPropagation");
await import("chevrotain");
lap("importChevrotainEntry");
process.stdout.write(`${JSON.stringify(ms)}\n`);
