import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { layoutFor, type ProjectLayout } from "../../src/project-layout.js";
import { openStore, type Store } from "../../src/store/open-store.js";
import { ingest } from "../../src/store/ingest.js";
import { bindProject } from "../../src/store/project-store.js";
import { requestReplay, runJobLocally, type LocalRunOptions } from "../../src/replay/replay-service.js";
import { planReplay, type ReplayRequest, type ScopePredicate } from "../../src/replay/replay-plan.js";
import { listEvents } from "../../src/store/queries/replay-events.js";
import { TestRepo } from "../helpers/repo.js";
import { copyRepo, RECORDED, recordHistory, valueLine, valuesByHand } from "./replay-history.js";

const NEW_NAMES = ["w_init", "w0_part", "w1", "w1_final"];

let repo: TestRepo;
let truth: string[][];
const scratch = mkdtempSync(path.join(tmpdir(), "flor-replay-test-"));

beforeAll(() => {
  repo = recordHistory();
  truth = valuesByHand(NEW_NAMES);
});

afterAll(() => {
  repo.remove();
  rmSync(scratch, { recursive: true, force: true });
});

/** A fresh copy of the recorded project with its store open and ingested. */
async function project(name: string): Promise<{ root: string; store: Store }> {
  const root = copyRepo(repo, path.join(scratch, name));
  const store = await openStore(layoutFor(root), { databaseUrl: "" });
  await ingest(store, layoutFor(root));
  return { root, store };
}

/** The replayed values of `names`, per recorded run (in recording order), as `name|round|part|value` lines. */
async function storedValues(store: Store, names: string[]): Promise<string[][]> {
  const runs = await store.db.selectFrom("runs").select("id").orderBy("tstamp").execute();
  const rows = await store.db
    .selectFrom("logs as g")
    .leftJoin("loops as l", (j) => j.onRef("l.run_id", "=", "g.run_id").onRef("l.ctx_id", "=", "g.ctx_id"))
    .select(["g.run_id", "g.name", "g.num", "g.value", "l.dims"])
    .where("g.name", "in", names)
    .execute();
  return runs.map(({ id }) =>
    rows
      .filter((r) => r.run_id === id)
      .map((r) => {
        const dims = (r.dims ?? {}) as Record<string, number>;
        return valueLine(r.name, dims["round"] ?? null, dims["part"] ?? null, r.num ?? r.value);
      })
      .sort(),
  );
}

/** Plans a replay and stores it as a job, as `flor replay` does: the plan of a new job, null when the same one runs. */
async function requestJob(store: Store, layout: ProjectLayout, request: ReplayRequest, options: { workers: number }) {
  const project = await bindProject(store, layout.projid);
  const plan = await planReplay(project, layout, request, options);
  const { jobId, fresh } = await requestReplay(project, plan, request);
  return { jobId, plan: fresh ? plan : null };
}

async function runJob(store: Store, layout: ProjectLayout, jobId: number, options: LocalRunOptions) {
  return runJobLocally(await bindProject(store, layout.projid), layout, jobId, options);
}

async function planJob(store: Store, layout: ProjectLayout, request: ReplayRequest, options: { workers: number }) {
  return planReplay(await bindProject(store, layout.projid), layout, request, options);
}

const roundAtLeast =
  (n: number): ScopePredicate =>
  (lookup) => {
    const round = lookup("round");
    return round === undefined ? null : (round as number) >= n;
  };

describe("replay of past versions", () => {
  it("fills every level (before, inside both loops, after) with the values a by-hand run gives, in every version", async () => {
    const { root, store } = await project("all-levels");
    try {
      const layout = layoutFor(root);
      const { jobId, plan } = await requestJob(store, layout, { names: NEW_NAMES }, { workers: 2 });
      expect(plan!.runs.map((r) => r.outcome)).toEqual(RECORDED.map(() => "replay"));
      const job = await runJob(store, layout, jobId, { workers: 2 });
      expect(job.status).toBe("done");
      expect(job.divergences).toBe(0);
      expect(await storedValues(store, NEW_NAMES)).toEqual(truth);
    } finally {
      await store.close();
    }
  });

  it("executes only the iterations in scope, and parallel and serial replays agree", async () => {
    const results: string[][][] = [];
    for (const workers of [1, 2]) {
      const { root, store } = await project(`scope-${workers}`);
      const count = path.join(root, "count.txt");
      process.env.FLOR_TEST_COUNT = count;
      try {
        const layout = layoutFor(root);
        const { jobId } = await requestJob(store, layout, { names: ["w1"], where: roundAtLeast(4), whereText: "round >= 4" }, { workers });
        const job = await runJob(store, layout, jobId, { workers });
        expect(job.status).toBe("done");
        // Rounds 4 and 5 of the 6-round runs, 4..7 of the 8-round run, none of the 4-round run.
        const executed = readFileSync(count, "utf8").trim().split("\n").map(Number).sort();
        expect(executed).toEqual([4, 4, 4, 5, 5, 5, 4, 5, 6, 7].sort());
        results.push(await storedValues(store, ["w1"]));
      } finally {
        delete process.env.FLOR_TEST_COUNT;
        await store.close();
      }
    }
    expect(results[0]).toEqual(results[1]);
    const expected = truth.map((lines) => lines.filter((line) => line.startsWith("w1|") && Number(line.split("|")[1]) >= 4));
    expect(results[0]).toEqual(expected);
  });

  it("replays nothing twice: a wider request replays only what is new, and a repeated one nothing", async () => {
    const { root, store } = await project("twice");
    try {
      const layout = layoutFor(root);
      const first = await requestJob(store, layout, { names: ["w1"], where: roundAtLeast(4), whereText: "round >= 4" }, { workers: 2 });
      await runJob(store, layout, first.jobId, { workers: 2 });
      const wider = await requestJob(store, layout, { names: ["w1"] }, { workers: 2 });
      expect(wider.plan!.runs.map((r) => r.ranges)).toEqual([[[0, 4]], [[0, 4]], [[0, 4]], [[0, 4]], [[0, 4]]]);
      const job = await runJob(store, layout, wider.jobId, { workers: 2 });
      expect(job.divergences).toBe(0);
      expect(await storedValues(store, ["w1"])).toEqual(truth.map((lines) => lines.filter((line) => line.startsWith("w1|"))));
      const again = await planJob(store, layout, { names: ["w1"] }, { workers: 2 });
      expect(again.tasks).toEqual([]);
      expect(again.runs.every((r) => r.outcome === "nothing-to-do")).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("gives a request planned while the same request's job ran that job, once it is done, not a second job", async () => {
    const { root, store } = await project("planned-meanwhile");
    try {
      const layout = layoutFor(root);
      const project = await bindProject(store, layout.projid);
      const request: ReplayRequest = { names: ["w1"], where: roundAtLeast(4), whereText: "round >= 4" };
      const planA = await planReplay(project, layout, request, { workers: 1 });
      const planB = await planReplay(project, layout, request, { workers: 1 });
      expect(planB.tasks.length).toBeGreaterThan(0);
      const a = await requestReplay(project, planA, request);
      expect(a.fresh).toBe(true);
      expect((await runJobLocally(project, layout, a.jobId, { workers: 1 })).status).toBe("done");
      // B was planned before A's values were stored: A answers it.
      expect(await requestReplay(project, planB, request)).toEqual({ jobId: a.jobId, fresh: false });
      // A plan made after A finished sees its values; a request after a failed or older job is a new job.
      const planC = await planReplay(project, layout, request, { workers: 1 });
      expect(planC.tasks).toEqual([]);
      const c = await requestReplay(project, planC, request);
      expect(c.fresh).toBe(true);
      expect(c.jobId).not.toBe(a.jobId);
    } finally {
      await store.close();
    }
  });

  it("reports a run whose propagation declined with the reason, and replays the rest", async () => {
    const { root, store } = await project("declined");
    try {
      // `decay` exists only since v3, as a `let` (not a helper that propagation could bring along).
      const plan = await planJob(store, layoutFor(root), { names: ["decay"] }, { workers: 2 });
      expect(plan.runs.map((r) => r.outcome)).toEqual(["declined", "declined", "declined", "replay", "replay"]);
      expect(plan.runs[0]!.names[0]!.reason).toMatch(/decay/);
      expect(plan.tasks.map((t) => t.runId).sort()).toEqual([plan.runs[3]!.runId, plan.runs[4]!.runId]);
    } finally {
      await store.close();
    }
  });

  it("retries a failing replay once, then reports its error and stores nothing for it", async () => {
    const { root, store } = await project("failing");
    try {
      const layout = layoutFor(root);
      // v1 and v2 have no `v` in their state: the propagated statement throws there (propagation cannot know shapes).
      const { jobId } = await requestJob(store, layout, { names: ["velocity"] }, { workers: 2 });
      const job = await runJob(store, layout, jobId, { workers: 2 });
      expect(job.status).toBe("failed");
      expect(job.tasks.failed).toBeGreaterThanOrEqual(3);
      const events = await listEvents(store.db, jobId);
      const failed = events.filter((e) => e.kind === "task-failed");
      expect(failed.length).toBe(job.tasks.failed);
      expect(JSON.stringify(failed[0]!.data)).toMatch(/TypeError/);
      expect(events.filter((e) => e.kind === "task-retry").length).toBe(failed.length);
      const values = await storedValues(store, ["velocity"]);
      expect(values.slice(0, 3)).toEqual([[], [], []]);
      expect(values[3]!.length).toBe(6);
      expect(values[4]!.length).toBe(8);
    } finally {
      await store.close();
    }
  });

  it("starts from an earlier checkpoint when one is missing, and from the start when none is left", async () => {
    const { root, store } = await project("missing-checkpoint");
    try {
      // w0_part is logged in the inner loop: its rounds run in full, from the checkpoint before them.
      const layout = layoutFor(root);
      const runs = await store.db.selectFrom("runs").select("id").orderBy("tstamp").execute();
      const checkpoints = await store.db
        .selectFrom("checkpoints as c")
        .innerJoin("loops as l", (j) => j.onRef("l.run_id", "=", "c.run_id").onRef("l.ctx_id", "=", "c.ctx_id"))
        .select(["c.run_id", "l.iteration", "c.objects"])
        .execute();
      const objectsOf = (run: number, iteration: number) =>
        Object.values(checkpoints.find((c) => c.run_id === run && c.iteration === iteration)!.objects as Record<string, string>);
      // Run 0: the checkpoint before round 4 is gone; run 3: every checkpoint is gone.
      const remove = (hash: string) => {
        const file = path.join(layout.objectsDir, hash.slice(0, 2), hash.slice(2));
        if (existsSync(file)) unlinkSync(file);
      };
      for (const hash of objectsOf(runs[0]!.id, 3)) remove(hash);
      for (const c of checkpoints.filter((c) => c.run_id === runs[3]!.id))
        for (const hash of Object.values(c.objects as Record<string, string>)) remove(hash);
      const { jobId, plan } = await requestJob(
        store,
        layout,
        { names: ["w0_part"], where: roundAtLeast(4), whereText: "round >= 4" },
        { workers: 2 },
      );
      expect(plan!.runs[0]!.ranges).toEqual([[3, 6]]);
      expect(plan!.runs[0]!.notes.join("\n")).toMatch(/checkpoint of round 3 is missing/);
      expect(plan!.runs[3]!.mode).toBe("from-start");
      expect(plan!.runs[3]!.ranges).toEqual([[0, 6]]);
      const job = await runJob(store, layout, jobId, { workers: 2 });
      expect(job.status).toBe("done");
      const values = await storedValues(store, ["w0_part"]);
      const expected = (run: number) => truth[run]!.filter((line) => line.startsWith("w0_part|"));
      // Extra rounds executed to rebuild the state are stored too: they are right, only not asked for.
      expect(values[0]).toEqual(expected(0).filter((line) => Number(line.split("|")[1]) >= 3));
      expect(values[3]).toEqual(expected(3));
    } finally {
      await store.close();
    }
  });

  it("falls back to replaying the whole script when a checkpoint is corrupt", async () => {
    const { root, store } = await project("corrupt-checkpoint");
    try {
      const layout = layoutFor(root);
      for (const dir of readdirSync(layout.objectsDir)) {
        for (const file of readdirSync(path.join(layout.objectsDir, dir)))
          writeFileSync(path.join(layout.objectsDir, dir, file), "garbage");
      }
      const { jobId } = await requestJob(
        store,
        layout,
        { names: ["w0_part"], where: roundAtLeast(4), whereText: "round >= 4" },
        { workers: 2 },
      );
      const job = await runJob(store, layout, jobId, { workers: 2 });
      expect(job.status).toBe("done");
      const events = await listEvents(store.db, jobId);
      expect(events.filter((e) => e.kind === "task-fallback").length).toBeGreaterThan(0);
      expect(JSON.stringify(events.find((e) => e.kind === "task-fallback")!.data)).toMatch(/corrupt/);
      // Every run replays whole, except the 4-round one, which has no round in scope.
      const expected = truth.map((lines, run) => (run === 1 ? [] : lines.filter((line) => line.startsWith("w0_part|"))));
      expect(await storedValues(store, ["w0_part"])).toEqual(expected);
    } finally {
      await store.close();
    }
  });

  it("retries a killed worker once and stores its values exactly once", async () => {
    const { root, store } = await project("killed");
    process.env.FLOR_TEST_KILL_ONCE = path.join(root, "killed-once");
    // A process of its own per task: a killed warm host is not retried but run again fresh (test/replay/task-hosts.test.ts).
    process.env.FLOR_WARM_TASKS = "0";
    try {
      const layout = layoutFor(root);
      const { jobId } = await requestJob(store, layout, { names: ["w1"] }, { workers: 2 });
      const job = await runJob(store, layout, jobId, { workers: 2 });
      expect(job.status).toBe("done");
      const events = await listEvents(store.db, jobId);
      expect(events.filter((e) => e.kind === "task-retry").map((e) => JSON.stringify(e.data))).toEqual([
        expect.stringMatching(/killed \(SIGKILL\)/),
      ]);
      expect(await storedValues(store, ["w1"])).toEqual(truth.map((lines) => lines.filter((line) => line.startsWith("w1|"))));
    } finally {
      delete process.env.FLOR_TEST_KILL_ONCE;
      delete process.env.FLOR_WARM_TASKS;
      await store.close();
    }
  });

  it("reports values a replay from a checkpoint logs differently as divergences, and stores those of a replay from the start", async () => {
    const drifting = TestRepo.create();
    try {
      drifting.addFixture("../replay/drifting.mjs", "drifting.mjs").commitAll("drifting");
      expect(drifting.runScript("drifting.mjs").status).toBe(0);
      drifting.write(
        "drifting.mjs",
        readFileSync(path.join(drifting.dir, "drifting.mjs"), "utf8").replace(
          'flor.log("x", state.x);',
          'flor.log("x", state.x);\n  flor.log("half", state.x / 2);',
        ),
      );
      const layout = layoutFor(drifting.dir);
      const store = await openStore(layout, { databaseUrl: "" });
      try {
        await ingest(store, layout);
        const { jobId } = await requestJob(
          store,
          layout,
          { names: ["half"], where: roundAtLeast(2), whereText: "round >= 2" },
          { workers: 1 },
        );
        const job = await runJob(store, layout, jobId, { workers: 1 });
        expect(job).toMatchObject({ status: "done", divergences: 2, redone: 1, unverified: 0 });
        const rows = await store.db
          .selectFrom("replay_divergences")
          .select(["name", "recorded", "replayed", "stage"])
          .orderBy("id")
          .execute();
        // Recorded: x = 1 → 2.5 → 5.75 → 11.625 → 21.4375; replayed from round 2 with drift restarting at 0.
        expect(rows.map((r) => [r.name, r.recorded, r.replayed, r.stage])).toEqual([
          ["x", 11.625, 9.625, "checkpoints"],
          ["x", 21.4375, 16.4375, "checkpoints"],
        ]);
        // Those values were refused; the replay from the run's start gives the recorded run's x.
        const half = await store.db.selectFrom("logs").select(["num", "unverified"]).where("name", "=", "half").orderBy("ctx_id").execute();
        expect(half).toEqual([
          { num: 11.625 / 2, unverified: null },
          { num: 21.4375 / 2, unverified: null },
        ]);
      } finally {
        await store.close();
      }
    } finally {
      drifting.remove();
    }
  });
});
