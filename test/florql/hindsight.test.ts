import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectSession } from "../../src/app/project-session.js";
import { explainText } from "../../src/florql/explain.js";
import type { TestRepo } from "../helpers/repo.js";
import { RECORDED, recordHistory, valuesByHand } from "../replay/replay-history.js";

let repo: TestRepo;
let truth: string[][];
let session: ProjectSession;

beforeAll(async () => {
  repo = recordHistory();
  truth = valuesByHand(["w1"]);
  // A command's session: it waits for replays by running them itself.
  session = await ProjectSession.open({ cwd: repo.dir, command: "test", workers: 2, lifetime: "command" });
});

afterAll(async () => {
  await session.close();
  repo.remove();
});

const QUESTION = "SELECT tstamp, round, norm, w1 FROM train.mjs WHERE round >= 4 AND seed = 3 ORDER BY tstamp, round";
const seed3 = RECORDED.map((r, i) => (r.kwargs.includes("seed=3") ? i : -1)).filter((i) => i >= 0);

describe("hindsight queries", () => {
  it("plans the replay of only the runs and iterations in scope, and EXPLAIN shows it", async () => {
    const plan = await session.planQuery(QUESTION);
    expect(plan.runIds.length).toBe(seed3.length);
    expect(plan.replay!.runs.map((r) => r.ranges)).toEqual(seed3.map(() => [[4, 6]]));
    const text = explainText(plan);
    expect(text).toMatch(/scope: 3 of 5 runs of train\.mjs/);
    expect(text).toMatch(/recorded\s+fill by replay/);
    expect(text).toMatch(/replay: 3 tasks/);
    expect(text).toMatch(/sql:\nselect /);
  });

  it("answers with missing values empty (none), then fills them in the background (async), then has them", async () => {
    const none = await session.answerQuery(QUESTION, "none");
    expect(none.rows.length).toBe(6);
    expect(none.rows.every((row) => row["w1"] === null && typeof row["norm"] === "number")).toBe(true);
    expect(none).toMatchObject({ job: null, complete: false, notes: { missing: { names: ["w1"], runs: 3, tasks: 3 }, started: null } });

    // A server's session runs a replay it does not wait for in the background itself (a command's hands
    // it to a detached `flor replay --job`).
    const server = await ProjectSession.over(session.store, session.layout, { workers: 2, lifetime: "server" });
    try {
      const started = await server.answerQuery(QUESTION, "async");
      expect(started.notes.started).toEqual({ jobId: started.job!.id, runner: "server", pid: process.pid });
      expect(["queued", "running"]).toContain(started.job!.status);
      expect(started.complete).toBe(false);
      expect(started.rows.every((row) => row["w1"] === null)).toBe(true);
      // Asked again while its job runs: the same job, not a second one.
      expect((await server.answerQuery(QUESTION, "async")).job!.id).toBe(started.job!.id);
      expect((await server.runJob(started.job!.id, false)).status).toBe("done");
    } finally {
      await server.close();
    }
    const after = await session.planQuery(QUESTION);
    expect(after.replay?.tasks ?? []).toEqual([]);
    const rows = (await session.answerQuery(QUESTION, "none")).rows;
    const expected = seed3.flatMap((run) =>
      truth[run]!.filter((line) => Number(line.split("|")[1]) >= 4).map((line) => Number(line.split("|")[3])),
    );
    expect(rows.map((row) => row["w1"])).toEqual(expected);
  });

  it("fills a value logged after the loop (wait), replaying no iteration at all", async () => {
    const plan = await session.planQuery("SELECT seed, w1_final ORDER BY tstamp");
    expect(plan.replay!.runs.every((r) => r.iterations === 0)).toBe(true);
    const filling: string[][] = [];
    const result = await session.answerQuery("SELECT seed, w1_final ORDER BY tstamp", "wait", {
      onFilling: (missing) => filling.push(missing.names),
    });
    expect(filling).toEqual([["w1_final"]]);
    expect(result.job!.status).toBe("done");
    expect(result.complete).toBe(true);
    expect(result.rows.map((row) => row["w1_final"])).toEqual(valuesByHand(["w1_final"]).map((lines) => Number(lines[0]!.split("|")[3])));
  });
});
