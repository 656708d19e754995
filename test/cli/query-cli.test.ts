import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestRepo } from "../helpers/repo.js";
import { recordHistory } from "../replay/replay-history.js";

const env = { FLOR_DATABASE_URL: "" };
let repo: TestRepo;

beforeAll(() => {
  repo = recordHistory();
});

afterAll(() => repo.remove());

describe("flor query and flor explain", () => {
  it("prints an array of row objects with --format json, and one coded error for a mistake", () => {
    const result = repo.flor(
      ["query", "SELECT seed, max(norm) AS best FROM train.mjs GROUP BY seed ORDER BY seed", "--format", "json", "--replay", "none"],
      env,
    );
    expect(result.status, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout) as { seed: number; best: number }[];
    expect(rows.map((r) => r.seed)).toEqual([3, 5, 7]);
    expect(rows.every((r) => typeof r.best === "number")).toBe(true);

    const typo = repo.flor(["query", "SELECT nrom"], env);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toBe(
      "flor: FQL020 at line 1, column 8: no run dimension, loop, arg or log is named `nrom`\n  SELECT nrom\n         ^^^^\ndid you mean `norm`?\n",
    );
  });

  it("explains a hindsight query without running it, then fills it (wait) and answers", () => {
    const question = "SELECT round, norm, w1 FROM train.mjs WHERE round = 5 AND seed = 3";
    const explain = repo.flor(["query", `EXPLAIN ${question}`], env);
    expect(explain.status, explain.stderr).toBe(0);
    expect(explain.stdout).toMatch(/fill by replay/);
    expect(repo.flor(["explain", question], env).stdout).toMatch(/replay: 3 tasks/);
    const none = JSON.parse(repo.flor(["query", question, "--no-replay", "--format", "json"], env).stdout) as { w1: number | null }[];
    expect(none.map((r) => r.w1)).toEqual([null, null, null]);
    // Only the missing column: its rows are there (the iterations of its loop), empty.
    const onlyMissing = JSON.parse(
      repo.flor(["query", "SELECT seed, round, w1 FROM train.mjs WHERE round >= 4 AND seed = 3", "--no-replay", "--format", "json"], env)
        .stdout,
    );
    expect(onlyMissing).toEqual([3, 3, 3].flatMap((seed) => [4, 5].map((round) => ({ seed, round, w1: null }))));
    const filled = repo.flor(["query", question, "--format", "json"], env);
    expect(filled.status, filled.stderr).toBe(0);
    expect(filled.stderr).toMatch(/filling w1 by replay \(3 tasks/);
    expect((JSON.parse(filled.stdout) as { w1: number | null }[]).every((r) => typeof r.w1 === "number")).toBe(true);
  });

  it("answers at once with --replay async, and the values land when the background replay ends", async () => {
    const question = "SELECT round, part, delta, w0_part FROM train.mjs WHERE round = 0 AND part = 0 AND seed = 5";
    const now = repo.flor(["query", question, "--replay", "async", "--format", "json"], env);
    expect(now.status, now.stderr).toBe(0);
    expect(now.stderr).toMatch(/replay job \d+ runs in the background/);
    expect((JSON.parse(now.stdout) as { w0_part: number | null }[]).map((r) => r.w0_part)).toEqual([null]);
    let rows: { w0_part: number | null }[] = [];
    for (let attempt = 0; attempt < 120 && !(rows[0]?.w0_part != null); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const later = repo.flor(["query", question, "--replay", "none", "--format", "json"], env);
      if (later.status === 0) rows = JSON.parse(later.stdout) as { w0_part: number | null }[];
    }
    expect(typeof rows[0]?.w0_part).toBe("number");
  });
});
