import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { layoutFor, type ProjectLayout } from "../../src/project-layout.js";
import { openStore, type Store } from "../../src/store/open-store.js";
import { ingest } from "../../src/store/ingest.js";
import { bindProject } from "../../src/store/project-store.js";
import { requestReplay, runJobLocally } from "../../src/replay/replay-service.js";
import { planReplay, type ReplayRequest } from "../../src/replay/replay-plan.js";
import { listEvents } from "../../src/store/queries/replay-events.js";
import { ProjectSession } from "../../src/app/project-session.js";
import { cancelJob } from "../../src/store/queries/replay-jobs.js";
import { alive, LONG_TASKS } from "../helpers/long-tasks.js";
import { FIXTURES, PACKAGE_ROOT, TestRepo } from "../helpers/repo.js";
import { copyRepo } from "./replay-history.js";

const SEEDS = [3, 5, 8];
/** Reads what the inner loop computes, so the replayed epochs run their steps (and re-log the recorded losses). */
const HINDSIGHT = '  flor.log("total", total);\n';
/** After the loop: its replay runs the script to its end. */
const FINAL_HINDSIGHT = 'flor.log("final_w1", model.w[1]);\n';
const scratch = mkdtempSync(path.join(tmpdir(), "flor-task-hosts-test-"));
const fixture = (name: string) => readFileSync(path.join(FIXTURES, "task-hosts", name), "utf8");

/**
 * A project whose script (`train.mjs`, or `train.ts` under tsx) imports a counted package and a module
 * of its own, with three recorded runs and a hindsight statement in the working tree.
 */
function recordProject(script: "train.mjs" | "train.ts"): TestRepo {
  const helper = script === "train.ts" ? "helper.ts" : "helper.mjs";
  const repo = TestRepo.create();
  cpSync(path.join(FIXTURES, "task-hosts/counted-dep"), path.join(repo.dir, "node_modules/counted-dep"), { recursive: true });
  const code = fixture("train.mjs").replace("./helper.mjs", `./${helper}`);
  repo.write(script, code).write(helper, fixture("helper.mjs")).commitAll("trainer");
  for (const seed of SEEDS) {
    const result = repo.runScript(script, ["--kwargs", `seed=${seed}`]);
    if (result.status !== 0) throw new Error(`recording failed: ${result.stderr}`);
  }
  repo.write(
    script,
    code
      .replace('  flor.log("w0", model.w[0]);\n', `  flor.log("w0", model.w[0]);\n${HINDSIGHT}`)
      .replace("// Logged once the module", `${FINAL_HINDSIGHT}// Logged once the module`),
  );
  return repo;
}

const lastEpoch: ReplayRequest = {
  names: ["total"],
  whereText: "epoch = 4",
  where: (lookup) => {
    const epoch = lookup("epoch");
    return epoch === undefined ? null : epoch === 4;
  },
};

interface Replayed {
  status: string;
  /** `run|epoch|value`, sorted. */
  values: string[];
  /** The pid each task's journal was written by, per task, in task order. */
  pids: number[];
  events: { kind: string; data: unknown }[];
  layout: ProjectLayout;
  /** `run|value` of final_w1, sorted. */
  finals: string[];
}

/** Replays `request` in a fresh copy of the recorded project; `env` is set for the job's duration. */
async function replay(
  repo: TestRepo,
  name: string,
  request: ReplayRequest,
  env: Record<string, string> = {},
  during?: (store: Store, jobId: number, layout: ProjectLayout) => Promise<void>,
): Promise<Replayed> {
  const root = copyRepo(repo, path.join(scratch, name));
  const layout = layoutFor(root);
  const store = await openStore(layout, { databaseUrl: "" });
  Object.assign(process.env, env);
  try {
    await ingest(store, layout);
    const project = await bindProject(store, layout.projid);
    const plan = await planReplay(project, layout, request, { workers: 1 });
    const { jobId } = await requestReplay(project, plan, request);
    const running = runJobLocally(project, layout, jobId, { workers: 1 });
    await during?.(store, jobId, layout);
    const job = await running;
    const rows = await store.db
      .selectFrom("logs as g")
      .innerJoin("loops as l", (j) => j.onRef("l.run_id", "=", "g.run_id").onRef("l.ctx_id", "=", "g.ctx_id"))
      .select(["g.run_id", "g.num", "l.iteration"])
      .where("g.name", "=", "total")
      .where("l.parent_ctx_id", "is", null)
      .execute();
    const finals = await store.db.selectFrom("logs").select(["run_id", "num"]).where("name", "=", "final_w1").execute();
    const events = (await listEvents(store.db, jobId)).map((e) => ({ kind: e.kind, data: e.data }));
    return {
      status: job.status,
      values: rows.map((r) => `${r.run_id}|${r.iteration}|${r.num}`).sort(),
      pids: journalPids(layout, jobId),
      events,
      layout,
      finals: finals.map((r) => `${r.run_id}|${r.num}`).sort(),
    };
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
    await store.close();
  }
}

/** A job's replay journals, by task and attempt (all jobs' when `jobId` is left out). */
function journals(layout: ProjectLayout, jobId?: number): string[] {
  if (!existsSync(layout.replaysDir)) return [];
  const dirs = jobId === undefined ? readdirSync(layout.replaysDir) : [`job-${jobId}`];
  return dirs.flatMap((job) => {
    const dir = path.join(layout.replaysDir, job);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((file) => file.endsWith(".jsonl"))
      .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
      .map((file) => path.join(dir, file));
  });
}

/** The pid in each replay journal's header of a job, by task and attempt. */
function journalPids(layout: ProjectLayout, jobId: number): number[] {
  return journals(layout, jobId).map((file) => (JSON.parse(readFileSync(file, "utf8").split("\n")[0]!) as { pid: number }).pid);
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.each(["train.mjs", "train.ts"] as const)("warm task hosts (%s)", (script) => {
  let repo: TestRepo;
  let fromScratch: string[];

  beforeAll(async () => {
    repo = recordProject(script);
    const full = await replay(repo, `${script}-scratch`, { names: ["total"], fromScratch: true });
    expect(full.status).toBe("done");
    // A from-scratch re-run is what re-running the script gives and costs: a process of its own per run.
    expect(new Set(full.pids).size).toBe(SEEDS.length);
    fromScratch = full.values.filter((line) => line.split("|")[1] === "4");
  }, 240_000);

  afterAll(() => repo.remove());

  it("runs several tasks in one process, imports packages once and the project's modules afresh, with the values a process of its own gives", async () => {
    const imports = path.join(scratch, `${script}-imports.txt`);
    const helper = path.join(scratch, `${script}-helper.txt`);
    const warm = await replay(repo, `${script}-warm`, lastEpoch, { FLOR_TEST_IMPORTS: imports, FLOR_TEST_HELPER: helper });
    expect(warm.status).toBe("done");
    expect(warm.events.filter((e) => e.kind === "task-fallback")).toEqual([]);
    expect(warm.pids).toHaveLength(SEEDS.length);
    expect(new Set(warm.pids).size).toBe(1);
    expect(warm.pids[0]).not.toBe(process.pid);
    // The package once, the project's module once per task, all in the host.
    expect(lines(imports)).toEqual([String(warm.pids[0])]);
    expect(lines(helper)).toEqual(SEEDS.map(() => String(warm.pids[0])));
    expect(alive(warm.pids[0]!)).toBe(false);
    expect(warm.values).toHaveLength(SEEDS.length);
    expect(warm.values).toEqual(fromScratch);

    const cold = await replay(repo, `${script}-cold`, lastEpoch, { FLOR_WARM_TASKS: "0" });
    expect(cold.status).toBe("done");
    expect(new Set(cold.pids).size).toBe(SEEDS.length);
    expect(cold.values).toEqual(warm.values);
  }, 240_000);

  it("ends a task that runs to the script's end once nothing is left to run, not when its module finishes", async () => {
    const request: ReplayRequest = { names: ["final_w1"] };
    const warm = await replay(repo, `${script}-after`, request);
    expect(warm.status).toBe("done");
    expect(warm.events.filter((e) => e.kind === "task-fallback")).toEqual([]);
    expect(new Set(warm.pids).size).toBe(1);
    // Each task's journal has the value logged from a timer after the module finished, and an end.
    for (const journal of journals(warm.layout)) {
      const records = readFileSync(journal, "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { k: string; n?: string });
      expect(records.filter((r) => r.k === "log" && r.n === "late")).toHaveLength(1);
      expect(records.at(-1)!.k).toBe("end");
    }
    const cold = await replay(repo, `${script}-after-cold`, request, { FLOR_WARM_TASKS: "0" });
    expect(warm.finals).toHaveLength(SEEDS.length);
    expect(warm.finals).toEqual(cold.finals);
  }, 240_000);

  it.each(["throw", "drift"])(
    "runs a task again in a process of its own, in place of its host, when it fails or diverges in a warm host (%s)",
    async (leak) => {
      const result = await replay(repo, `${script}-${leak}`, lastEpoch, { FLOR_TEST_LEAK: leak });
      expect(result.status).toBe("done");
      const fallbacks = result.events.filter((e) => e.kind === "task-fallback").map((e) => JSON.stringify(e.data));
      expect(fallbacks).toEqual([
        expect.stringMatching(leak === "throw" ? /state left by an earlier task/ : /diverged in a warm task process/),
      ]);
      expect(result.values).toEqual(fromScratch);
      // Task 1 in host A; task 2 fails there and runs in a process of its own; task 3 in a new host. The
      // discarded attempt left no journal to read later.
      const pids = result.pids;
      expect(pids).toHaveLength(SEEDS.length);
      expect(new Set(pids).size).toBe(3);
      for (const pid of pids) expect(alive(pid)).toBe(false);
    },
    240_000,
  );

  it("kills the host when its job is cancelled", async () => {
    let host = 0;
    const result = await replay(repo, `${script}-cancel`, lastEpoch, { FLOR_TEST_SLOW: "300" }, async (store, jobId, layout) => {
      for (let i = 0; i < 600 && host === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        host = journalPids(layout, jobId)[0] ?? 0;
      }
      expect(alive(host)).toBe(true);
      await cancelJob(store.db, jobId);
    });
    expect(result.status).toBe("cancelled");
    expect(host).not.toBe(0);
    expect(alive(host)).toBe(false);
  }, 240_000);
});

describe("a warm task host whose runner is killed", () => {
  it.each(LONG_TASKS)(
    "stops itself, in %s",
    async (_what, script) => {
      const repo = TestRepo.create({ "task.mjs": script });
      try {
        // The runner stand-in: runs the task in a host, then is killed.
        const hosts = pathToFileURL(path.join(PACKAGE_ROOT, "dist/replay/task-hosts.js")).href;
        const runner = spawn(
          process.execPath,
          [
            "--input-type=module",
            "-e",
            `import { TaskHosts } from ${JSON.stringify(hosts)}; await new TaskHosts().run(process.cwd(), process.cwd(), "task.mjs", [], {});`,
          ],
          { cwd: repo.dir, stdio: "ignore" },
        );
        const pidFile = path.join(repo.dir, "pid");
        for (let waited = 0; !existsSync(pidFile) || readFileSync(pidFile, "utf8") === ""; waited += 50) {
          if (waited > 60_000) throw new Error("the task never started");
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const host = Number(readFileSync(pidFile, "utf8"));
        expect(host).not.toBe(runner.pid);
        expect(alive(host)).toBe(true);
        runner.kill("SIGKILL");
        for (let waited = 0; alive(host) && waited < 10_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
        const stillAlive = alive(host);
        if (stillAlive) process.kill(host, "SIGKILL");
        expect(stillAlive).toBe(false);
      } finally {
        repo.remove();
      }
    },
    90_000,
  );
});

/** The task hosts this process has running (Linux: their environment names this process as their parent). */
function hostPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (environ.includes(`FLOR_REPLAY_PARENT=${process.pid}`) && cmdline.includes("task-host")) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe("task processes started while a replay is planned", () => {
  it("start during planning, run the job's tasks, and are closed with the session when no job comes", async () => {
    const repo = recordProject("train.mjs");
    const root = copyRepo(repo, path.join(scratch, "prepared"));
    const layout = layoutFor(root);
    const store = await openStore(layout, { databaseUrl: "" });
    try {
      await ingest(store, layout);
      const session = await ProjectSession.over(store, layout, { workers: 1, lifetime: "command" });
      expect(hostPids()).toEqual([]);
      const plan = await planReplay(session.project, layout, lastEpoch, { workers: 1, ...session.preparing() });
      const prepared = hostPids();
      expect(prepared).toHaveLength(1);
      const { jobId, fresh } = await session.requestReplay(plan, lastEpoch);
      expect((await session.runJob(jobId, fresh)).status).toBe("done");
      expect(new Set(journalPids(layout, jobId))).toEqual(new Set(prepared));
      // Planned, and no job follows: the session's end closes its process.
      await planReplay(session.project, layout, { names: ["final_w1"] }, { workers: 1, ...session.preparing() });
      expect(hostPids()).toHaveLength(1);
      await session.close();
      expect(hostPids()).toEqual([]);
    } finally {
      await store.close();
      repo.remove();
    }
  }, 90_000);
});
