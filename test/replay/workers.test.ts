import type { ChildProcess } from "node:child_process";
import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../helpers/postgres.js";
import { TestRepo } from "../helpers/repo.js";
import { copyRepo, recordHistory } from "./replay-history.js";

const pgUrl = inject("pgUrl");

interface Watched {
  text: () => string;
  /** Resolves once the output matches; rejects, with the output so far, if the process ends first or the time runs out. */
  waitFor: (pattern: RegExp, ms: number) => Promise<void>;
  /** Resolves with the exit code; kills the process and rejects, with its output, if it has not ended within `ms`. */
  exit: (ms: number) => Promise<number | null>;
  pid: number;
}

function watch(name: string, child: ChildProcess): Watched {
  let text = "";
  let code: number | null | undefined;
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  child.on("close", (exitCode, signal) => {
    code = exitCode;
    if (signal !== null) text += `\n(ended by ${signal})`;
    for (const listener of listeners) listener();
  });
  const until = <T>(ms: number, what: string, check: () => T | undefined): Promise<T> =>
    new Promise((resolve, reject) => {
      const listener = (): void => {
        const value = check();
        if (value !== undefined) finish(() => resolve(value));
        else if (code !== undefined) finish(() => reject(new Error(`${name} exited (${code}) before ${what}; it printed:\n${text}`)));
      };
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        finish(() => reject(new Error(`${name}: no ${what} within ${ms / 1000} s; it printed:\n${text}`)));
      }, ms);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        listeners.delete(listener);
        settle();
      };
      listeners.add(listener);
      listener();
    });
  return {
    text: () => text,
    waitFor: (pattern, ms) => until(ms, `output matching ${pattern}`, () => (pattern.test(text) ? true : undefined)).then(() => undefined),
    pid: child.pid!,
    exit: (ms) => until(ms, "exit", () => (code === undefined ? undefined : { code })).then(({ code }) => code),
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
      // The workers start once the tasks are queued: planning on a loaded machine cannot outlast their patience.
      const replay = watch("flor replay", repo.startFlor(["replay", "w1", "w0_part", "--workers", "0"], env));
      await replay.waitFor(/queued for `flor worker` processes/, 150_000);
      const workers = [0, 1].map((i) => watch(`flor worker ${i}`, repo.startFlor(["worker", "--workers", "1", "--idle-exit", "10"], env)));
      await Promise.all(workers.map((w) => w.waitFor(/waiting for replay tasks/, 60_000)));
      expect(await replay.exit(150_000), replay.text()).toBe(0);
      expect(await Promise.all(workers.map((w) => w.exit(90_000)))).toEqual([0, 0]);
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
  }, 480_000);

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

  it("a `flor worker` told to stop (Ctrl-C) exits, even with --idle-exit set", async () => {
    const repo = recordHistory();
    const url = await freshDatabaseUrl(pgUrl!);
    try {
      const worker = watch("flor worker", repo.startFlor(["worker", "--idle-exit", "600"], { FLOR_DATABASE_URL: url }));
      await worker.waitFor(/waiting for replay tasks/, 60_000);
      process.kill(worker.pid, "SIGINT");
      expect(await worker.exit(60_000), worker.text()).toBe(0);
      expect(worker.text()).toMatch(/stopping \(SIGINT/);
    } finally {
      repo.remove();
      await dropDatabase(url);
    }
  }, 180_000);
});
