import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestRepo } from "../helpers/repo.js";
import { startServe, type RunningServe } from "../helpers/serve.js";
import { copyRepo, recordHistory } from "../replay/replay-history.js";

// An empty FLOR_DATABASE_URL keeps the embedded store even when the test run has a PostgreSQL server.
const env = { FLOR_DATABASE_URL: "" };
/** Commands that open the store themselves, or reach `flor serve` over GraphQL. */
const noDaemon = { ...env, FLOR_NO_DAEMON: "1" };
const QUESTION = "SELECT seed, round, norm, w1 FROM train.mjs WHERE round >= 4 ORDER BY seed, round";
const TYPO = "SELECT nrom FROM train.mjs";
/** The commands compared, each run with the store opened locally (before the server starts) and through the server. */
const COMMANDS: Record<string, string[]> = {
  runs: ["runs"],
  runsJson: ["runs", "--format", "json"],
  runsCsv: ["runs", "--format", "csv"],
  versions: ["versions"],
  versionsJson: ["versions", "--format", "json"],
  query: ["query", QUESTION, "--no-replay"],
  queryJson: ["query", QUESTION, "--no-replay", "--format", "json"],
  explain: ["explain", QUESTION],
  explainInQuery: ["query", `EXPLAIN ${QUESTION}`],
  typo: ["query", TYPO],
  explainTypo: ["explain", TYPO],
  badWhere: ["replay", "w1", "--where", "roudn >= 4"],
};
/** Commands that need the process holding the store: through the daemon's socket, which `flor serve` serves too. */
const STORE_COMMANDS: Record<string, string[]> = {
  dataframe: ["dataframe", "norm", "final"],
  dataframeCsv: ["dataframe", "--format", "csv"],
  dryRun: ["replay", "w1", "--where", "round >= 4", "--dry-run"],
  dryRunJson: ["replay", "w1", "--dry-run", "--format", "json"],
  unknownName: ["dataframe", "nrom"],
};

let repo: TestRepo;
/** A copy of the project, for replaying locally what the server replays. */
let twin: TestRepo;
let server: RunningServe;
type Outcome = { status: number | null; stdout: string; stderr: string };
const local: Record<string, Outcome> = {};
const daemon: Record<string, Outcome> = {};
/** EXPLAIN's planning times are the one part that differs from one run to the next. */
const untimed = (text: string) =>
  text.replace(/^planning: .*$/m, "planning: (times)").replace(/"plannedAt": "[^"]*"/, '"plannedAt": "(time)"');
/** Replay progress lines carry timings too. */
const quiet = (text: string) =>
  text
    .replace(/^replay job \d+ \[.*\n/gm, "")
    // The estimate counts what is left of the task processes' start, which began with planning.
    .replace(/ s of work, [\d.]+ s with /, " s of work, (s) s with ")
    .replace(/ tasks?, estimated [\d.]+ s\)/, " tasks, estimated (s) s)");
const outcome = ({ status, stdout, stderr }: Outcome): Outcome => ({ status, stdout: untimed(stdout), stderr });

beforeAll(async () => {
  repo = recordHistory();
  for (const [name, args] of Object.entries({ ...COMMANDS, ...STORE_COMMANDS })) local[name] = outcome(repo.flor(args, noDaemon));
  for (const [name, args] of Object.entries({ ...COMMANDS, ...STORE_COMMANDS })) daemon[name] = outcome(repo.flor(args, env));
  twin = TestRepo.at(copyRepo(repo, `${repo.dir}-twin`));
  // The server takes the store over from the daemon the commands above started.
  server = await startServe(repo, [], env);
}, 180_000);

afterAll(() => {
  if (server?.process.exitCode === null) server.process.kill("SIGKILL");
  repo?.remove();
  twin?.remove();
});

describe("the CLI through flor serve", () => {
  it("finds the server by its discovery file, readable by this user only", () => {
    const file = path.join(repo.dir, ".flor", "serve.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const info = JSON.parse(readFileSync(file, "utf8")) as { url: string; pid: number; host: string; started: string };
    expect(info).toMatchObject({ pid: server.process.pid, host: hostname() });
    expect(server.stderr()).toContain(`serving GraphQL at ${info.url}`);
  });

  it("prints exactly what the commands print with the store opened locally, errors and exit codes included", () => {
    for (const [name, args] of Object.entries(COMMANDS)) {
      // Through the server's daemon socket, and over its GraphQL API.
      expect({ name, ...outcome(repo.flor(args, env)) }).toEqual({ name, ...local[name] });
      expect({ name, ...outcome(repo.flor(args, noDaemon)) }).toEqual({ name, ...local[name] });
    }
    // And through the daemon, before the server started.
    for (const name of Object.keys(COMMANDS)) expect({ name, ...daemon[name] }).toEqual({ name, ...local[name] });
    // Not vacuous: the local answers were answers, and the mistakes were usage errors (2) with the excerpt.
    expect(local["query"]!.status).toBe(0);
    expect(local["query"]!.stderr).toMatch(/w1 missing for \d+ run\(s\); run with --replay wait/);
    expect(local["runs"]!.stdout.trim().split("\n")).toHaveLength(2 + 5);
    expect(local["typo"]).toEqual({
      status: 2,
      stdout: "",
      stderr:
        "flor: FQL020 at line 1, column 8: no run dimension, loop, arg or log is named `nrom`\n  SELECT nrom FROM train.mjs\n         ^^^^\ndid you mean `norm`?\n",
    });
    expect(local["badWhere"]!.status).toBe(2);
    expect(local["explain"]!.stdout).toMatch(/planning: \(times\)/);
  });

  it("runs the commands that need the store itself through the server's daemon socket, as they run locally", () => {
    for (const [name, args] of Object.entries(STORE_COMMANDS)) {
      expect({ name, ...outcome(repo.flor(args, env)) }).toEqual({ name, ...local[name] });
      expect({ name, ...daemon[name] }).toEqual({ name, ...local[name] });
    }
    expect(local["dataframe"]!.status).toBe(0);
    expect(local["dataframe"]!.stdout.split("\n")[0]).toMatch(/norm/);
    expect(local["dryRunJson"]!.status).toBe(0);
    expect(JSON.parse(local["dryRunJson"]!.stdout)).toMatchObject({ names: ["w1"] });
    expect(local["unknownName"]!.status).toBe(2);
    const ingest = repo.flor(["ingest"], env);
    expect([ingest.status, ingest.stderr]).toEqual([0, ""]);
    expect(ingest.stdout).toMatch(/^ingested 0 of 5 journals: 0 new runs, 0 rows/);
  });

  it("over GraphQL only (FLOR_NO_DAEMON=1), commands that need the store say that the server holds it", () => {
    const ingest = repo.flor(["ingest"], noDaemon);
    expect(ingest.status).toBe(1);
    expect(ingest.stderr).toMatch(/in use by `flor serve`/);
    expect(ingest.stderr).toMatch(/Commands go through `flor serve` once it listens \(with FLOR_NO_DAEMON=1 only runs, versions, query/);
    const dryRun = repo.flor(["replay", "w1", "--dry-run"], noDaemon);
    expect(dryRun.status).toBe(1);
    expect(dryRun.stderr).toMatch(/in use by `flor serve`/);
    // With a PostgreSQL server configured, commands open that themselves (here: one that is not there).
    const postgres = repo.flor(["runs"], { FLOR_DATABASE_URL: "postgres://flor@127.0.0.1:1/none" });
    expect(postgres.status).toBe(1);
    expect(postgres.stderr).toMatch(/cannot connect to the PostgreSQL server/);
  });

  it("cancels through the server, saying when there is no such job", () => {
    const missing = repo.flor(["replay", "--cancel", "999"], env);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/there is no replay job 999/);
  });

  it("shows a run recorded while the server runs at the next request", () => {
    expect(repo.runScript("train.mjs", ["--kwargs", "seed=11", "rounds=2"]).status).toBe(0);
    const runs = JSON.parse(repo.flor(["runs", "--format", "json"], env).stdout) as {
      args: { seed?: number };
      status: string;
      logs: number;
    }[];
    expect(runs).toHaveLength(6);
    expect(runs.at(-1)).toMatchObject({ args: { seed: 11 }, status: "ok" });
    expect(runs.at(-1)!.logs).toBeGreaterThan(0);
  });

  it("replays through the server, with the summary the same replay prints locally", () => {
    const args = ["replay", "w1", "--where", "round = 5 AND seed = 3"];
    const here = twin.flor(args, noDaemon);
    expect(here.status, here.stderr).toBe(0);
    const there = repo.flor(args, env);
    expect(there.status, there.stderr).toBe(0);
    expect(there.stdout).toBe(here.stdout);
    // The plan, then progress lines (with timings).
    expect(quiet(there.stderr)).toBe(quiet(here.stderr));
    expect(quiet(there.stderr)).toMatch(/^replay w1 where round = 5 AND seed = 3: 3 runs in scope, 3 to replay[\s\S]*estimate: 3 tasks/);
    const filled = JSON.parse(
      repo.flor(["query", "SELECT seed, round, w1 FROM train.mjs WHERE round = 5 AND seed = 3", "--no-replay", "--format", "json"], env)
        .stdout,
    ) as { w1: number | null }[];
    expect(filled).toHaveLength(3);
    expect(filled.every((row) => typeof row.w1 === "number")).toBe(true);
  }, 120_000);

  it("waits for a query's replay over the server's GraphQL and answers as the local query does", () => {
    const args = ["query", "SELECT seed, part, w0_part FROM train.mjs WHERE round = 0 AND part = 1 ORDER BY seed", "--format", "json"];
    const here = twin.flor(args, noDaemon);
    expect(here.status, here.stderr).toBe(0);
    const there = repo.flor(args, noDaemon);
    expect(there.status, there.stderr).toBe(0);
    // The twin lacks the run recorded meanwhile (seed 11), which logs w0_part itself.
    const rows = JSON.parse(there.stdout) as { seed: number; w0_part: number | null }[];
    expect(rows.filter((row) => row.seed !== 11)).toEqual(JSON.parse(here.stdout));
    expect(rows.every((row) => typeof row.w0_part === "number")).toBe(true);
    expect(there.stderr).toMatch(/filling w0_part by replay \(\d+ tasks/);
    expect(quiet(there.stderr)).toBe(quiet(here.stderr));
  }, 120_000);

  it("starts a query's replay in the server with --replay async, and the values land", async () => {
    const question = "SELECT seed, round, w1 FROM train.mjs WHERE round = 3 AND seed = 3";
    const now = repo.flor(["query", question, "--replay", "async", "--format", "json"], env);
    expect(now.status, now.stderr).toBe(0);
    expect(now.stderr).toMatch(/^flor: replay job \d+ runs in `flor serve` \(pid \d+\)/);
    expect((JSON.parse(now.stdout) as { w1: number | null }[]).map((r) => r.w1)).toEqual([null, null, null]);
    let rows: { w1: number | null }[] = [];
    // An answer while the replay is under way can be partial, even empty: wait for the whole one.
    for (let attempt = 0; attempt < 120 && !(rows.length === 3 && rows.every((r) => typeof r.w1 === "number")); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      rows = JSON.parse(repo.flor(["query", question, "--no-replay", "--format", "json"], env).stdout) as { w1: number | null }[];
    }
    expect(rows.map((r) => typeof r.w1)).toEqual(["number", "number", "number"]);
  }, 120_000);

  it("opens the store itself again once the server stops, and ignores a stale discovery file", async () => {
    const through = repo.flor(["runs", "--format", "json"], env).stdout;
    const code = await server.stop();
    expect(code).toBe(0);
    const file = path.join(repo.dir, ".flor", "serve.json");
    expect(existsSync(file)).toBe(false);
    const after = repo.flor(["runs", "--format", "json"], env);
    expect(after.status, after.stderr).toBe(0);
    expect(after.stdout).toBe(through);
    // A server killed without cleaning up leaves its file; a dead pid sends commands to the store.
    writeFileSync(
      file,
      JSON.stringify({ url: "http://127.0.0.1:1/graphql", pid: 2 ** 22 + 12345, host: hostname(), started: new Date().toISOString() }),
    );
    expect(repo.flor(["runs", "--format", "json"], noDaemon).stdout).toBe(through);
  });
});
