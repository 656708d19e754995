import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestRepo } from "../helpers/repo.js";
import { recordHistory } from "../replay/replay-history.js";

const env = { FLOR_DATABASE_URL: "" };
let repo: TestRepo;

beforeAll(() => {
  repo = recordHistory();
});

afterAll(() => repo.remove());

describe("flor replay", () => {
  it("prints the plan and its estimate with --dry-run, and runs nothing", () => {
    const result = repo.flor(["replay", "w1", "--where", "round >= 4 AND arg.seed = 3", "--dry-run"], env);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/replay w1 where round >= 4 AND arg\.seed = 3: 3 runs in scope, 3 to replay/);
    expect(result.stdout).toMatch(/checkpoints\s+4\.\.5/);
    expect(result.stdout).toMatch(/estimate: 3 tasks/);
    const json = JSON.parse(repo.flor(["replay", "w1", "--dry-run", "--format", "json"], env).stdout) as { runs: { outcome: string }[] };
    expect(json.runs.map((r) => r.outcome)).toEqual(["replay", "replay", "replay", "replay", "replay"]);
    expect(repo.flor(["dataframe", "w1"], env).stderr).toMatch(/unknown name "w1"/);
  });

  it("fills the values, prints a summary, and says which names it could not fill and why", () => {
    const result = repo.flor(["replay", "w1", "decay", "--where", "round = 5"], env);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/declined decay for run .*: .*decay/);
    const summary = result.stdout.split("\n")[2]!.trim().split(/\s+/);
    // job, status, tasks, failed, iterations, values, divergences, redone, unverified: round 5 of four runs (the 4-round run has none), w1 and decay
    expect(summary).toEqual(["1", "done", "4", "0", "4", String(4 + 2), "0", "0", "0"]);
    const frame = repo.flor(["dataframe", "w1", "decay", "--format", "json"], env).stdout;
    expect((JSON.parse(frame) as { round: number }[]).map((row) => row.round)).toEqual([5, 5, 5, 5]);
    // The store can be rebuilt from journals: replayed values come back from the replay journals.
    expect(repo.flor(["ingest", "--rebuild"], env).status).toBe(0);
    expect(repo.flor(["dataframe", "w1", "decay", "--format", "json"], env).stdout).toBe(frame);
  });

  it("rejects a misspelt name in --where with a suggestion, and a missing name list", () => {
    const typo = repo.flor(["replay", "w1", "--where", "roudn >= 4"], env);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/FQL020.*`roudn`[\s\S]*did you mean `round`/);
    const none = repo.flor(["replay"], env);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/needs the log names/);
  });
});
