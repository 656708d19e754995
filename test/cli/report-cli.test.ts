import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openGraphql } from "../helpers/graphql.js";
import type { TestRepo } from "../helpers/repo.js";
import { recordUnverifiable } from "../replay/verified-history.js";

const env = { FLOR_DATABASE_URL: "" };
let repo: TestRepo;

/** A script that crashes in epoch 1 when asked to, before logging `final`. */
const CRASH = `import { flor } from "flordb";
const crash = flor.arg("crash", false);
for (const epoch of flor.loop("epoch", 3)) {
  flor.log("loss", 1 / (epoch + 1));
  if (crash && epoch === 1) throw new Error("crashed at epoch 1");
}
flor.log("final", 0.5);
`;

beforeAll(() => {
  repo = recordUnverifiable();
  repo.write("crash.mjs", CRASH);
  expect(repo.runScript("crash.mjs").status).toBe(0);
  expect(repo.runScript("crash.mjs", ["--kwargs", "crash=true"]).status).toBe(1);
  repo.write(
    "crash.mjs",
    CRASH.replace('  flor.log("loss", 1 / (epoch + 1));\n', '  flor.log("loss", 1 / (epoch + 1));\n  flor.log("extra", epoch * 2);\n'),
  );
}, 120_000);

afterAll(() => repo.remove());

const QUESTION = "SELECT epoch, w0 FROM nondeterministic.mjs WHERE epoch >= 2";
const WARNING = /flor: warning: 2 row\(s\) of this answer hold unverified values of w0: .*select w0__verified to see which\n/;

interface Report {
  job: { job: number; status: string; redone: number; unverified: number; divergences: number };
  runs: { filename: string; redone: boolean; unverified: number; diagnosis: { cause: string } }[];
  divergences: { run: string; name: string; coordinates: Record<string, number>; stage: string; recorded: number; replayed: number }[];
  divergenceCount: number;
}

describe("the report of a replay that could not be verified", () => {
  it("warns of unverified values on every answer, and flor replay --job N lists the divergences as a table, JSON and CSV", () => {
    const first = repo.flor(["query", QUESTION, "--format", "json"], env);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(WARNING);
    const rows = JSON.parse(first.stdout) as { epoch: number; w0: number }[];
    expect(rows.map((row) => [row.epoch, typeof row.w0])).toEqual([
      [2, "number"],
      [3, "number"],
    ]);
    // Later answers read the values and their marks from the store: no replay, the same warning.
    const later = repo.flor(["query", QUESTION, "--format", "json"], env);
    expect([later.stdout, later.stderr.includes("filling")]).toEqual([first.stdout, false]);
    expect(later.stderr).toMatch(WARNING);
    expect(JSON.parse(repo.flor(["query", `${QUESTION.replace("w0 FROM", "w0__verified FROM")}`, "--format", "json"], env).stdout)).toEqual(
      [
        { epoch: 2, w0__verified: false },
        { epoch: 3, w0__verified: false },
      ],
    );

    const table = repo.flor(["replay", "--job", "1"], env);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^job\s+status\s+tasks\s+failed\s+iterations\s+values\s+divergences\s+redone\s+unverified\n/);
    expect(table.stdout).toMatch(
      /runs whose replay diverged:\n {2}run .* \(nondeterministic\.mjs\): the replay from a checkpoint diverged: /,
    );
    expect(table.stdout).toMatch(/likely cause: the script does not repeat itself/);
    expect(table.stdout).toMatch(
      /\ndivergences:\nrun\s+name\s+coordinates\s+occurrence\s+recorded\s+replayed\s+difference\s+relative\s+stage\s+detail\n/,
    );
    expect(table.stdout).toMatch(/\n\S+\s+loss\s+epoch=2 step=0\s+0\s+/);

    const report = JSON.parse(repo.flor(["replay", "--job", "1", "--format", "json"], env).stdout) as Report;
    expect(report.job).toMatchObject({ job: 1, status: "done", redone: 1, unverified: 2 });
    expect(report.runs).toMatchObject([{ filename: "nondeterministic.mjs", redone: true, unverified: 2 }]);
    expect(report.divergenceCount).toBe(report.divergences.length);
    expect(report.divergenceCount).toBe(report.job.divergences);
    expect(report.divergences[0]).toMatchObject({ name: "loss", coordinates: { epoch: 2, step: 0 }, stage: "checkpoints" });
    expect(report.divergences.some((d) => d.stage === "start")).toBe(true);

    const csv = repo.flor(["replay", "--job", "1", "--format", "csv"], env).stdout.split("\r\n");
    expect(csv[0]).toBe("run,filename,name,coordinates,occurrence,recorded,replayed,difference,relative,stage,detail");
    expect(csv.filter((line) => line !== "")).toHaveLength(1 + report.divergenceCount);
    expect(csv[1]).toMatch(/^[^,]+Z,nondeterministic\.mjs,loss,epoch=2 step=0,0,[-\d.e]+,[-\d.e]+,[\d.e-]+,[\d.e-]+,checkpoints,/);

    const frame = repo.flor(["dataframe", "w0", "--format", "json"], env);
    expect(frame.stderr).toMatch(/flor: warning: 2 row\(s\) hold unverified values of w0/);
    expect((JSON.parse(frame.stdout) as { w0__verified: boolean }[]).map((row) => row.w0__verified)).toEqual([false, false]);
  }, 300_000);

  it("shows the marks and pages the divergences through GraphQL", async () => {
    const { store, yoga } = await openGraphql(repo);
    try {
      const ask = async (query: string, variables: Record<string, unknown> = {}) => {
        const response = await yoga.fetch("http://flor.test/graphql", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query, variables }),
        });
        return (await response.json()) as {
          data?: Record<string, unknown>;
          errors?: { message: string; extensions?: { code?: string } }[];
        };
      };
      const answer = await ask(`{ florql(query: "${QUESTION}") { ... on FlorqlAnswer { rows unverified { name rows } } } }`);
      expect(answer.data?.["florql"]).toMatchObject({ unverified: [{ name: "w0", rows: 2 }] });
      const logs = await ask(
        `{ runs(filename: "nondeterministic.mjs", first: 1) { edges { node { logCount replayedLogCount logs(names: ["w0", "loss"], first: 20) { edges { node { name verified replayed } } } } } } }`,
      );
      expect(logs.errors).toBeUndefined();
      const run = (
        logs.data!["runs"] as { edges: { node: { logCount: number; replayedLogCount: number; logs: { edges: { node: object }[] } } }[] }
      ).edges[0]!.node;
      expect([run.logCount, run.replayedLogCount]).toEqual([12, 2]);
      const byName = (name: string) =>
        run.logs.edges.map((e) => e.node as { name: string; verified: boolean; replayed: boolean }).filter((n) => n.name === name);
      expect(byName("w0").map((n) => [n.verified, n.replayed])).toEqual([
        [false, true],
        [false, true],
      ]);
      expect(byName("loss").every((n) => n.verified && !n.replayed)).toBe(true);

      const PAGE = `query ($after: String) { replayJob(id: 1) { divergenceCount unverified redone
        divergedRuns { filename redone unverified cause unregistered fromCheckpoint { count names first { name coordinates } } fromStart { count maxAbs } }
        divergences(first: 2, after: $after) { edges { cursor node { id name coordinates stage recorded replayed difference relative } } pageInfo { hasNextPage endCursor } } } }`;
      type Page = {
        divergenceCount: number;
        divergedRuns: { fromCheckpoint: { first: { coordinates: object } } }[];
        divergences: { edges: { node: { id: string; stage: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
      };
      const first = (await ask(PAGE)).data?.["replayJob"] as Page;
      expect(first).toMatchObject({
        unverified: 2,
        redone: 1,
        divergedRuns: [{ filename: "nondeterministic.mjs", redone: true, unverified: 2 }],
      });
      expect(first.divergedRuns[0]!.fromCheckpoint.first.coordinates).toEqual({ epoch: 2, step: 0 });
      expect(first.divergences.edges).toHaveLength(2);
      expect(first.divergences.pageInfo.hasNextPage).toBe(first.divergenceCount > 2);
      const second = (await ask(PAGE, { after: first.divergences.pageInfo.endCursor })).data?.["replayJob"] as Page;
      const ids = [...first.divergences.edges, ...second.divergences.edges].map((e) => Number(e.node.id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).toBe(ids.length);
      const bad = await ask(PAGE, { after: "not-a-cursor" });
      expect(bad.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    } finally {
      await store.close();
    }
  }, 120_000);

  it("keeps the values and their marks when the store is rebuilt from the journals", () => {
    const first = repo.flor(["query", QUESTION, "--format", "json", "--replay", "none"], env);
    // Its replay from checkpoints diverges, and the values stored are those of the replay from the start.
    const exact = "SELECT seed, epoch, w1 FROM unregistered.mjs WHERE epoch >= 3 ORDER BY seed, epoch";
    const replayed = repo.flor(["query", exact, "--format", "json"], env);
    expect(replayed.stderr).toMatch(/2 task\(s\) diverged when replayed from checkpoints and were replayed from the run's start instead/);
    const rebuilt = repo.flor(["ingest", "--rebuild"], env);
    const [, read, total] = /^rebuilt from (\d+) of (\d+) journals/.exec(rebuilt.stdout)!.map(Number);
    expect(read).toBeLessThanOrEqual(total!);
    const after = repo.flor(["query", QUESTION, "--format", "json", "--replay", "none"], env);
    expect(after.stdout).toBe(first.stdout);
    expect(after.stderr).toMatch(WARNING);
    const again = repo.flor(["query", exact, "--format", "json", "--replay", "none"], env);
    expect([again.stdout, again.stderr]).toEqual([replayed.stdout, ""]);
  }, 180_000);
});

describe("the small defects of the same trial", () => {
  it("says a job that does not exist does not exist", () => {
    expect(repo.flor(["replay", "--job", "99"], env)).toMatchObject({ status: 1, stderr: "flor: there is no replay job 99\n" });
  });

  it("shows failed runs' errors, counts recorded and replayed values apart, and lists only the names replay fills", () => {
    const runs = () =>
      (
        JSON.parse(repo.flor(["runs", "--format", "json"], env).stdout) as {
          filename: string;
          args: { crash?: boolean };
          status: string;
          error: string | null;
          logs: number;
          replayed: number;
        }[]
      ).filter((run) => run.filename === "crash.mjs");
    expect(runs().map((run) => [run.args.crash, run.status, run.error, run.logs, run.replayed])).toEqual([
      [false, "ok", null, 4, 0],
      [true, "failed", "Error: crashed at epoch 1", 2, 0],
    ]);
    expect(repo.flor(["runs"], env).stdout).toMatch(/failed .* Error: crashed at epoch 1\n/);

    // `final` is recorded where the run got that far: the failed run never could have it, and nothing fills it.
    const recorded = repo.flor(["query", "SELECT crash, final FROM crash.mjs ORDER BY tstamp"], env);
    expect(recorded.status, recorded.stderr).toBe(0);
    expect(recorded.stderr).toBe("");
    expect(repo.flor(["explain", "SELECT crash, final FROM crash.mjs"], env).stdout).toMatch(/recorded \/ never logged/);
    const filled = repo.flor(["query", "SELECT crash, epoch, final, extra FROM crash.mjs ORDER BY tstamp, epoch"], env);
    expect(filled.status, filled.stderr).toBe(0);
    expect(filled.stderr).toMatch(/^flor: filling extra by replay \(1 tasks/);
    expect(filled.stderr).not.toMatch(/cannot fill final/);
    expect(runs().map((run) => [run.logs, run.replayed])).toEqual([
      [4, 3],
      [2, 0],
    ]);
  }, 180_000);

  it("prints vids of 10 characters in tables, and whole in JSON", () => {
    const table = repo.flor(["query", "SELECT vid, crash FROM crash.mjs", "--replay", "none"], env).stdout.split("\n");
    expect(table[0]).toMatch(/^vid\s+crash$/);
    expect(table.slice(2, 4).map((line) => line.split(/\s+/)[0]!.length)).toEqual([10, 10]);
    const json = JSON.parse(repo.flor(["query", "SELECT vid FROM crash.mjs", "--format", "json", "--replay", "none"], env).stdout) as {
      vid: string;
    }[];
    expect(json.map((row) => row.vid.length)).toEqual([40, 40]);
  });
});
