import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../../src/florql/analyze.js";
import { QueryCatalog } from "../../src/florql/catalog.js";
import { compileSql } from "../../src/florql/compile-sql.js";
import { explainText } from "../../src/florql/explain.js";
import { parseQuery } from "../../src/florql/parse.js";
import { planQuery } from "../../src/florql/query-service.js";
import { encodeRecord } from "../../src/journal/encode.js";
import type { JournalRecord, RunRecord } from "../../src/journal/records.js";
import { layoutFor, type ProjectLayout } from "../../src/project-layout.js";
import { Flor } from "../../src/sdk/flor.js";
import { ingest } from "../../src/store/ingest.js";
import type { Store } from "../../src/store/open-store.js";
import { bindProject } from "../../src/store/project-store.js";
import { readJournal, replayHeader } from "../helpers/journal.js";
import { TestRepo } from "../helpers/repo.js";
import { backends } from "../helpers/stores.js";

const EPOCHS = 3;
/** Enough steps that a run's step contexts span two stored ranges (RANGE_SPAN is 4096 contexts). */
const STEPS = 1500;

/** Floats equal within 1e-12 relative (sums added in another order differ in their last bits); NaN equals NaN. */
function close(a: unknown, b: unknown): boolean {
  if (typeof a !== "number" || typeof b !== "number") return Object.is(a, b) || JSON.stringify(a) === JSON.stringify(b);
  if (Number.isNaN(a) || Number.isNaN(b) || !Number.isFinite(a) || !Number.isFinite(b)) return Object.is(a, b);
  return Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
}

/** Rows with numbers as numbers (drivers return some as text). */
const numeric = (rows: Record<string, unknown>[]) =>
  rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([k, v]) => [k, typeof v === "string" && /^-?[\d.e+-]+$|^NaN$|Infinity$/.test(v) ? Number(v) : v]),
    ),
  );

describe.each(backends())("aggregates from per-stream partial aggregates on $name", (backend) => {
  let repo: TestRepo;
  let layout: ProjectLayout;
  let store: Store;
  const headers: RunRecord[] = [];
  const journals: string[] = [];

  /** Run `seed` logs per step a number (NaN once in run 1) and a value of mixed types, and per epoch loss again and acc. */
  const recordRun = async (seed: number): Promise<RunRecord> => {
    const flor = new Flor({ script: path.join(repo.dir, "train.mjs"), argv: ["--kwargs", `seed=${seed}`], autoCommit: false });
    const s = flor.arg("seed", 0);
    for (const epoch of flor.loop("epoch", EPOCHS)) {
      for (const step of flor.loop("step", STEPS)) {
        flor.log("loss", seed === 1 && epoch === 1 && step === 7 ? NaN : 1 / (1 + epoch + step / STEPS) + s * 0.1);
        flor.log("mixed", step % 5 === 0 ? "text" : step % 7 === 0 ? null : step % 11 === 0 ? { a: step } : step * 0.5 - s);
      }
      flor.log("loss", 100 + epoch);
      flor.log("acc", 0.5 + epoch / 10);
    }
    // The same loop again without inner loops: one range of its iterations, whose values differ in epoch.
    for (const epoch of flor.loop("epoch", 4)) flor.log("loss", -epoch);
    flor.log("final", seed);
    const journal = flor.run!.journal;
    await flor.commit();
    const header = readJournal(journal)[0];
    if (header?.k !== "run") throw new Error("no run header");
    journals.push(journal);
    return header;
  };

  /** A whole-script replay from the start of `run` that fills `grad` per epoch and logs a different epoch-level loss (so its values are unverified). */
  const replayOf = (run: RunRecord): JournalRecord[] => [
    replayHeader(run, 1, ["grad"]),
    ...Array.from({ length: EPOCHS }, (_, epoch): JournalRecord[] => [
      { k: "ctx", id: epoch + 1, p: null, n: "epoch", i: epoch },
      { k: "log", c: epoch + 1, n: "grad", v: epoch * 0.25 },
      { k: "log", c: epoch + 1, n: "grad", v: epoch === 1 ? "large" : -epoch },
      { k: "log", c: epoch + 1, n: "loss", v: 100 + epoch + (epoch === 2 ? 1 : 0) },
    ]).flat(),
    { k: "end", status: "ok", exit: 0, s: 0.01 },
  ];

  beforeAll(async () => {
    repo = TestRepo.create({ "train.mjs": "" });
    layout = layoutFor(repo.dir);
    await backend.prepare(repo.dir);
    for (const seed of [0, 1, 2]) headers.push(await recordRun(seed));
    store = await backend.open(layout);
  }, 120_000);

  afterAll(async () => {
    await store.close();
    await backend.cleanup();
    repo.remove();
  });

  /** The kept partial aggregates next to the same aggregates over the stored values. */
  const statsAgainstValues = async () => {
    const kept = await sql<Record<string, unknown>>`select stream_id, value_count, present_count, number_count, num_sum, num_min, num_max,
        unverified_count from flor.log_stream_stats order by stream_id`.execute(store.db);
    const recomputed = await sql<Record<string, unknown>>`select stream_id, count(*) as value_count,
        count(*) filter (where num is not null or (value is not null and value <> 'null'::jsonb)) as present_count,
        count(num) as number_count, sum(num) as num_sum, min(num) as num_min, max(num) as num_max,
        count(*) filter (where unverified) as unverified_count
        from flor.log_values group by stream_id order by stream_id`.execute(store.db);
    return { kept: numeric(kept.rows), recomputed: numeric(recomputed.rows) };
  };

  const expectExactStats = async () => {
    const { kept, recomputed } = await statsAgainstValues();
    expect(kept.length).toBe(recomputed.length);
    expect(kept.length).toBeGreaterThan(0);
    kept.forEach((row, i) => {
      for (const [key, value] of Object.entries(recomputed[i]!))
        expect(close(row[key], value), `${key} of stream ${row["stream_id"]}`).toBe(true);
    });
  };

  /** A query's rows both ways: combining partial aggregates (which it must, or not, per `fast`) and reading every value. */
  const bothWays = async (text: string, fast: boolean) => {
    const catalog = await QueryCatalog.load(await bindProject(store, layout.projid), layout.root);
    const analyzed = analyze(parseQuery(text), text, catalog);
    const combined = compileSql(analyzed, layout.projid, null);
    expect(combined.path.plan !== null, combined.path.plan === null ? combined.path.reason : text).toBe(fast);
    const values = compileSql(analyzed, layout.projid, null, new Map(), { partialAggregates: false });
    const [a, b] = [numeric((await combined.query.execute(store.db)).rows), numeric((await values.query.execute(store.db)).rows)];
    return { combined: a, values: b };
  };

  const expectSame = async (text: string, fast = true) => {
    const { combined, values } = await bothWays(text, fast);
    expect(values.length, text).toBeGreaterThan(0);
    expect(combined.length, text).toBe(values.length);
    combined.forEach((row, i) => {
      expect(Object.keys(row), text).toEqual(Object.keys(values[i]!));
      for (const [key, value] of Object.entries(values[i]!))
        expect(close(row[key], value), `${text}: row ${i} ${key}: ${row[key]} vs ${value}`).toBe(true);
    });
    return combined;
  };

  const QUERIES = [
    "SELECT epoch, count(loss), avg(loss) GROUP BY epoch",
    "SELECT seed, epoch, count(*), count(loss), sum(loss), min(loss), max(loss) GROUP BY seed, epoch ORDER BY seed, epoch",
    "SELECT count(mixed), sum(mixed), avg(mixed), min(mixed), max(mixed), count(*)",
    "SELECT seed, count(mixed), avg(mixed) GROUP BY seed ORDER BY seed DESC",
    "SELECT epoch, max(loss) - min(loss) AS spread GROUP BY epoch ORDER BY spread DESC",
    "SELECT epoch, avg(loss) WHERE epoch >= 1 AND seed < 2 GROUP BY epoch",
    "SELECT epoch, count(loss) WHERE epoch IN (0, 2) AND vid IS NOT NULL GROUP BY epoch",
    "SELECT epoch % 2 AS parity, sum(loss) GROUP BY epoch % 2",
    "SELECT seed, count(final), sum(final) GROUP BY seed",
    "SELECT tstamp, avg(acc) GROUP BY tstamp",
  ];
  const FALLBACKS = [
    "SELECT step, avg(loss) GROUP BY step",
    "SELECT epoch, avg(loss) WHERE step < 10 GROUP BY epoch",
    "SELECT epoch, avg(loss) WHERE loss > 0.5 GROUP BY epoch",
    "SELECT epoch, count(DISTINCT loss) GROUP BY epoch",
    "SELECT epoch, avg(loss * 2) GROUP BY epoch",
    "SELECT epoch, avg(loss), avg(acc) GROUP BY epoch",
    "SELECT epoch, loss__verified, count(loss) GROUP BY epoch, loss__verified",
    "SELECT epoch, first(loss) GROUP BY epoch",
  ];

  it("keeps exact partial aggregates through a journal ingested in small batches and resumed after it grew", async () => {
    // Run 2's journal arrives in two parts: the first ingest reads what was written, the next reads on.
    const journal = journals[2]!;
    const full = readFileSync(journal, "utf8");
    const aside = `${journal}.full`;
    renameSync(journal, aside);
    writeFileSync(journal, full.slice(0, full.lastIndexOf("\n", Math.floor(full.length * 0.6)) + 1));
    await ingest(store, layout, { chunkBytes: 16 * 1024 });
    await expectExactStats();
    copyFileSync(aside, journal);
    await ingest(store, layout, { chunkBytes: 16 * 1024 });
    await expectExactStats();
  });

  it("answers count, sum, avg, min and max by outer loops, run columns and args as reading every value does", async () => {
    for (const text of QUERIES) await expectSame(text);
    // Loss logged per epoch as well as per step: streams of one epoch combine their aggregates, the
    // range of the second epoch loop's iterations is read value by value.
    const [first] = await expectSame("SELECT epoch, count(loss), max(loss) WHERE seed = 0 GROUP BY epoch");
    expect(first).toMatchObject({ o1: STEPS + 2, o2: 100 });
  });

  it("reads every value for what partial aggregates cannot answer, with the same rows", async () => {
    for (const text of FALLBACKS) await expectSame(text, false);
  });

  it("stays exact with replayed values, unverified ones included, and says which path a query takes", async () => {
    const dir = path.join(layout.replaysDir, "job-1");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "task-1-1.jsonl"), replayOf(headers[0]!).map(encodeRecord).join(""));
    writeFileSync(path.join(dir, "task-1-1.spec.json"), JSON.stringify({ segments: [], final: null }));
    await ingest(store, layout);
    await expectExactStats();
    const rows = await expectSame("SELECT seed, count(grad), sum(grad), avg(grad), min(grad), max(grad) WHERE seed = 0 GROUP BY seed");
    // Six values, five of them numbers; the replay diverged from the run, so they are unverified.
    expect(rows.map((row) => [row["o1"], row["o2"], row["o4"], row["f0"]])).toEqual([[6, -1.25, -2, false]]);
    await expectSame("SELECT epoch, count(grad), avg(grad) WHERE seed = 0 GROUP BY epoch", false);
    await expectSame("SELECT epoch, grad__verified, count(grad) WHERE seed = 0 GROUP BY epoch, grad__verified", false);

    const project = await bindProject(store, layout.projid);
    const fast = await planQuery(project, layout, "SELECT epoch, count(loss), avg(loss) GROUP BY epoch", { workers: 1 });
    expect(explainText(fast)).toContain(
      "path: combines per-stream partial aggregates of loss kept at ingest; streams whose own loop is epoch, over more than one iteration, read their values",
    );
    const slow = await planQuery(project, layout, "SELECT step, avg(loss) GROUP BY step", { workers: 1 });
    expect(explainText(slow)).toContain("path: reads every value (step is the innermost loop of loss: its index differs per value)");
  });

  it("rebuilds them with the store", async () => {
    await ingest(store, layout, { rebuild: true });
    await expectExactStats();
    await expectSame(QUERIES[1]!);
  });
});
