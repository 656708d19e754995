import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { once } from "node:events";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { layoutFor } from "../../src/project-layout.js";
import { ProjectSession } from "../../src/app/project-session.js";
import { getJob } from "../../src/store/queries/replay-jobs.js";
import { listEvents } from "../../src/store/queries/replay-events.js";
import { openStore } from "../../src/store/open-store.js";
import type { TestRepo } from "../helpers/repo.js";
import { recordHistory } from "./replay-history.js";

const env = { FLOR_DATABASE_URL: "" };
let repo: TestRepo;

afterAll(() => repo?.remove());

/** The process running a command's replay: the command itself, or the flor daemon it asked (found by the store's lock). */
const HOLDERS = [
  { name: "the command", env: { ...env, FLOR_NO_DAEMON: "1" }, runner: (command: ChildProcess) => command.pid! },
  {
    name: "the flor daemon",
    env,
    runner: () => (JSON.parse(readFileSync(path.join(repo.dir, ".flor/db.lock"), "utf8")) as { pid: number }).pid,
  },
];

it.each(HOLDERS)(
  "a replay whose process ($name) was killed is taken over by the next request for it, and completes once",
  async ({ env, runner }) => {
    repo?.remove();
    repo = recordHistory();
    const first = repo.startFlor(["replay", "w1", "--workers", "1"], env);
    // Killed as soon as its first task has started writing a journal, as a Ctrl-C'd or OOM-killed run would be.
    const journals = path.join(repo.dir, ".flor", "replays", "job-1");
    const deadline = Date.now() + 60_000;
    while (!(existsSync(journals) && readdirSync(journals).length > 0)) {
      if (Date.now() > deadline) throw new Error("the first replay never started a task");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    process.kill(runner(first), "SIGKILL");
    if (first.exitCode === null) await once(first, "exit");

    // The same request finds the unfinished job and runs it to the end instead of waiting on it forever.
    const again = repo.flor(["replay", "w1", "--workers", "2"], env);
    expect(again.stderr).not.toMatch(/Error|at .*\.js/);
    expect(again.status).toBe(0);

    const layout = layoutFor(repo.dir);
    const store = await openStore(layout, { databaseUrl: "" });
    try {
      const job = (await getJob(store.db, 1))!;
      expect(job).toMatchObject({ status: "done", error: null });
      expect(job.tasks.done).toBe(job.tasks.total);
      expect((await listEvents(store.db, 1)).filter((e) => e.kind === "task-requeued").length).toBe(1);
      expect(await store.db.selectFrom("replay_jobs").select("id").execute()).toHaveLength(1);
      // Every iteration has its value exactly once.
      const rows = await store.db
        .selectFrom("logs as lg")
        .innerJoin("loops as lp", (join) => join.onRef("lp.run_id", "=", "lg.run_id").onRef("lp.ctx_id", "=", "lg.ctx_id"))
        .select(["lg.run_id", "lp.iteration"])
        .where("lg.name", "=", "w1")
        .where("lp.name", "=", "round")
        .execute();
      const rounds = await store.db.selectFrom("loops").select(["run_id", "iteration"]).where("name", "=", "round").execute();
      expect(rows.length).toBe(rounds.length);
      expect(new Set(rows.map((r) => `${r.run_id}:${r.iteration}`)).size).toBe(rounds.length);
    } finally {
      await store.close();
    }
  },
  180_000,
);

it("flor replay --cancel ends a job nobody runs any more, so the next request starts afresh", async () => {
  // A job planned and left queued, as by a process that stopped before running it.
  const layout = layoutFor(repo.dir);
  const planner = await openStore(layout, { databaseUrl: "" });
  let id: number;
  try {
    const session = await ProjectSession.over(planner, layout, { workers: 1, lifetime: "command" });
    const { plan, request } = await session.planReplay({ names: ["w0_part"] });
    id = (await session.requestReplay(plan, request)).jobId;
  } finally {
    await planner.close();
  }

  const cancel = repo.flor(["replay", "--cancel", String(id)], env);
  expect({ status: cancel.status, stdout: cancel.stdout, stderr: cancel.stderr }).toEqual({
    status: 0,
    stdout: `cancelled replay job ${id}\n`,
    stderr: "",
  });
  const again = repo.flor(["replay", "--cancel", String(id)], env);
  expect(again.stdout).toBe(`replay job ${id} had already ended (cancelled); nothing to cancel\n`);
  const missing = repo.flor(["replay", "--cancel", "9999"], env);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toMatch(/there is no replay job 9999/);
  expect(repo.flor(["replay", "--cancel", String(id), "w1"], env).status).toBe(2);

  const fresh = repo.flor(["replay", "w0_part", "--workers", "2"], env);
  expect(fresh.status, fresh.stderr).toBe(0);
  const store = await openStore(layoutFor(repo.dir), { databaseUrl: "" });
  try {
    expect((await getJob(store.db, id))!.status).toBe("cancelled");
    const jobs = await store.db.selectFrom("replay_jobs").select(["id", "status"]).where("id", ">", id).execute();
    expect(jobs.map((j) => j.status)).toEqual(["done"]);
  } finally {
    await store.close();
  }
}, 180_000);
