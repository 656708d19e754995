import type { ChildProcess } from "node:child_process";
import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../helpers/postgres.js";
import { TestRepo } from "../helpers/repo.js";
import { copyRepo, recordHistory } from "./replay-history.js";

const pgUrl = inject("pgUrl");

function output(child: ChildProcess): { text: () => string; waitFor: (pattern: RegExp) => Promise<void>; exited: Promise<number | null> } {
  let text = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const onData = (chunk: Buffer): void => {
    text += chunk.toString();
    for (const waiter of waiters.splice(0))
      if (waiter.pattern.test(text)) waiter.resolve();
      else waiters.push(waiter);
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  return {
    text: () => text,
    waitFor: (pattern) => new Promise((resolve) => (pattern.test(text) ? resolve() : waiters.push({ pattern, resolve }))),
    exited: new Promise((resolve) => child.on("close", resolve)),
  };
}

describe.skipIf(!pgUrl)("replay through the job queue on a PostgreSQL server", () => {
  it("two `flor worker` processes share one job's tasks, and the values equal a local replay's", async () => {
    const repo = recordHistory();
    const url = await freshDatabaseUrl(pgUrl!);
    const env = { FLOR_DATABASE_URL: url };
    const local = TestRepo.at(copyRepo(repo, `${repo.dir}-local`));
    try {
      expect(repo.flor(["ingest"], env).status).toBe(0);
      // Idle long enough that a loaded machine's ingest and planning cannot outlast the workers' patience.
      const workers = [0, 1].map(() => output(repo.startFlor(["worker", "--workers", "1", "--idle-exit", "15"], env)));
      await Promise.all(workers.map((w) => w.waitFor(/waiting for replay tasks/)));

      const replay = repo.flor(["replay", "w1", "w0_part", "--workers", "0"], env);
      expect(replay.stderr).toMatch(/queued for `flor worker` processes/);
      expect(replay.status, replay.stderr).toBe(0);
      const codes = await Promise.all(workers.map((w) => w.exited));
      expect(codes).toEqual([0, 0]);
      for (const worker of workers) expect(worker.text()).toMatch(/task \d+ done/);

      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query(
          "select count(distinct worker)::int as workers, count(*)::int as tasks, bool_and(status = 'done') as done from flor.replay_tasks",
        );
        expect(rows[0]).toEqual({ workers: 2, tasks: 5, done: true });
      } finally {
        await client.end();
      }

      const locally = local.flor(["replay", "w1", "w0_part", "--workers", "2"], { FLOR_DATABASE_URL: "" });
      expect(locally.status, locally.stderr).toBe(0);
      // The copy's directory name, its projid, is the only difference allowed.
      const frame = (r: TestRepo, e: NodeJS.ProcessEnv) =>
        (JSON.parse(r.flor(["dataframe", "w1", "w0_part", "--format", "json"], e).stdout) as Record<string, unknown>[]).map(
          ({ projid: _projid, ...row }) => row,
        );
      const remote = frame(repo, env);
      expect(remote.length).toBe(3 * 6 + 3 * 4 + 3 * 6 + 3 * 6 + 3 * 8);
      expect(remote).toEqual(frame(local, { FLOR_DATABASE_URL: "" }));
    } finally {
      repo.remove();
      local.remove();
      await dropDatabase(url);
    }
  }, 240_000);

  it("flor replay works the queued tasks itself with --workers N when no flor worker runs", async () => {
    const repo = recordHistory();
    const url = await freshDatabaseUrl(pgUrl!);
    const env = { FLOR_DATABASE_URL: url };
    try {
      const replay = repo.flor(["replay", "w1", "--workers", "2"], env);
      expect(replay.status, replay.stderr).toBe(0);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query("select count(*)::int as tasks, bool_and(status = 'done') as done from flor.replay_tasks");
        expect(rows[0]).toEqual({ tasks: 5, done: true });
      } finally {
        await client.end();
      }
    } finally {
      repo.remove();
      await dropDatabase(url);
    }
  }, 120_000);
});
