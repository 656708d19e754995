// bench/scale: runs that log every step for millions of steps (issue 21). One run of 5 M values on the
// embedded store, and a project of several such runs on PostgreSQL: recording, `flor ingest` as a whole
// process (rows/s, peak RSS), store bytes per value, and the latency of typical questions through FlorQL
// next to hand-written SQL over the same tables, plus `flor query` as a whole process.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CompiledQuery, sql, type RawBuilder } from "kysely";
import { Flor } from "../src/sdk/flor.js";
import { layoutFor, type ProjectLayout } from "../src/project-layout.js";
import { openStore, type Store } from "../src/store/open-store.js";
import { ProjectSession } from "../src/app/project-session.js";
import { bindProject } from "../src/store/project-store.js";
import { parseQuery } from "../src/florql/parse.js";
import { analyze } from "../src/florql/analyze.js";
import { compileSql } from "../src/florql/compile-sql.js";
import { QueryCatalog } from "../src/florql/catalog.js";
import { planQuery } from "../src/florql/query-service.js";
import { benchRepo, median, versusHandSql } from "./bench-repo.js";
import { postgresServer } from "./postgres-server.js";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/flor.js");
const line = (text: string): void => void process.stdout.write(`${text}\n`);
const EPOCHS = 100;
/** Runs in the PostgreSQL project (FLOR_BENCH_SCALE_RUNS; 10 runs are 50 M values). */
const PG_RUNS = Number(process.env["FLOR_BENCH_SCALE_RUNS"] ?? 10);
/** Steps per epoch (FLOR_BENCH_SCALE_STEPS, for a quick try; 50,000 makes a run of 5 M values). */
const STEPS = Number(process.env["FLOR_BENCH_SCALE_STEPS"] ?? 50_000);

interface Shape {
  epochs: number;
  steps: number;
}

/**
 * Records runs of train.ts with the SDK as a training loop would: `loss` every step, `acc` and `lr`
 * every epoch; run k has the argument seed = k. Returns the recording rate (loop iterations with their
 * log per second) and the journals' bytes.
 */
async function record(dir: string, script: string, runs: number, { epochs, steps }: Shape) {
  // The training loops alone: a run's start (git snapshot) and end (commit) are timed in bench/record.
  let seconds = 0;
  for (let k = 0; k < runs; k++) {
    const flor = new Flor({ script, argv: ["--kwargs", `seed=${k}`], autoCommit: false });
    const seed = flor.arg("seed", 0);
    const started = performance.now();
    for (const epoch of flor.loop("epoch", epochs)) {
      for (const step of flor.loop("step", steps)) flor.log("loss", 1 / (1 + epoch + step / steps) + seed * 1e-3);
      flor.log("acc", 0.5 + epoch / (2 * epochs));
      flor.log("lr", 0.1 / (1 + epoch));
    }
    seconds += (performance.now() - started) / 1000;
    await flor.commit();
  }
  const journals = layoutFor(dir).journalsDir;
  const bytes = readdirSync(journals).reduce((sum, file) => sum + statSync(path.join(journals, file)).size, 0);
  return { values: runs * epochs * (steps + 2), iterationsPerSecond: (runs * epochs * steps) / seconds, journalBytes: bytes, seconds };
}

/** `flor ingest` as a whole process (GNU time for its peak RSS), as a user runs it. */
function ingestProcess(dir: string, url: string) {
  const started = performance.now();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, bin, "ingest"], {
    cwd: dir,
    env: { ...process.env, FLOR_DATABASE_URL: url, FLOR_NO_DAEMON: "1" },
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  const seconds = (performance.now() - started) / 1000;
  const summary = /(\d+) rows in ([\d.]+) s/.exec(result.stdout);
  if (result.status !== 0 || summary === null) throw new Error(`flor ingest failed: ${result.stdout}${result.stderr}`);
  const peakRssMB = Number(result.stderr.trim().split("\n").pop()) / 1024;
  return { rows: Number(summary[1]), ingestSeconds: Number(summary[2]), processSeconds: seconds, peakRssMB };
}

function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(full) : statSync(full).size;
  }
  return total;
}

/** The bytes of the tables (and their indexes) that hold logged values and loop structure. */
async function tableBytes(store: Store): Promise<number> {
  const { rows } = await sql<{ bytes: string }>`select sum(pg_total_relation_size(c.oid))::bigint as bytes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'flor' and c.relname in ('log_values', 'log_streams', 'loop_ranges', 'log_names')`.execute(store.db);
  return Number(rows[0]!.bytes);
}

/** A question through FlorQL and the hand-written SQL over the same tables that gives the same rows. */
interface Question {
  name: string;
  florql: string;
  hand: RawBuilder<unknown>;
  /** The target inside the query (issue 21), in ms. */
  targetMs?: number;
  /** For an aggregate FlorQL answers from per-stream partial aggregates: the same by hand over every value. */
  everyValue?: RawBuilder<unknown>;
}

const streams = sql`flor.log_streams s join flor.loop_ranges r on r.run_id = s.run_id and r.ctx_id = s.ctx_id
  join flor.log_values v on v.stream_id = s.id`;
const step = sql`r.iteration + (v.ctx_id - r.ctx_id)`;
const epoch = sql`(r.outer_dims ->> 'epoch')::int`;

function questions(seed: number | null, aggregateTargetMs: number): Question[] {
  const where = seed === null ? "" : ` AND seed = ${seed}`;
  const run =
    seed === null
      ? sql``
      : sql` and s.run_id = (select a.run_id from flor.args a where a.name = 'seed' and a.value = ${JSON.stringify(seed)}::jsonb)`;
  // acc and lr are logged in the epoch's context, the enclosing one of a step range.
  const perEpoch = (name: string, alias: string) => sql`left join flor.log_streams ${sql.id(`${alias}s`)}
    on ${sql.id(`${alias}s`, "run_id")} = s.run_id and ${sql.id(`${alias}s`, "name")} = ${name} and ${sql.id(`${alias}s`, "ctx_id")} = r.parent_ctx_id
    left join flor.log_values ${sql.id(alias)} on ${sql.id(alias, "stream_id")} = ${sql.id(`${alias}s`, "id")}`;
  return [
    {
      name: "point filter",
      florql: `SELECT epoch, step, loss WHERE epoch = 7 AND step < 3${where}`,
      hand: sql`select ${epoch} as epoch, ${step} as step, v.num as loss from ${streams}
        where s.name = 'loss' and r.name = 'step' and ${epoch} = 7 and r.iteration < 3 and ${step} < 3${run}
        order by s.run_id, 1, 2`,
      targetMs: 100,
    },
    {
      name: "range filter",
      florql: `SELECT epoch, step, loss WHERE epoch BETWEEN 40 AND 49 AND step BETWEEN 20000 AND 20999${where}`,
      hand: sql`select ${epoch} as epoch, ${step} as step, v.num as loss from ${streams}
        where s.name = 'loss' and r.name = 'step' and ${epoch} between 40 and 49
          and r.iteration <= 20999 and r.iteration + r.count > 20000 and ${step} between 20000 and 20999${run}
        order by s.run_id, 1, 2`,
    },
    {
      name: "per-epoch aggregate",
      florql: `SELECT epoch, count(loss), avg(loss)${seed === null ? "" : ` WHERE seed = ${seed}`} GROUP BY epoch`,
      // By hand as FlorQL answers it: the partial aggregates ingest keeps per stream, combined per epoch.
      hand: sql`select ${epoch} as epoch, sum(x.present_count), sum(x.num_sum) / sum(x.number_count)
        from flor.log_streams s join flor.loop_ranges r on r.run_id = s.run_id and r.ctx_id = s.ctx_id
        join flor.log_stream_stats x on x.stream_id = s.id where s.name = 'loss'${run} group by 1 order by 1`,
      targetMs: aggregateTargetMs,
      everyValue: sql`select ${epoch} as epoch, count(v.num), avg(v.num) from ${streams}
        where s.name = 'loss'${run} group by 1 order by 1`,
    },
    {
      name: "3-name pivot",
      florql: `SELECT epoch, step, loss, acc, lr WHERE epoch = 7${where}`,
      hand: sql`select ${epoch} as epoch, ${step} as step, v.num as loss, a.num as acc, l.num as lr from ${streams}
        ${perEpoch("acc", "a")} ${perEpoch("lr", "l")}
        where s.name = 'loss' and r.name = 'step' and ${epoch} = 7${run} order by s.run_id, 1, 2`,
    },
  ];
}

/** Whether the point filter's compiled SQL reads the values through an index (EXPLAIN), and its plan's scans. */
async function pointPlan(store: Store, layout: ProjectLayout, florql: string): Promise<string> {
  const catalog = await QueryCatalog.load(await bindProject(store, layout.projid), layout.root);
  const compiled = compileSql(analyze(parseQuery(florql), florql, catalog), layout.projid, null).query.compile(store.db);
  const result = await store.db.executeQuery<{ "QUERY PLAN": string }>(
    CompiledQuery.raw(`explain ${compiled.sql}`, [...compiled.parameters]),
  );
  const scans = result.rows
    .map((row) => /(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan) (?:using (\S+) )?on (\S+)/.exec(row["QUERY PLAN"]))
    .filter((match) => match !== null)
    .map((match) => `${match![1]}${match![2] === undefined ? "" : ` (${match![2]})`} on ${match![3]}`);
  return [...new Set(scans)].join(", ");
}

async function answer(store: Store, layout: ProjectLayout, kind: string, list: Question[], rounds: number) {
  const results: Record<string, unknown> = {};
  const session = await ProjectSession.over(store, layout, { workers: 1, lifetime: "command" });
  for (const question of list) {
    const { name, florql, targetMs } = question;
    const { rows, florqlMs: f, handMs: h } = await versusHandSql(store, session, question, rounds);
    const target = targetMs === undefined ? "" : ` (target ≤ ${targetMs} ms: ${f <= targetMs ? "met" : "NOT met"})`;
    line(`| ${kind} | ${name}: \`${florql}\` (${rows} rows) | ${h.toFixed(1)} ms | ${f.toFixed(1)} ms${target} | ${(f / h).toFixed(2)}× |`);
    results[name] = { florql, rows, handMs: h, florqlMs: f, targetMs };
    if (question.everyValue !== undefined) {
      const values = await everyValue(store, layout, florql, question.everyValue, rounds);
      line(
        `| ${kind} | ${name} reading every value instead: FlorQL's value path, hand-written SQL | ${values.handMs.toFixed(1)} ms | ${values.florqlMs.toFixed(1)} ms | ${(values.florqlMs / values.handMs).toFixed(2)}× |`,
      );
      results[`${name}, every value`] = values;
    }
  }
  return results;
}

/**
 * An aggregate as it was answered before per-stream partial aggregates: FlorQL's SQL that reads every
 * value (compiled with `partialAggregates: false`, run without parsing and planning), and by hand.
 */
async function everyValue(store: Store, layout: ProjectLayout, florql: string, hand: RawBuilder<unknown>, rounds: number) {
  // Planned as FlorQL plans it (the run scope its WHERE pushes down), then compiled the old way.
  const plan = await planQuery(await bindProject(store, layout.projid), layout, florql, { workers: 1 });
  const compiled = compileSql(plan.analyzed, layout.projid, plan.runIds, new Map(), { partialAggregates: false });
  const florTimes: number[] = [];
  const handTimes: number[] = [];
  for (let round = 0; round < Math.min(rounds, 3); round++) {
    let started = performance.now();
    await compiled.query.execute(store.db);
    florTimes.push(performance.now() - started);
    started = performance.now();
    await hand.execute(store.db);
    handTimes.push(performance.now() - started);
  }
  return { florqlMs: median(florTimes), handMs: median(handTimes) };
}

/** `flor query` as a whole process (no daemon), median of three, with its peak RSS. */
function queryProcess(dir: string, url: string, florql: string) {
  const times: number[] = [];
  let rss = 0;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, bin, "query", florql, "--replay", "none", "--format", "csv"], {
      cwd: dir,
      env: { ...process.env, FLOR_DATABASE_URL: url, FLOR_NO_DAEMON: "1" },
      encoding: "utf8",
    });
    times.push(performance.now() - started);
    if (result.status !== 0) throw new Error(`flor query failed: ${result.stderr}`);
    rss = Math.max(rss, Number(result.stderr.trim().split("\n").pop()) / 1024);
  }
  return { ms: median(times), peakRssMB: rss };
}

async function scaleCase(kind: "PGlite" | "PostgreSQL", url: string, runs: number, shape: Shape, targets: { aggregateMs: number }) {
  const repo = benchRepo();
  const layout = layoutFor(repo.dir);
  try {
    const recorded = await record(repo.dir, repo.script, runs, shape);
    // The store exists, as after any first command: PGlite's initdb is not part of ingesting.
    await (await openStore(layout, { databaseUrl: url })).close();
    const ingested = ingestProcess(repo.dir, url);
    const values = recorded.values;
    const rate = values / ingested.ingestSeconds;
    const store = await openStore(layout, { databaseUrl: url });
    let results: Record<string, unknown>;
    try {
      const tables = await tableBytes(store);
      const storeBytes = kind === "PGlite" ? directoryBytes(layout.databaseDir) : tables;
      const label = `${runs} run${runs === 1 ? "" : "s"} × ${shape.epochs} epochs × ${shape.steps.toLocaleString("en")} steps`;
      line(`\n### ${kind}: ${label} (${(values / 1e6).toFixed(1)} M values)\n`);
      line("| measure | value | target |");
      line("| --- | --- | --- |");
      line(
        `| recording (SDK, \`flor.loop\` iteration + \`flor.log\`) | ${(recorded.iterationsPerSecond / 1e6).toFixed(2)} M iterations/s; journal ${(recorded.journalBytes / 2 ** 20).toFixed(0)} MiB (${(recorded.journalBytes / values).toFixed(1)} bytes/value) | |`,
      );
      line(
        `| \`flor ingest\` (whole process) | ${Math.round(rate / 1000)}k values/s (${values.toLocaleString("en")} values, ${ingested.rows.toLocaleString("en")} rows in ${ingested.ingestSeconds.toFixed(1)} s; process ${ingested.processSeconds.toFixed(1)} s) | ≥ ${kind === "PGlite" ? "200k" : "400k"} rows/s |`,
      );
      line(`| peak RSS of \`flor ingest\` | ${ingested.peakRssMB.toFixed(0)} MB | ≤ 300 MB |`);
      line(
        `| store bytes per value | ${(storeBytes / values).toFixed(1)} (${kind === "PGlite" ? "the whole .flor/db directory" : "tables and indexes"}; values, streams and loop ranges with indexes: ${(tables / values).toFixed(1)}) | ≤ 60 |`,
      );
      const list = questions(runs === 1 ? null : Math.floor(runs / 2), targets.aggregateMs);
      const plan = await pointPlan(store, layout, list[0]!.florql);
      line(`| EXPLAIN of the point filter's SQL | ${plan} | index scans |`);
      line("\n| store | question | hand-written SQL (median) | FlorQL (median, parse to rows) | ratio |");
      line("| --- | --- | --- | --- | --- |");
      const answers = await answer(store, layout, kind, list, 5);
      results = {
        runs,
        ...shape,
        values,
        recorded,
        ingested,
        valuesPerSecond: rate,
        storeBytes,
        tableBytes: tables,
        pointPlan: plan,
        answers,
      };
    } finally {
      await store.close();
    }
    const whole = queryProcess(repo.dir, url, questions(runs === 1 ? null : 0, 0)[0]!.florql);
    line(
      `\n\`flor query\` point filter as a whole process (no daemon, store exists): ${whole.ms.toFixed(0)} ms, peak RSS ${whole.peakRssMB.toFixed(0)} MB`,
    );
    return { ...results, queryProcess: whole };
  } finally {
    repo.remove();
  }
}

export async function benchScale(): Promise<Record<string, unknown>> {
  line("\n## bench/scale\n");
  const results: Record<string, unknown> = {};
  results["pglite"] = await scaleCase("PGlite", "", 1, { epochs: EPOCHS, steps: STEPS }, { aggregateMs: 1500 });
  const server = PG_RUNS > 0 ? postgresServer() : null;
  if (server === null) line("\nPostgreSQL: skipped, no server (set FLOR_BENCH_DATABASE_URL or install PostgreSQL)");
  else {
    try {
      results["postgres"] = await scaleCase("PostgreSQL", server.url, PG_RUNS, { epochs: EPOCHS, steps: STEPS }, { aggregateMs: 1000 });
    } finally {
      server.stop();
    }
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`\n${JSON.stringify(await benchScale(), null, 2)}\n`);
}
