import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { layoutFor, type ProjectLayout } from "../../src/project-layout.js";
import { ingest } from "../../src/store/ingest.js";
import { BadLine, decodeRecord } from "../../src/journal/decode.js";
import { encodeRecord } from "../../src/journal/encode.js";
import type { Store } from "../../src/store/open-store.js";
import { dataframe } from "../../src/store/queries/dataframe.js";
import { listRuns } from "../../src/store/queries/runs.js";
import { bindProject } from "../../src/store/project-store.js";
import { ObjectStore } from "../../src/checkpoints/object-store.js";
import { restoreState } from "../../src/checkpoints/object-state.js";
import { backends } from "../helpers/stores.js";
import { TestRepo } from "../helpers/repo.js";

/** The ingested checkpoints with the loop iteration each was taken at. */
function checkpointsOf(store: Store) {
  return store.db
    .selectFrom("checkpoints as c")
    .innerJoin("loops as l", (join) => join.onRef("l.run_id", "=", "c.run_id").onRef("l.ctx_id", "=", "c.ctx_id"))
    .select(["l.name", "l.iteration", "c.objects", "c.bytes", "c.seconds"])
    .orderBy("l.iteration")
    .execute();
}

describe.each(backends())("recording and ingesting into $name", (backend) => {
  let repo: TestRepo;
  let layout: ProjectLayout;
  let store: Store | null = null;
  /** Scripts started in the background, killed after each test even when it fails. */
  const children: ChildProcess[] = [];

  const openFresh = async (): Promise<Store> => {
    store = await backend.open(layout);
    return store;
  };

  beforeEach(async () => {
    repo = TestRepo.create();
    layout = layoutFor(repo.dir);
    await backend.prepare(repo.dir);
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
    await store?.close();
    store = null;
    repo.remove();
  });
  afterAll(() => backend.cleanup());

  /** Runs the nested-loops fixture once; returns its journal and the journal's lines. */
  const recordNestedLoops = (): { file: string; journal: string; lines: string[] } => {
    repo.addFixture("nested-loops.mjs");
    expect(repo.runScript("nested-loops.mjs").status).toBe(0);
    const [file] = readdirSync(layout.journalsDir);
    const journal = path.join(layout.journalsDir, file!);
    return { file: file!, journal, lines: readFileSync(journal, "utf8").split("\n") };
  };

  it("records args from --kwargs cast to the default's type, and defaults otherwise", async () => {
    repo.addFixture("nested-loops.mjs");
    const result = repo.runScript("nested-loops.mjs", ["--kwargs", "population=2", "mutation=1.5", "label=tuned", "elitism=yes"]);
    expect(result.status, result.stderr).toBe(0);
    const db = await openFresh();
    await ingest(db, layout);
    const [run] = await listRuns(await bindProject(db, layout.projid), layout.projid);
    expect(run!.args).toEqual({ population: 2, generations: 2, mutation: 1.5, label: "tuned", elitism: true });
    const sources = await db.db.selectFrom("args").select(["name", "source"]).orderBy("name").execute();
    expect(sources).toEqual([
      { name: "elitism", source: "kwargs" },
      { name: "generations", source: "default" },
      { name: "label", source: "kwargs" },
      { name: "mutation", source: "kwargs" },
      { name: "population", source: "kwargs" },
    ]);
    const summary = await dataframe(await bindProject(db, layout.projid), layout.projid, ["summary"]);
    expect(summary.rows[0]!["summary"]).toEqual({ label: "tuned", elitism: true, best: 20 + 3 * 1.5 });
  });

  it("pivots nested loops with arbitrary names, joining outer values onto inner rows", async () => {
    repo.addFixture("nested-loops.mjs");
    expect(repo.runScript("nested-loops.mjs").status).toBe(0);
    const db = await openFresh();
    await ingest(db, layout);
    const frame = await dataframe(await bindProject(db, layout.projid), layout.projid, ["fitness", "best"]);
    expect(frame.columns).toEqual([
      "projid",
      "tstamp",
      "filename",
      "vid",
      "generation",
      "individual",
      "individual_value",
      "fitness",
      "best",
    ]);
    expect(frame.rows.map((r) => [r["generation"], r["individual"], r["individual_value"], r["fitness"], r["best"]])).toEqual(
      [
        [0, 0, "ann", 11.5, 12],
        [0, 1, "bob", 11.5, 12],
        [0, 2, "cyd", 11.5, 12],
        [1, 0, "ann", 21.5, 22],
        [1, 1, "bob", 21.5, 22],
        [1, 2, "cyd", 21.5, 22],
      ].map(([g, i, v, f]) => [g, i, v, f, g === 0 ? 11.5 : 21.5]),
    );
    expect(frame.rows[0]!["filename"]).toBe("nested-loops.mjs");
    expect(frame.rows[0]!["projid"]).toBe(path.basename(repo.dir));

    const loops = await db.db.selectFrom("loops").select(["name", "depth"]).distinct().orderBy("depth").execute();
    expect(loops).toEqual([
      { name: "generation", depth: 0 },
      { name: "individual", depth: 1 },
    ]);
    const timings = await db.db.selectFrom("loops").select("seconds").execute();
    expect(timings.every((t) => typeof t.seconds === "number" && t.seconds >= 0)).toBe(true);
  });

  it("records async loops and keeps values of any JSON type and non-finite numbers", async () => {
    repo.addFixture("async-loops.mjs");
    repo.write(
      "values.mjs",
      `import { flor } from "flordb";
flor.log("nan", NaN); flor.log("inf", -Infinity); flor.log("list", [1, "two", null]); flor.log("flag", false); flor.log("nothing", null);
flor.log("typed", new Float32Array([0.5, 2]));\n`,
    );
    expect(repo.runScript("async-loops.mjs").status).toBe(0);
    expect(repo.runScript("values.mjs").status).toBe(0);
    const db = await openFresh();
    await ingest(db, layout);
    const sizes = await dataframe(await bindProject(db, layout.projid), layout.projid, ["size"]);
    expect(sizes.rows.map((r) => [r["round_value"], r["batch"], r["size"]])).toEqual([
      ["warmup", 0, "warmup:b0"],
      ["warmup", 1, "warmup:b1"],
      ["main", 0, "main:b0"],
      ["main", 1, "main:b1"],
    ]);
    const values = await dataframe(await bindProject(db, layout.projid), layout.projid, ["nan", "inf", "list", "flag", "nothing", "typed"]);
    expect(values.rows).toHaveLength(1);
    const row = values.rows[0]!;
    expect(Number.isNaN(row["nan"])).toBe(true);
    expect(row["inf"]).toBe(-Infinity);
    expect(row["list"]).toEqual([1, "two", null]);
    expect(row["flag"]).toBe(false);
    expect(row["nothing"]).toBeNull();
    expect(row["typed"]).toEqual([0.5, 2]);
  });

  it("marks a run killed with SIGKILL as incomplete and keeps what it had flushed", async () => {
    repo.addFixture("killable.mjs");
    const child = repo.startScript("killable.mjs");
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("ready")) resolve();
      });
      child.on("exit", () => reject(new Error("the script ended before it was killed")));
    });
    child.kill("SIGKILL");
    await new Promise((resolve) => child.on("close", resolve));
    const db = await openFresh();
    const report = await ingest(db, layout);
    const [run] = await listRuns(await bindProject(db, layout.projid), layout.projid);
    expect(run!.status).toBe("incomplete");
    const losses = await dataframe(await bindProject(db, layout.projid), layout.projid, ["loss"]);
    // Every outermost iteration flushes, so at least the 4 epochs before "ready" are there, whole.
    const epochs = new Set(losses.rows.map((r) => r["epoch"]));
    expect(epochs.size).toBeGreaterThanOrEqual(4);
    for (const epoch of [0, 1, 2, 3]) expect(losses.rows.filter((r) => r["epoch"] === epoch)).toHaveLength(5);
    const checkpoints = await checkpointsOf(db);
    expect(checkpoints.length).toBeGreaterThanOrEqual(1);
    expect(checkpoints.every((c) => c.name === "epoch")).toBe(true);
    expect(report.problems.every((p) => p.includes("unfinished last line"))).toBe(true);
  });

  it("keeps checkpoints that restore a model and plain data in place", async () => {
    repo.addFixture("checkpointed.mjs");
    expect(repo.runScript("checkpointed.mjs").status).toBe(0);
    const db = await openFresh();
    await ingest(db, layout);
    const rows = await checkpointsOf(db);
    expect(rows.map((r) => r.iteration)).toEqual([0, 1, 2]);
    expect(rows.every((r) => Number(r.bytes) > 0 && r.seconds >= 0)).toBe(true);

    // The fixture's arithmetic, replayed here up to the end of epoch 1.
    const expected = [0.5, -0.25, 1];
    for (const epoch of [0, 1])
      for (const batch of [0, 1, 2, 3])
        expected.forEach((w, i) => {
          expected[i] = w * 0.9 + epoch * 0.01 + batch * 0.001;
        });

    class Model {
      weights = new Float64Array([9, 9, 9]);
      loadStateDict(state: { weights: Float64Array }) {
        this.weights.set(state.weights);
      }
      stateDict() {
        return { weights: this.weights };
      }
    }
    const model = new Model();
    const weights = model.weights;
    const history = { seen: [7], totals: new Map([["stale", 1]]), step: -1, extra: true };
    const objects = new ObjectStore(layout.objectsDir);
    const saved = rows[1]!.objects as Record<string, string>;
    restoreState(model, objects.get(saved["model"]!));
    restoreState(history, objects.get(saved["history"]!));
    expect(model.weights).toBe(weights);
    expect([...model.weights]).toEqual(expected);
    expect(history).toEqual({
      seen: [0, 1],
      totals: new Map([
        ["epoch0", expect.any(Number)],
        ["epoch1", expect.any(Number)],
      ]),
      step: 8,
    });
    expect(history.totals.get("epoch1")).toBeCloseTo(
      expected.reduce((a, b) => a + b, 0),
      12,
    );
  });

  it("lets SIGTERM stop a synchronous training loop at once, keeping what was flushed", async () => {
    repo.addFixture("killable.mjs");
    const child = repo.startScript("killable.mjs");
    children.push(child);
    await new Promise<void>((resolve) =>
      child.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("ready")) resolve();
      }),
    );
    const sent = performance.now();
    child.kill("SIGTERM");
    const signal = await new Promise((resolve) => child.on("close", (_code, s) => resolve(s)));
    expect(signal).toBe("SIGTERM");
    expect(performance.now() - sent).toBeLessThan(5000);
    const db = await openFresh();
    await ingest(db, layout);
    expect((await listRuns(await bindProject(db, layout.projid), layout.projid))[0]!.status).toBe("incomplete");
    const losses = await dataframe(await bindProject(db, layout.projid), layout.projid, ["loss"]);
    for (const epoch of [0, 1, 2, 3]) expect(losses.rows.filter((r) => r["epoch"] === epoch)).toHaveLength(5);
  });

  it("records a failed run with its error", async () => {
    repo.addFixture("fails.mjs");
    const result = repo.runScript("fails.mjs");
    expect(result.status).toBe(1);
    const db = await openFresh();
    await ingest(db, layout);
    const run = await db.db.selectFrom("runs").select(["status", "exit_code", "error"]).executeTakeFirstOrThrow();
    expect(run).toEqual({ status: "failed", exit_code: 1, error: "Error: diverged" });
    expect((await dataframe(await bindProject(db, layout.projid), layout.projid, ["loss"])).rows.map((r) => r["loss"])).toEqual([1, 0.5]);
  });

  it("re-ingesting changes nothing, and a rebuild from the journals gives the same data", async () => {
    repo.addFixture("nested-loops.mjs");
    expect(repo.runScript("nested-loops.mjs").status).toBe(0);
    expect(repo.runScript("nested-loops.mjs", ["--kwargs", "generations=3"]).status).toBe(0);
    const db = await openFresh();
    const first = await ingest(db, layout);
    expect(first.runs).toBe(2);
    const snapshot = async () => ({
      logs: await db.db.selectFrom("logs").select(["run_id", "seq", "name", "num", "value"]).orderBy("run_id").orderBy("seq").execute(),
      loops: await db.db.selectFrom("loops").selectAll().orderBy("run_id").orderBy("ctx_id").execute(),
      args: await db.db.selectFrom("args").selectAll().orderBy("run_id").orderBy("name").execute(),
      names: await db.db.selectFrom("log_names").selectAll().orderBy("run_id").orderBy("name").execute(),
    });
    const before = await snapshot();
    const again = await ingest(db, layout);
    expect(again).toMatchObject({ read: 0, runs: 0, rows: 0, problems: [] });
    expect(await snapshot()).toEqual(before);
    const frame = await dataframe(await bindProject(db, layout.projid), layout.projid, ["fitness", "best"]);
    const rebuilt = await ingest(db, layout, { rebuild: true });
    expect(rebuilt.runs).toBe(2);
    expect(await dataframe(await bindProject(db, layout.projid), layout.projid, ["fitness", "best"])).toEqual(frame);
  });

  it("ingests a journal that grows between calls exactly once", async () => {
    const { journal, lines } = recordNestedLoops();
    const cut = Math.floor(lines.length / 2);
    // The run is still going as far as ingestion can tell: its header names this (live) process.
    const header = decodeRecord(lines[0]!);
    if (header instanceof BadLine || header.k !== "run") throw new Error(`not a run header: ${lines[0]}`);
    lines[0] = encodeRecord({ ...header, pid: process.pid, host: hostname() }).trimEnd();
    writeFileSync(journal, `${lines.slice(0, cut).join("\n")}\n`);
    const db = await openFresh();
    await ingest(db, layout);
    expect((await listRuns(await bindProject(db, layout.projid), layout.projid))[0]!.status).toBe("running");
    appendFileSync(journal, lines.slice(cut).join("\n"));
    await ingest(db, layout);
    const whole = await dataframe(await bindProject(db, layout.projid), layout.projid, ["fitness", "best"]);
    expect(whole.rows.map((r) => r["fitness"])).toEqual([11.5, 11.5, 11.5, 21.5, 21.5, 21.5]);
    expect((await listRuns(await bindProject(db, layout.projid), layout.projid))[0]!.status).toBe("ok");
  });

  it("skips malformed lines with a clear message and ingests the valid part", async () => {
    const { file, journal, lines } = recordNestedLoops();
    const fitness = lines.findIndex((l) => l.includes('"fitness"'));
    lines.splice(fitness, 0, '{"k":"log","c":1,"n":"fitness",', '{"k":"log","c":999,"n":"x","v":1}', '{"k":"mystery"}');
    writeFileSync(journal, lines.join("\n"));
    writeFileSync(path.join(layout.journalsDir, "0000-garbage.jsonl"), "this is not a journal\n");
    writeFileSync(path.join(layout.journalsDir, "0001-future.jsonl"), `${lines[0]!.replace('"format":2', '"format":3')}\n`);
    const db = await openFresh();
    const report = await ingest(db, layout);
    expect(report.problems).toEqual([
      expect.stringMatching(/^journals\/0000-garbage\.jsonl:1: not valid JSON \(Unexpected token 'h'/),
      "journals/0000-garbage.jsonl:1: the journal does not start with a run header; nothing in it can be attributed to a run, so it was skipped",
      "journals/0001-future.jsonl:1: the journal does not start with a run header (a run header of journal format 3; this flordb reads formats 1 and 2); nothing in it can be attributed to a run, so it was skipped",
      expect.stringMatching(
        new RegExp(`^journals/${file}:${fitness + 1}: not valid JSON \\(Expected double-quoted property name in JSON at position 31`),
      ),
      `journals/${file}:${fitness + 2}: log "x" refers to loop context 999, which the journal never opened`,
      `journals/${file}:${fitness + 3}: unknown record kind "mystery"`,
    ]);
    const frame = await dataframe(await bindProject(db, layout.projid), layout.projid, ["fitness"]);
    expect(frame.rows).toHaveLength(6);
    expect((await ingest(db, layout)).problems).toEqual([]);
  });
});
