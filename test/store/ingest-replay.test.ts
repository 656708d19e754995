import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeRecord } from "../../src/journal/encode.js";
import type { JournalRecord, RunRecord } from "../../src/journal/records.js";
import { layoutFor, type ProjectLayout } from "../../src/project-layout.js";
import { Flor } from "../../src/sdk/flor.js";
import { ingest } from "../../src/store/ingest.js";
import { IncompleteReplay, ingestReplayJournal, replayStart } from "../../src/store/ingest-replay.js";
import type { Store } from "../../src/store/open-store.js";
import { backends } from "../helpers/stores.js";
import { readJournal, replayHeader } from "../helpers/journal.js";
import { TestRepo } from "../helpers/repo.js";

describe.each(backends())("ingesting replay journals into $name", (backend) => {
  let repo: TestRepo;
  let layout: ProjectLayout;
  let store: Store | null = null;

  beforeEach(async () => {
    repo = TestRepo.create({ "train.mjs": "" });
    layout = layoutFor(repo.dir);
    await backend.prepare(repo.dir);
  });
  afterEach(async () => {
    await store?.close();
    store = null;
    repo.remove();
  });
  afterAll(() => backend.cleanup());

  /** Records a run of two epochs that logs `loss`; returns its header. */
  const recordRun = async (): Promise<RunRecord> => {
    const flor = new Flor({ script: path.join(repo.dir, "train.mjs"), argv: [], autoCommit: false });
    for (const epoch of flor.loop("epoch", 2)) flor.log("loss", epoch);
    const journal = flor.run!.journal;
    await flor.commit();
    const header = readJournal(journal)[0];
    if (header?.k !== "run") throw new Error("the journal does not start with its run header");
    return header;
  };

  /** A finished whole-script replay of that run which logs `grad` in both epochs (and `loss` again, when given). */
  const replayOf = (run: RunRecord, task: number, grads: [number, number], losses?: [number, number]): JournalRecord[] => [
    replayHeader(run, task, ["grad"]),
    { k: "ctx", id: 1, p: null, n: "epoch", i: 0 },
    ...(losses === undefined ? [] : [{ k: "log", c: 1, n: "loss", v: losses[0] } as const]),
    { k: "log", c: 1, n: "grad", v: grads[0] },
    { k: "it", id: 1, s: 0.001 },
    { k: "ctx", id: 2, p: null, n: "epoch", i: 1 },
    ...(losses === undefined ? [] : [{ k: "log", c: 2, n: "loss", v: losses[1] } as const]),
    { k: "log", c: 2, n: "grad", v: grads[1] },
    { k: "it", id: 2, s: 0.001 },
    { k: "loop", c: null, n: "epoch", count: 2, t0: 0, s: 0.002 },
    { k: "end", status: "ok", exit: 0, s: 0.01 },
  ];

  const writeReplay = (task: number, text: string, spec?: object): void => {
    const dir = path.join(layout.replaysDir, "job-1");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `task-${task}-1.jsonl`), text);
    if (spec !== undefined) writeFileSync(path.join(dir, `task-${task}-1.spec.json`), JSON.stringify(spec));
  };

  const unverified = async (db: Store) =>
    (await db.db.selectFrom("logs").select(["name", "unverified"]).where("name", "=", "grad").orderBy("seq").execute()).map(
      (row) => row.unverified,
    );

  const grads = async (db: Store) =>
    (await db.db.selectFrom("logs").select(["ctx_id", "num"]).where("name", "=", "grad").orderBy("seq").execute()).map((row) => [
      row.ctx_id,
      row.num === null ? null : Number(row.num),
    ]);

  it("stores a finished replay journal's values under the original run, NaN included", async () => {
    const run = await recordRun();
    writeReplay(1, replayOf(run, 1, [NaN, 0.5]).map(encodeRecord).join(""));
    store = await backend.open(layout);
    const report = await ingest(store, layout);
    expect(report.problems).toEqual([]);
    expect(await grads(store)).toEqual([
      [1, NaN],
      [2, 0.5],
    ]);
  });

  it("refuses a replay from a checkpoint whose re-logged values differ, keeping only what differed", async () => {
    const run = await recordRun();
    // The recorded run logged loss 0 and 1; this replay, which restored the checkpoint of epoch 0, logs 0 and 1.5.
    const restored = { segments: [{ from: 1, to: 2, start: 1, restore: { iteration: 0, objects: {} } }], final: null };
    writeReplay(1, replayOf(run, 1, [0.25, 0.5], [0, 1.5]).map(encodeRecord).join(""), restored);
    store = await backend.open(layout);
    await ingest(store, layout);
    expect(await grads(store)).toEqual([]);
    const divergences = await store.db.selectFrom("replay_divergences").select(["name", "recorded", "replayed", "stage"]).execute();
    expect(divergences).toEqual([{ name: "loss", recorded: 1, replayed: 1.5, stage: "checkpoints" }]);
    // Nothing was claimed: the parts can still be filled by a replay from the start.
    expect(await store.db.selectFrom("replay_coverage").selectAll().execute()).toEqual([]);
    const remembered = await store.db.selectFrom("journals").select("path").where("path", "like", "replays/%").execute();
    expect(remembered).toEqual([{ path: "replays/job-1/task-1-1.jsonl" }]);
  });

  it("stores a replay from the start whose re-logged values differ marked unverified, and one that agrees unmarked", async () => {
    const run = await recordRun();
    writeReplay(1, replayOf(run, 1, [0.25, 0.5], [0, 1.5]).map(encodeRecord).join(""), { segments: [], final: null });
    store = await backend.open(layout);
    await ingest(store, layout);
    expect(await unverified(store)).toEqual([true, true]);
    expect(await store.db.selectFrom("replay_divergences").select(["name", "stage"]).execute()).toEqual([{ name: "loss", stage: "start" }]);
    await store.close();
    // An agreeing replay (a journal without its spec counts as one from the start).
    repo.remove();
    repo = TestRepo.create({ "train.mjs": "" });
    layout = layoutFor(repo.dir);
    await backend.prepare(repo.dir);
    writeReplay(
      1,
      replayOf(await recordRun(), 1, [0.25, 0.5], [0, 1])
        .map(encodeRecord)
        .join(""),
    );
    store = await backend.open(layout);
    await ingest(store, layout);
    expect(await unverified(store)).toEqual([null, null]);
  });

  it("stores nothing from a replay journal with a torn line or a record that is not valid", async () => {
    const run = await recordRun();
    const lines = replayOf(run, 1, [1, 2]).map(encodeRecord);
    writeReplay(1, [...lines.slice(0, 2), '{"k":"log","c":1,"n":"grad","v":1,\n', ...lines.slice(2)].join(""));
    writeReplay(2, [...lines.slice(0, 2), '{"k":"log","c":1,"n":"grad","x":"nan"}\n', ...lines.slice(2)].join(""));
    store = await backend.open(layout);
    await ingest(store, layout);
    expect(await grads(store)).toEqual([]);
    // Both are remembered as failed attempts, so they are not read again.
    const remembered = await store.db
      .selectFrom("journals")
      .select(["path", "run_id"])
      .where("path", "like", "replays/%")
      .orderBy("path")
      .execute();
    expect(remembered).toEqual([
      { path: "replays/job-1/task-1-1.jsonl", run_id: null },
      { path: "replays/job-1/task-2-1.jsonl", run_id: null },
    ]);
    // A replay task that ends so reports why, with the file and line.
    const { id } = await store.db.selectFrom("projects").select("id").executeTakeFirstOrThrow();
    const file = path.join(layout.replaysDir, "job-1", "task-2-1.jsonl");
    await expect(store.transaction((tx) => ingestReplayJournal(tx, id, file, null, "start"))).rejects.toThrow(
      new IncompleteReplay(`${file}:3: a log record's "x" must be "NaN", "Infinity" or "-Infinity", got "nan"`),
    );
    await expect(store.transaction((tx) => ingestReplayJournal(tx, id, file.replace("task-2", "task-1"), null, "start"))).rejects.toThrow(
      "a malformed line; the replay did not finish writing it",
    );
  });
});

describe("how a replay ran, for checking it", () => {
  const ref = { iteration: 0, objects: {} };
  it("restores checkpoints when a segment starts from one or the final state is loaded, not when segments run on from the start", () => {
    expect(replayStart({ segments: [{ to: 6, start: 4, restore: ref }], final: null })).toBe("checkpoints");
    expect(replayStart({ segments: [{ to: 6, start: 0, restore: null }], final: ref })).toBe("checkpoints");
    expect(
      replayStart({
        segments: [
          { to: 3, start: 0, restore: null },
          { to: 6, start: 3, restore: ref },
        ],
        final: null,
      }),
    ).toBe("start");
    expect(
      replayStart({
        segments: [
          { to: 3, start: 0, restore: null },
          { to: 6, start: 4, restore: ref },
        ],
        final: null,
      }),
    ).toBe("checkpoints");
    expect(replayStart({ segments: [], final: null })).toBe("start");
  });
});
