import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectSession } from "../../src/app/project-session.js";
import { layoutFor } from "../../src/project-layout.js";
import { ingest } from "../../src/store/ingest.js";
import type { Store } from "../../src/store/open-store.js";
import { listEvents } from "../../src/store/queries/replay-events.js";
import type { TestRepo } from "../helpers/repo.js";
import { backends } from "../helpers/stores.js";
import { copyRepo } from "./replay-history.js";
import { recordUnverifiable, unregisteredFromScratch } from "./verified-history.js";

let recorded: TestRepo;
let truth: number[][];
const scratch = mkdtempSync(path.join(tmpdir(), "flor-verification-"));

beforeAll(() => {
  recorded = recordUnverifiable();
  truth = unregisteredFromScratch();
});

afterAll(() => {
  recorded.remove();
  rmSync(scratch, { recursive: true, force: true });
});

const UNREGISTERED = "SELECT seed, epoch, w1 FROM unregistered.mjs WHERE epoch >= 3 ORDER BY seed, epoch";
const NONDETERMINISTIC = "SELECT epoch, w0, w0__verified FROM nondeterministic.mjs WHERE epoch >= 2 ORDER BY epoch";

describe.each(backends())("replay that is exact or marked, on $name", (backend) => {
  let store: Store;
  let session: ProjectSession;

  beforeAll(async () => {
    const root = copyRepo(recorded, path.join(scratch, backend.name));
    await backend.prepare(root);
    store = await backend.open(layoutFor(root));
    await ingest(store, layoutFor(root));
    // A command's session: it runs (or, on a server's store, works through the queue) the replays it waits for.
    session = await ProjectSession.over(store, layoutFor(root), { workers: 2, lifetime: "command" });
  }, 120_000);

  afterAll(async () => {
    await session?.close();
    await store?.close();
    await backend.cleanup();
  });

  it("answers exactly the from-scratch values when the script keeps unregistered state, and reports the divergence and the redo", async () => {
    const plan = await session.planQuery(UNREGISTERED);
    expect(plan.replay!.runs.map((r) => r.mode)).toEqual(["checkpoints", "checkpoints"]);
    const answer = await session.answerQuery(UNREGISTERED, "wait");
    const job = answer.job!;
    expect(job).toMatchObject({ status: "done", unverified: 0 });
    // Bit for bit: the values a run of today's script from scratch logs, not the replay from a checkpoint's.
    expect(answer.rows).toEqual(truth.flatMap((w1, run) => [3, 4].map((epoch) => ({ seed: [3, 5][run], epoch, w1: w1[epoch] }))));
    expect(answer.unverified).toEqual([]);
    expect(job.redone).toBe(job.tasks.total);

    const report = (await session.jobReport(job.id))!;
    expect(report.runs).toHaveLength(job.tasks.total);
    for (const run of report.runs) {
      expect(run).toMatchObject({ filename: "unregistered.mjs", redone: true, unverified: 0 });
      expect(run.diagnosis).toMatchObject({ start: null, unregistered: ["rng"], checkpoints: { names: ["loss"] } });
      expect(Object.keys(run.diagnosis.checkpoints!.first.coordinates)).toEqual(["epoch", "step"]);
      expect(run.diagnosis.checkpoints!.first.coordinates["epoch"]).toBe(3);
      expect(run.diagnosis.checkpoints!.maxAbs).toBeGreaterThan(0);
      expect(run.diagnosis.cause).toMatch(/not registered with flor\.checkpointing.*the loop changes rng/);
    }
    expect(report.divergenceCount).toBe(job.divergences);
    expect(report.divergences.length).toBe(report.divergenceCount);
    for (const d of report.divergences) {
      expect(d).toMatchObject({ filename: "unregistered.mjs", name: "loss", stage: "checkpoints" });
      expect(d.coordinates["epoch"]).toBeGreaterThanOrEqual(3);
      expect(d.absolute).toBe(Math.abs((d.replayed as number) - (d.recorded as number)));
    }
    const events = await listEvents(store.db, job.id);
    const diverged = events.filter((e) => e.kind === "task-diverged");
    expect(diverged.map((e) => (e.data as { stage: string; action: string }).stage)).toEqual(report.runs.map(() => "checkpoints"));
    expect(diverged.every((e) => /from its start/.test((e.data as { action: string }).action))).toBe(true);
    const done = events.filter((e) => e.kind === "task-done").map((e) => e.data as { redone?: boolean; verified?: boolean });
    expect(done.every((d) => d.redone === true && d.verified === true)).toBe(true);

    // Asked again: the same answer, from the store, with no replay and nothing left to plan.
    const again = await session.answerQuery(UNREGISTERED, "wait");
    expect(again.job).toBeNull();
    expect(again.rows).toEqual(answer.rows);
    expect((await session.planQuery(UNREGISTERED)).replay?.tasks ?? []).toEqual([]);
  }, 180_000);

  it("stores a nondeterministic script's values marked unverified, and says so on every answer", async () => {
    const answer = await session.answerQuery(NONDETERMINISTIC, "wait");
    const job = answer.job!;
    expect(job).toMatchObject({ status: "done", redone: 1, unverified: 2 });
    expect(answer.rows.map((row) => [row["epoch"], typeof row["w0"], row["w0__verified"]])).toEqual([
      [2, "number", false],
      [3, "number", false],
    ]);
    expect(answer.unverified).toEqual([{ name: "w0", rows: 2 }]);
    const report = (await session.jobReport(job.id))!;
    expect(report.runs).toHaveLength(1);
    expect(report.runs[0]).toMatchObject({
      redone: true,
      unverified: 2,
      diagnosis: { checkpoints: { names: ["loss"] }, start: { names: ["loss"] } },
    });
    expect(report.runs[0]!.diagnosis.cause).toMatch(/does not repeat itself/);
    expect(new Set(report.divergences.map((d) => d.stage))).toEqual(new Set(["checkpoints", "start"]));

    // The marks are stored: a later answer with no replay knows them, aggregated too.
    const later = await session.answerQuery(NONDETERMINISTIC, "none");
    expect(later.job).toBeNull();
    expect(later.rows).toEqual(answer.rows);
    expect(later.unverified).toEqual([{ name: "w0", rows: 2 }]);
    const counted = await session.answerQuery(
      "SELECT count(*) AS n, max(w0) AS top FROM nondeterministic.mjs WHERE w0__verified = false",
      "none",
    );
    expect(counted.rows).toEqual([{ n: 2, top: Math.max(...answer.rows.map((row) => row["w0"] as number)) }]);
    expect(counted.unverified).toEqual([{ name: "w0", rows: 1 }]);
    // Values the run recorded are verified, and an answer of only those warns of nothing.
    const recordedOnly = await session.answerQuery(
      "SELECT epoch, step, loss, loss__verified FROM nondeterministic.mjs WHERE epoch = 0",
      "none",
    );
    expect(recordedOnly.rows.map((row) => row["loss__verified"])).toEqual([true, true, true]);
    expect(recordedOnly.unverified).toEqual([]);
    // flor dataframe knows them too: a `__verified` column, asked for or not.
    const frame = await session.dataframe(["w0"]);
    expect(frame.columns).toContain("w0__verified");
    expect(frame.unverified).toEqual([{ name: "w0", rows: 2 }]);
    expect(frame.rows.map((row) => row["w0__verified"])).toEqual([false, false]);
  }, 180_000);
});
