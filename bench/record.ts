// bench/record: what recording costs a training run, and how fast journals reach the store.
// Each figure is compared with a baseline measured in the same process run (see README, Benchmarks).
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql, type Kysely } from "kysely";
import { Flor } from "../src/sdk/flor.js";
import { layoutFor } from "../src/project-layout.js";
import { openStore } from "../src/store/open-store.js";
import { ingest } from "../src/store/ingest.js";
import { noTracking } from "../examples/iris/training.js";
import { benchRepo, median } from "./bench-repo.js";
import { postgresServer } from "./postgres-server.js";
import type { LoopConfig } from "./record-loop-child.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const results: Record<string, unknown> = {};
const line = (text: string): void => void process.stdout.write(`${text}\n`);
/** Pairs of runs (flor, no-op) per loop and variant. */
const PAIRS = 5;
/**
 * Pairs for the loops issue 19 sets targets on: their ratios are within 1-2 % of 1, and single runs on this
 * VM differ by up to 30 %, so 5 pairs could not tell 1.02 from 1.05 (the same variant gave 1.001 and 1.044).
 */
const TARGET_PAIRS = 21;

/** A variant of a loop: flor with these checkpoint settings (the baseline is the loop with flor replaced by a no-op object). */
interface Variant {
  label: string;
  checkpoint: boolean;
  maxOverhead?: number;
}

interface LoopRun {
  loopMs: number;
  cpuMs: number;
  blockedMs: number;
  checkpointThreadMs: number;
  insideMs: number;
  commitMs: number;
  policy: { taken: number; skipped: number; fg: number; bg: number } | null;
}

const EVERY_EPOCH: Variant = { label: "checkpoint every epoch", checkpoint: true };
const BOUNDED: Variant = { label: "`maxOverhead: 0.01`", checkpoint: true, maxOverhead: 0.01 };
const NO_CHECKPOINTS: Variant = { label: "no checkpointing", checkpoint: false };

/** Runs bench/record-loop-child.ts in a process of its own. */
function loopRun(mode: "plain" | "flor" | "calibrate", script: string, config: LoopConfig): LoopRun {
  const tsx = path.join(here, "../node_modules/tsx/dist/cli.mjs");
  const out = execFileSync(process.execPath, [tsx, path.join(here, "record-loop-child.ts"), mode, script, JSON.stringify(config)], {
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").at(-1)!) as LoopRun;
}

/** Reps of an n×n mat-vec that take about `stepMs` in a fresh process (median of three calibrations). */
function repsFor(script: string, n: number, stepMs: number): number {
  const calibrations = [0, 1, 2].map(
    () => (loopRun("calibrate", script, { stateBytes: n * n * 8, n, reps: 1, epochs: 0, steps: 0 }) as unknown as { repMs: number }).repMs,
  );
  return Math.max(1, Math.round(stepMs / median(calibrations)));
}

/**
 * What recording costs a training loop, end to end: the loop's wall time with flor (each variant) and
 * with flor replaced by a no-op object, each run in a process of its own, alternating in one process
 * tree (the order flips every pair), `pairs` pairs; a ratio is the median of the pairs' ratios (this
 * VM's speed drifts by 10 % and more between seconds; runs seconds apart share the drift). On a machine
 * whose cores other tenants keep busy, wall time is mostly waiting for a core, so the loop's time on a
 * core of its own is compared too: the training thread's CPU time plus the time it was blocked (Linux's
 * schedstat; the time it waited for a core is left out). The checkpoint thread's CPU time is what it
 * can take from the training thread when no core is idle for it. The time inside flor's calls comes
 * from one more run per variant that times them.
 */
async function loopOverhead(
  name: string,
  shape: { stateMb: number; stepMs: number; n: number; epochs: number; steps: number },
  variants: Variant[],
  pairs: number,
): Promise<void> {
  const repo = benchRepo();
  const stateBytes = Math.round((shape.stateMb * 2 ** 20) / 8) * 8;
  const reps = repsFor(repo.script, shape.n, shape.stepMs);
  const config = (variant?: Variant): LoopConfig => ({
    stateBytes,
    n: shape.n,
    reps,
    epochs: shape.epochs,
    steps: shape.steps,
    ...(variant === undefined ? {} : { checkpoint: variant.checkpoint }),
    ...(variant?.maxOverhead === undefined ? {} : { maxOverhead: variant.maxOverhead }),
  });
  const plain: LoopRun[] = [];
  const runs = variants.map(() => [] as LoopRun[]);
  loopRun("plain", repo.script, config()); // warms the file cache and tsx's
  for (let pair = 0; pair < pairs; pair++) {
    const order = [-1, ...variants.keys()];
    for (const index of pair % 2 === 0 ? order : order.reverse()) {
      if (index < 0) plain.push(loopRun("plain", repo.script, config()));
      else runs[index]!.push(loopRun("flor", repo.script, config(variants[index])));
    }
  }
  const inside = variants.map((variant) => loopRun("flor", repo.script, { ...config(variant), inside: true }));
  repo.remove();
  // On a core: the step the loop was calibrated to, whatever other tenants did to the wall time.
  const stepMs = median(plain.map((r) => r.cpuMs + r.blockedMs)) / (shape.epochs * shape.steps);
  const plainMs = median(plain.map((r) => r.loopMs));
  const rows = variants.map((variant, index) => {
    const mine = runs[index]!;
    const wall = mine.map((r, pair) => r.loopMs / plain[pair]!.loopMs);
    const onCore = (r: LoopRun): number => r.cpuMs + r.blockedMs;
    return {
      variant: variant.label,
      plainMs,
      florMs: median(mine.map((r) => r.loopMs)),
      endToEnd: median(wall),
      endToEndRange: [Math.min(...wall), Math.max(...wall)],
      onCore: median(mine.map((r, pair) => onCore(r) / onCore(plain[pair]!))),
      blockedMs: median(mine.map((r) => r.blockedMs)),
      insidePercent: (inside[index]!.insideMs / plainMs) * 100,
      checkpoints: median(mine.map((r) => r.policy?.taken ?? 0)),
      checkpointThreadPercent: (median(mine.map((r) => r.checkpointThreadMs)) / plainMs) * 100,
      commitMs: median(mine.map((r) => r.commitMs)),
    };
  });
  results[`loop_${name}`] = { ...shape, reps, stepMs, pairs, load: loadavg()[0], rows };
  const epochSeconds = (stepMs * shape.steps) / 1000;
  for (const row of rows) {
    line(
      `| ${shape.stateMb} MB state, ${stepMs.toFixed(stepMs < 0.1 ? 3 : 1)} ms steps, ${shape.epochs} × ${shape.steps} steps (${epochSeconds.toFixed(epochSeconds < 0.1 ? 3 : 2)} s epochs), ${row.variant} ` +
        `| ${row.plainMs.toFixed(0)} ms | ${row.florMs.toFixed(0)} ms | **${row.endToEnd.toFixed(3)}×** (${row.endToEndRange[0]!.toFixed(2)}–${row.endToEndRange[1]!.toFixed(2)}) ` +
        `| ${row.onCore.toFixed(3)}× (blocked ${row.blockedMs.toFixed(0)} ms) | ${row.insidePercent.toFixed(2)} % ` +
        `| ${row.checkpoints} (checkpoint thread CPU: ${row.checkpointThreadPercent.toFixed(1)} % of the loop; commit ${row.commitMs.toFixed(0)} ms) |`,
    );
  }
}

/** Sustained flor.log calls per second, journal writes included, against a function that only returns its value. */
function logRate(calls: number): void {
  const repo = benchRepo();
  const flor = new Flor({ script: repo.script, argv: [], autoCommit: false });
  flor.log("warm-up", 0);
  const rates: number[] = [];
  const baseRates: number[] = [];
  for (let trial = 0; trial < 3; trial++) {
    let t = performance.now();
    for (const _ of flor.loop("epoch", 10)) for (let i = 0; i < calls / 10; i++) flor.log("loss", i * 1e-3);
    rates.push(calls / ((performance.now() - t) / 1000));
    t = performance.now();
    let sink = 0;
    for (const _ of noTracking.loop("epoch", 10)) for (let i = 0; i < calls / 10; i++) sink += noTracking.log("loss", i * 1e-3);
    baseRates.push(calls / ((performance.now() - t) / 1000));
    if (sink < 0) line("unreachable");
  }
  void flor.commit();
  repo.remove();
  const rate = median(rates);
  results["log_rate"] = { calls, perSecond: rate, baselinePerSecond: median(baseRates) };
  line(
    `| \`flor.log\` calls/s, journal writes included (${(calls / 1e6).toFixed(0)}M calls) | ${(median(baseRates) / 1e6).toFixed(0)} M/s (identity function) | ${(rate / 1e6).toFixed(2)} M/s | ${(median(baseRates) / rate).toFixed(0)}× slower than doing nothing | target ≥ 1 M/s |`,
  );
}

/**
 * Sustained `flor.loop` iterations per second with one `flor.log` each (a step loop nested in an epoch
 * loop, journal writes included), against the same loops untracked; and how much the recording
 * process's memory grows per million logged values.
 */
function loopRate(iterations: number): void {
  const repo = benchRepo();
  const flor = new Flor({ script: repo.script, argv: [], autoCommit: false });
  flor.log("warm-up", 0);
  const epochs = 10;
  const rates: number[] = [];
  const baseRates: number[] = [];
  const grown: number[] = [];
  for (let trial = 0; trial < 3; trial++) {
    const rssBefore = process.memoryUsage().rss;
    let t = performance.now();
    for (const _ of flor.loop("epoch", epochs)) for (const step of flor.loop("step", iterations / epochs)) flor.log("loss", step * 1e-3);
    rates.push(iterations / ((performance.now() - t) / 1000));
    grown.push(process.memoryUsage().rss - rssBefore);
    t = performance.now();
    let sink = 0;
    for (const _ of noTracking.loop("epoch", epochs))
      for (const step of noTracking.loop("step", iterations / epochs)) sink += noTracking.log("loss", step * 1e-3);
    baseRates.push(iterations / ((performance.now() - t) / 1000));
    if (sink < 0) line("unreachable");
  }
  void flor.commit();
  repo.remove();
  const rate = median(rates);
  const perMillion = Math.max(0, median(grown)) / (iterations / 1e6);
  results["loop_rate"] = { iterations, perSecond: rate, baselinePerSecond: median(baseRates), rssGrowthPerMillionValues: perMillion };
  line(
    `| \`flor.loop\` iteration + one \`flor.log\`, journal writes included (${(iterations / 1e6).toFixed(0)}M iterations in a nested loop) | ${(median(baseRates) / 1e6).toFixed(0)} M/s (untracked loops) | ${(rate / 1e6).toFixed(2)} M/s | memory grows ${(perMillion / 2 ** 20).toFixed(1)} MB per million logged values | target ≥ 1 M/s |`,
  );
}

/** Extra resident memory of a training process that records, each configuration in its own process. */
function memory(): void {
  const repo = benchRepo();
  const tsx = path.join(here, "../node_modules/tsx/dist/cli.mjs");
  const rss = (mode: string): number =>
    Math.min(
      ...[0, 1].map(() =>
        Number(
          execFileSync(process.execPath, [tsx, path.join(here, "record-memory-child.ts"), mode, repo.script], { encoding: "utf8" }).trim(),
        ),
      ),
    );
  const plain = rss("none");
  const recorded = rss("flor");
  repo.remove();
  results["memory"] = { plainBytes: plain, florBytes: recorded, addedBytes: recorded - plain };
  line(
    `| peak RSS of a training process (iris, hidden 256, 480 steps) | ${(plain / 2 ** 20).toFixed(0)} MB | ${(recorded / 2 ** 20).toFixed(0)} MB | +${((recorded - plain) / 2 ** 20).toFixed(1)} MB | target < 50 MB |`,
  );
}

/** A journal of ~1M rows: 100 epochs × 100 steps × 100 logged values, plus its loop contexts. */
async function journalOfAMillionRows(): Promise<ReturnType<typeof benchRepo>> {
  const repo = benchRepo();
  const flor = new Flor({ script: repo.script, argv: [], autoCommit: false });
  for (const _ of flor.loop("epoch", 100))
    for (const __ of flor.loop("step", 100)) for (let i = 0; i < 100; i++) flor.log(`metric_${i % 10}`, i * 1e-3);
  await flor.commit();
  return repo;
}

/** Ingest rows/s, against Kysely multi-row INSERTs of the same log rows into the same table and index. */
async function ingestRate(kind: "pglite" | "postgres", url: string): Promise<void> {
  const repo = await journalOfAMillionRows();
  const layout = layoutFor(repo.dir);
  const store = await openStore(layout, { databaseUrl: url });
  const report = await ingest(store, layout);
  const rate = report.rows / report.seconds;

  const rows = await store.db.selectFrom("logs").select(["run_id", "seq", "ctx_id", "name", "num", "value"]).limit(200_000).execute();
  await sql`create table flor.logs_baseline (like flor.logs including all)`.execute(store.db);
  const t = performance.now();
  await store.transaction(async ({ db }) => {
    for (let i = 0; i < rows.length; i += 1000) {
      await (db as unknown as Kysely<{ logs_baseline: (typeof rows)[number] }>)
        .insertInto("logs_baseline")
        .values(rows.slice(i, i + 1000))
        .execute();
    }
  });
  const baseline = rows.length / ((performance.now() - t) / 1000);
  await sql`drop table flor.logs_baseline`.execute(store.db);
  await store.close();
  repo.remove();
  results[`ingest_${kind}`] = { rows: report.rows, seconds: report.seconds, perSecond: rate, baselinePerSecond: baseline };
  line(
    `| ingest into ${kind === "pglite" ? "embedded PGlite" : "PostgreSQL 15 server"} (${(report.rows / 1e6).toFixed(2)}M rows) | ${Math.round(baseline / 1000)}k rows/s (multi-row INSERT) | ${Math.round(rate / 1000)}k rows/s | ${(rate / baseline).toFixed(1)}× | target ≥ ${kind === "pglite" ? "100k" : "200k"} rows/s |`,
  );
}

export async function benchRecord(): Promise<Record<string, unknown>> {
  line("\n## bench/record\n");
  line(
    `End to end, median of ${TARGET_PAIRS} alternating pairs of processes for issue 19's two cases, ${PAIRS} for the others (load average ${loadavg()[0]!.toFixed(1)} at the start):\n`,
  );
  line("| loop | plain | with flor | end to end (range of the pairs) | on a core of its own | inside flor | checkpoints |");
  line("| --- | --- | --- | --- | --- | --- | --- |");
  await loopOverhead(
    "issue_19",
    { stateMb: 1, stepMs: 1, n: 362, epochs: 20, steps: 50 },
    [NO_CHECKPOINTS, EVERY_EPOCH, BOUNDED],
    TARGET_PAIRS,
  );
  for (const stateMb of [1, 10]) {
    await loopOverhead(`fast_${stateMb}mb`, { stateMb, stepMs: 0.03, n: 128, epochs: 20, steps: 500 }, [EVERY_EPOCH, BOUNDED], PAIRS);
    await loopOverhead(`1ms_${stateMb}mb`, { stateMb, stepMs: 1, n: 128, epochs: 20, steps: 50 }, [EVERY_EPOCH, BOUNDED], PAIRS);
    // Steps calibrated to 13 ms come out at 8-13 ms in the loop (the calibration runs in another process): epochs of about 1 s.
    await loopOverhead(
      `10ms_${stateMb}mb`,
      { stateMb, stepMs: 13, n: 128, epochs: 5, steps: 100 },
      [EVERY_EPOCH],
      stateMb === 10 ? TARGET_PAIRS : PAIRS,
    );
  }
  line("\n| what | baseline | with flor | ratio | note |");
  line("| --- | --- | --- | --- | --- |");
  logRate(5_000_000);
  loopRate(5_000_000);
  memory();
  await ingestRate("pglite", "");
  const server = postgresServer();
  if (server === null) line("| ingest into PostgreSQL | skipped: no server (set FLOR_BENCH_DATABASE_URL or install PostgreSQL) | | | |");
  else {
    try {
      await ingestRate("postgres", server.url);
    } finally {
      server.stop();
    }
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`\n${JSON.stringify(await benchRecord(), null, 2)}\n`);
}
