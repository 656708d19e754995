// bench/query: FlorQL latency on a store of 1M+ log rows over 1,000 runs, compared in the same process
// run with hand-written SQL that gives the same answer on the same database; parse + plan time; and the
// peak memory of `flor query` on the embedded store.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { layoutFor, type ProjectLayout } from "../src/project-layout.js";
import { openStore, type Store } from "../src/store/open-store.js";
import { ingest } from "../src/store/ingest.js";
import { ProjectSession } from "../src/app/project-session.js";
import { bindProject } from "../src/store/project-store.js";
import { parseQuery } from "../src/florql/parse.js";
import { analyze } from "../src/florql/analyze.js";
import { compileSql } from "../src/florql/compile-sql.js";
import { QueryCatalog } from "../src/florql/catalog.js";
import { median, versusHandSql } from "./bench-repo.js";
import { postgresServer } from "./postgres-server.js";
import { writeTrainingJournals } from "./synthetic-journals.js";

const RUNS = 1000;
const EPOCHS = 20;
const STEPS = 50;
const ROUNDS = 15;
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/flor.js");
const line = (text: string): void => void process.stdout.write(`${text}\n`);

/** A name's values with their stream's loop range `r` (hand-written SQL over the store's tables). */
const values = (name: string) => sql`flor.log_streams s join flor.loop_ranges r on r.run_id = s.run_id and r.ctx_id = s.ctx_id
  join flor.log_values v on v.stream_id = s.id and s.name = ${name}`;
/** The index of a value's own loop, and of the loop enclosing it. */
const own = sql`(r.iteration + (v.ctx_id - r.ctx_id))`;
const outerEpoch = sql`(r.outer_dims ->> 'epoch')::int`;

/** The typical questions, each with hand-written SQL over the store's tables that gives the same rows. */
const QUERIES: { name: string; florql: string; hand: ReturnType<typeof sql> }[] = [
  {
    name: "filter on args",
    florql: "SELECT lr, epoch, acc WHERE lr < 0.02 ORDER BY lr, epoch",
    hand: sql`select a.value as lr, ${own} as epoch, v.num as acc
      from ${values("acc")} join flor.args a on a.run_id = s.run_id and a.name = 'lr'
      where (a.value #>> '{}')::float8 < 0.02 order by (a.value #>> '{}')::float8, 2`,
  },
  {
    name: "filter on a loop dimension",
    florql: "SELECT epoch, step, loss WHERE epoch = 19 AND step < 5",
    hand: sql`select rn.tstamp, ${outerEpoch} as epoch, ${own} as step, v.num as loss
      from ${values("loss")} join flor.runs rn on rn.id = s.run_id
      where r.name = 'step' and ${outerEpoch} = 19 and r.iteration < 5 and ${own} < 5 order by rn.tstamp, rn.id, 2, 3`,
  },
  {
    name: "pivot of 3 names",
    florql: "SELECT epoch, step, loss, acc, gnorm WHERE opt = 'adam' AND lr < 0.1",
    // acc and gnorm are logged in the epoch's context, the one enclosing a step range.
    hand: sql`select rn.tstamp, ${outerEpoch} as epoch, ${own} as step, v.num as loss, ga.num as acc, gg.num as gnorm
      from ${values("loss")}
      left join flor.log_streams sa on sa.run_id = s.run_id and sa.name = 'acc' and sa.ctx_id = r.parent_ctx_id
      left join flor.log_values ga on ga.stream_id = sa.id
      left join flor.log_streams sg on sg.run_id = s.run_id and sg.name = 'gnorm' and sg.ctx_id = r.parent_ctx_id
      left join flor.log_values gg on gg.stream_id = sg.id
      join flor.runs rn on rn.id = s.run_id
      join flor.args ao on ao.run_id = s.run_id and ao.name = 'opt' join flor.args al on al.run_id = s.run_id and al.name = 'lr'
      where r.name = 'step' and ao.value = '"adam"' and (al.value #>> '{}')::float8 < 0.1 order by rn.tstamp, rn.id, 2, 3`,
  },
  {
    name: "aggregate",
    florql: "SELECT opt, avg(acc) AS mean, max(acc) AS best WHERE epoch = 19 GROUP BY opt",
    hand: sql`select a.value #>> '{}' as opt, avg(v.num) as mean, max(v.num) as best
      from ${values("acc")} join flor.args a on a.run_id = s.run_id and a.name = 'opt'
      where r.name = 'epoch' and r.iteration <= 19 and r.iteration + r.count > 19 and ${own} = 19 group by 1 order by 1`,
  },
];

async function compare(store: Store, layout: ProjectLayout, kind: string): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  const session = await ProjectSession.over(store, layout, { workers: 1, lifetime: "command" });
  for (const question of QUERIES) {
    const { rows, florqlMs: f, handMs: h } = await versusHandSql(store, session, question, ROUNDS);
    const { name } = question;
    line(`| ${kind} | ${name} (${rows} rows) | ${h.toFixed(1)} ms | ${f.toFixed(1)} ms | ${(f / h).toFixed(2)}× |`);
    results[name] = { rows, handMs: h, florqlMs: f, ratio: f / h };
  }
  return results;
}

export async function benchQuery(): Promise<Record<string, unknown>> {
  line(`\n## bench/query (${RUNS} runs × ${EPOCHS} epochs × ${STEPS} steps)\n`);
  const dir = mkdtempSync(path.join(tmpdir(), "flor-query-bench-"));
  execFileSync("git", ["init", "-q", dir]);
  const layout = layoutFor(dir);
  const results: Record<string, unknown> = {};
  try {
    const rows = writeTrainingJournals(layout, {
      runs: RUNS,
      epochs: EPOCHS,
      steps: STEPS,
      vid: null,
      lr: (k) => Math.round((k + 1) * 0.001 * 1000) / 1000,
      gnorm: true,
    });
    line(`${(rows / 1e6).toFixed(2)}M log rows in ${RUNS} journals\n`);
    line("| store | query | hand-written SQL (median) | FlorQL (median, parse to rows) | ratio |");
    line("| --- | --- | --- | --- | --- |");
    const embedded = await openStore(layout, { databaseUrl: "" });
    try {
      await ingest(embedded, layout);
      results["pglite"] = await compare(embedded, layout, "PGlite");
      results["planning"] = await planning(embedded, layout);
    } finally {
      await embedded.close();
    }
    results["peakMemoryMB"] = peakMemory(dir, QUERIES[1]!.florql);
    const server = postgresServer();
    if (server === null) line("| PostgreSQL | skipped: no server | | | |");
    else {
      const store = await openStore(layout, { databaseUrl: server.url });
      try {
        await ingest(store, layout);
        results["postgres"] = await compare(store, layout, "PostgreSQL");
      } finally {
        await store.close();
        server.stop();
      }
    }
    const planningMs = (results["planning"] as { medianMs: number }).medianMs;
    line(
      `\nparse + plan (analysis and SQL, catalog in memory): median ${(planningMs * 1000).toFixed(0)} µs (target < 1 ms: ${planningMs < 1 ? "met" : "NOT met"})`,
    );
    line(`peak memory of \`flor query\` on the embedded store: ${results["peakMemoryMB"] ?? "n/a"} MB (max RSS)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/** Parse + analysis + SQL compilation of each typical query, with the catalog already loaded. */
async function planning(store: Store, layout: ProjectLayout): Promise<{ medianMs: number }> {
  const catalog = await QueryCatalog.load(await bindProject(store, layout.projid), layout.root);
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    for (const { florql } of QUERIES) {
      const started = performance.now();
      const query = parseQuery(florql);
      compileSql(analyze(query, florql, catalog), layout.projid, null).query.compile(store.db);
      times.push(performance.now() - started);
    }
  }
  return { medianMs: median(times.slice(QUERIES.length * 20)) };
}

/** Max RSS of one `flor query` process on the embedded store (GNU time), in MB. */
function peakMemory(dir: string, query: string): number | null {
  const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, bin, "query", query, "--replay", "none", "--format", "csv"], {
    cwd: dir,
    env: { ...process.env, FLOR_DATABASE_URL: "" },
    encoding: "utf8",
    stdio: ["ignore", "ignore", "pipe"],
  });
  const kb = Number(result.stderr?.trim().split("\n").pop());
  return result.status === 0 && Number.isFinite(kb) && kb > 0 ? Math.round(kb / 1024) : null;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`\n${JSON.stringify(await benchQuery(), null, 2)}\n`);
}
