import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectSession } from "../../src/app/project-session.js";
import { layoutFor } from "../../src/project-layout.js";
import { ingest } from "../../src/store/ingest.js";
import type { Store } from "../../src/store/open-store.js";
import { listEvents } from "../../src/store/queries/replay-events.js";
import { readJournal } from "../helpers/journal.js";
import { FIXTURES, TestRepo } from "../helpers/repo.js";
import { pgliteBackend } from "../helpers/stores.js";
import { copyRepo } from "./replay-history.js";

const fixture = readFileSync(path.join(FIXTURES, "replay/epochs.mjs"), "utf8");
const RUNS = [["seed=3"], ["seed=5"]];
const ANCHOR = '  flor.log("val_error", error);\n';
/** Reads only registered state: its iterations skip the inner loop. */
const NORM = 'flor.log("w_norm", Math.hypot(...model.w));';
/** Changes registered state through a call: skipping is tried, the end-of-iteration check refuses it, and the run replays from its start. */
const COUNT = 'flor.log("evaluations", countEvaluation(stats));';

const withStatement = (statement: string) => fixture.replace(ANCHOR, `${ANCHOR}  ${statement}\n`);

/** Per recorded run, what today's script with `statement` logs under `name` run from scratch (one value per epoch). */
function fromScratch(statement: string, name: string): number[][] {
  const repo = TestRepo.create({ "train.mjs": withStatement(statement) });
  try {
    return RUNS.map((kwargs) => {
      const before = new Set(journals(repo.dir));
      const result = repo.runScript("train.mjs", ["--kwargs", ...kwargs]);
      if (result.status !== 0) throw new Error(result.stderr);
      const journal = journals(repo.dir).find((file) => !before.has(file))!;
      return readJournal(path.join(repo.dir, ".flor/journals", journal)).flatMap((r) =>
        r.k === "log" && r.n === name ? [r.v as number] : [],
      );
    });
  } finally {
    repo.remove();
  }
}

function journals(dir: string): string[] {
  try {
    return readdirSync(path.join(dir, ".flor/journals"));
  } catch {
    return [];
  }
}

let recorded: TestRepo;
const scratch = mkdtempSync(path.join(tmpdir(), "flor-inner-skip-"));

beforeAll(() => {
  recorded = TestRepo.create({ "train.mjs": fixture });
  for (const kwargs of RUNS) {
    const result = recorded.runScript("train.mjs", ["--kwargs", ...kwargs]);
    if (result.status !== 0) throw new Error(result.stderr);
  }
});

afterAll(() => {
  recorded.remove();
  rmSync(scratch, { recursive: true, force: true });
});

describe("replaying an epoch-level statement without the inner loops", () => {
  let store: Store | undefined;
  let session: ProjectSession | undefined;

  async function open(name: string, statement: string): Promise<{ session: ProjectSession; store: Store; root: string }> {
    const root = copyRepo(recorded, path.join(scratch, name));
    TestRepo.at(root).write("train.mjs", withStatement(statement));
    const backend = pgliteBackend();
    await backend.prepare(root);
    store = await backend.open(layoutFor(root));
    await ingest(store, layoutFor(root));
    session = await ProjectSession.over(store, layoutFor(root), { workers: 2, lifetime: "command" });
    return { session, store, root };
  }

  afterAll(async () => {
    await session?.close();
    await store?.close();
  });

  it("restores each epoch's end state instead of running its steps, and answers the from-scratch values bit for bit", async () => {
    const truth = fromScratch(NORM, "w_norm");
    const { session, store, root } = await open("norm", NORM);
    const query = "SELECT seed, epoch, w_norm FROM train.mjs ORDER BY seed, epoch";
    const plan = (await session.planQuery(query)).replay!;
    for (const run of plan.runs) {
      expect(run.mode).toBe("checkpoints");
      expect(run.notes.join("\n")).toMatch(/w_norm: 6 epoch iteration\(s\) skip their inner loops.*val_error re-logged to compare/);
    }
    const answer = await session.answerQuery(query, "wait");
    expect(answer.job).toMatchObject({ status: "done", divergences: 0, redone: 0, unverified: 0 });
    expect(answer.rows).toEqual(truth.flatMap((values, run) => values.map((w_norm, epoch) => ({ seed: [3, 5][run], epoch, w_norm }))));
    // No step ran: the replay journals open epochs only, and re-log val_error (compared, equal) but not the losses.
    const replays = path.join(root, ".flor/replays");
    const records = readdirSync(replays, { recursive: true })
      .map(String)
      .filter((file) => file.endsWith(".jsonl"))
      .flatMap((file) => readJournal(path.join(replays, file)));
    expect(records.some((r) => r.k === "ctx" && r.n === "step")).toBe(false);
    expect(records.filter((r) => r.k === "log").map((r) => (r as { n: string }).n)).toEqual(
      expect.arrayContaining(["w_norm", "val_error"]),
    );
    expect(records.some((r) => r.k === "log" && (r as { n: string }).n !== "w_norm" && (r as { n: string }).n !== "val_error")).toBe(false);
    const events = await listEvents(store.db, answer.job!.id);
    const done = events.filter((e) => e.kind === "task-done").map((e) => e.data as { compared: number });
    expect(done.reduce((sum, d) => sum + d.compared, 0)).toBe(12);
    await session.close();
    await store.close();
  }, 120_000);

  it("falls back to running the epochs in full when the code after the inner loop changes registered state", async () => {
    const truth = fromScratch(COUNT, "evaluations");
    expect(truth[0]).toEqual([1, 2, 3, 4, 5, 6]);
    const { session, store } = await open("count", COUNT);
    const query = "SELECT seed, epoch, evaluations FROM train.mjs WHERE epoch >= 2 ORDER BY seed, epoch";
    const answer = await session.answerQuery(query, "wait");
    expect(answer.job).toMatchObject({ status: "done", unverified: 0 });
    expect(answer.rows).toEqual(
      truth.flatMap((values, run) => values.slice(2).map((evaluations, i) => ({ seed: [3, 5][run], epoch: i + 2, evaluations }))),
    );
    const events = await listEvents(store.db, answer.job!.id);
    const fallbacks = events.filter((e) => e.kind === "task-fallback").map((e) => (e.data as { reason: string }).reason);
    expect(fallbacks.length).toBeGreaterThan(0);
    for (const reason of fallbacks) expect(reason).toMatch(/changes "stats"/);
  }, 120_000);
});
