import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { layoutFor } from "../../src/project-layout.js";
import { ingest } from "../../src/store/ingest.js";
import { openStore, type Store } from "../../src/store/open-store.js";
import { planQuery, runQuery } from "../../src/florql/query-service.js";
import { explainText } from "../../src/florql/explain.js";
import { requestReplay, runJobLocally } from "../../src/replay/replay-service.js";
import { getJob } from "../../src/replay/replay-jobs.js";
import type { TestRepo } from "../helpers/repo.js";
import { RECORDED, recordHistory, valuesByHand } from "../replay/replay-history.js";

let repo: TestRepo;
let truth: string[][];
let store: Store;

beforeAll(async () => {
  repo = recordHistory();
  truth = valuesByHand(["w1"]);
  store = await openStore(layoutFor(repo.dir), { databaseUrl: "" });
  await ingest(store, layoutFor(repo.dir));
});

afterAll(async () => {
  await store.close();
  repo.remove();
});

const QUESTION = "SELECT tstamp, round, norm, w1 FROM train.mjs WHERE round >= 4 AND seed = 3 ORDER BY tstamp, round";
const seed3 = RECORDED.map((r, i) => (r.kwargs.includes("seed=3") ? i : -1)).filter((i) => i >= 0);

describe("hindsight queries", () => {
  it("plans the replay of only the runs and iterations in scope, and EXPLAIN shows it", async () => {
    const plan = await planQuery(store, layoutFor(repo.dir), QUESTION, { workers: 2 });
    expect(plan.runIds.length).toBe(seed3.length);
    expect(plan.replay!.runs.map((r) => r.ranges)).toEqual(seed3.map(() => [[4, 6]]));
    const text = explainText(plan);
    expect(text).toMatch(/scope: 3 of 5 runs of train\.mjs/);
    expect(text).toMatch(/recorded\s+fill by replay/);
    expect(text).toMatch(/replay: 3 tasks/);
    expect(text).toMatch(/sql:\nselect /);
  });

  it("answers with missing values empty (none), then fills them in the background (async), then has them", async () => {
    const layout = layoutFor(repo.dir);
    const none = await runQuery(store, await planQuery(store, layout, QUESTION, { workers: 2 }), async () => null, "none");
    expect(none.rows.length).toBe(6);
    expect(none.rows.every((row) => row["w1"] === null && typeof row["norm"] === "number")).toBe(true);

    let jobId = 0;
    const asyncResult = await runQuery(
      store,
      await planQuery(store, layout, QUESTION, { workers: 2 }),
      async (request) => {
        jobId = (await requestReplay(store, layout, request, { workers: 2 })).jobId;
        return getJob(store.db, jobId);
      },
      "async",
    );
    expect(asyncResult.job!.status).toBe("queued");
    expect(asyncResult.rows.every((row) => row["w1"] === null)).toBe(true);

    await runJobLocally(store, layout, jobId, { workers: 2 });
    const after = await planQuery(store, layout, QUESTION, { workers: 2 });
    expect(after.replay?.tasks ?? []).toEqual([]);
    const rows = (await runQuery(store, after, async () => null, "none")).rows;
    const expected = seed3.flatMap((run) =>
      truth[run]!.filter((line) => Number(line.split("|")[1]) >= 4).map((line) => Number(line.split("|")[3])),
    );
    expect(rows.map((row) => row["w1"])).toEqual(expected);
  });

  it("fills a value logged after the loop (wait), replaying no iteration at all", async () => {
    const layout = layoutFor(repo.dir);
    const plan = await planQuery(store, layout, "SELECT seed, w1_final ORDER BY tstamp", { workers: 2 });
    expect(plan.replay!.runs.every((r) => r.iterations === 0)).toBe(true);
    const result = await runQuery(
      store,
      plan,
      async (request) => {
        const { jobId } = await requestReplay(store, layout, request, { workers: 2 });
        return runJobLocally(store, layout, jobId, { workers: 2 });
      },
      "wait",
    );
    expect(result.job!.status).toBe("done");
    expect(result.rows.map((row) => row["w1_final"])).toEqual(valuesByHand(["w1_final"]).map((lines) => Number(lines[0]!.split("|")[3])));
  });
});
