// bench/replay: answering hindsight questions by selective replay, each compared in the same process run
// with re-running the same runs from scratch (whole-script replay): the iris example's last epoch and
// every epoch of 10 versions, 1 vs 2 workers, and a TensorFlow.js script whose imports take a second
// and more. Run alone: `npx tsx bench/replay.ts`.
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { layoutFor } from "../src/project-layout.js";
import { openStore, type Store } from "../src/store/open-store.js";
import { ingest } from "../src/store/ingest.js";
import { ProjectSession } from "../src/app/project-session.js";
import { planReplay, type ReplayRequest } from "../src/replay/replay-plan.js";
import { median } from "./bench-repo.js";
import { EDITS, irisRepository, recordVersions } from "./iris-history.js";

// FLOR_BENCH_QUICK=1 checks that the benchmark works in seconds; its figures mean nothing.
const QUICK = process.env["FLOR_BENCH_QUICK"] === "1";
const EPOCHS = QUICK ? 4 : 20;
/** Heavy enough per epoch (about 2 s here) that an epoch, not process start, is what replay saves. */
const KWARGS = [`epochs=${EPOCHS}`, ...(QUICK ? [] : ["hidden=512", "augment=400"])];
/** An epoch-level statement after the inner loop that reads only registered state: its epochs skip their steps. */
const HINDSIGHT = '    flor.log("w2_norm", Math.hypot(...model.params.w2));\n';
/** A step-level statement: asked for the last epoch, each version's task runs that epoch's steps (real work to share among workers). */
const STEP_HINDSIGHT = '      flor.log("grad_norm", Math.hypot(...grads.w2));\n';
const TFJS_RUNS = QUICK ? 2 : 8;
const TFJS_EPOCHS = QUICK ? 2 : 12;
/** The example's defaults, as a new user runs it: short epochs, so imports are much of a run. */
const TFJS_KWARGS = [`epochs=${TFJS_EPOCHS}`];
const TFJS_HINDSIGHT = '  flor.log("w_sum", tf.tidy(() => model.getWeights()[0]!.sum().dataSync()[0]!));\n';
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const line = (text: string): void => void process.stdout.write(`${text}\n`);

interface Timed {
  /** From planning to the job's end: what the user waits for. */
  seconds: number;
  /** Planning alone (before the estimate exists). */
  planning: number;
  /** The job alone (after planning): what the estimate is for. */
  job: number;
  estimate: number;
  /** What re-running the same runs from scratch was estimated to take. */
  fullEstimate: number;
  tasks: number;
  iterations: number;
  values: Map<string, number>;
}

interface Case {
  name: string;
  baseline: Timed;
  replay: Timed;
  target: number | null;
}

export async function benchReplay(): Promise<Record<string, unknown>> {
  line(
    `\nload average at the start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  const iris = await benchIris();
  const tfjs = await benchTfjs();
  line(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  return { iris, tfjs };
}

async function benchIris(): Promise<Record<string, unknown>> {
  line(`\n## replay (${EDITS.length + 1} versions × ${EPOCHS} epochs of the iris example, ${KWARGS.join(" ")})`);
  const repo = irisRepository();
  try {
    const recording = await recordVersions(repo.dir, repo.git, KWARGS, 2);
    line(`recorded ${EDITS.length + 1} versions, 2 at a time, in ${recording.toFixed(1)} s`);
    const file = path.join(repo.dir, "training.ts");
    writeFileSync(
      file,
      readFileSync(file, "utf8")
        .replace('    flor.log("val_acc", accuracy(model, testSet));\n', `    flor.log("val_acc", accuracy(model, testSet));\n${HINDSIGHT}`)
        .replace("      optimizer.step(grads);\n", `      optimizer.step(grads);\n${STEP_HINDSIGHT}`),
    );
    const lastEpoch: ReplayRequest = {
      names: ["w2_norm"],
      whereText: `epoch = ${EPOCHS - 1}`,
      where: (lookup) => {
        const epoch = lookup("epoch");
        return epoch === undefined ? null : epoch === EPOCHS - 1;
      },
    };
    const full = await timedReplay(repo.dir, "from-scratch", { names: ["w2_norm"], fromScratch: true }, 2, "w2_norm");
    const every = await timedReplay(repo.dir, "every-epoch", { names: ["w2_norm"] }, 2, "w2_norm");
    const trials = QUICK ? 1 : 3;
    const two: Timed[] = [];
    const one: Timed[] = [];
    for (let i = 0; i < trials; i++) {
      two.push(await timedReplay(repo.dir, `two-workers-${i}`, lastEpoch, 2, "w2_norm"));
      one.push(await timedReplay(repo.dir, `one-worker-${i}`, lastEpoch, 1, "w2_norm"));
    }
    // The same epoch asked at step level: each task now runs the epoch's steps, so the job is mostly work workers can share.
    const stepLastEpoch: ReplayRequest = { ...lastEpoch, names: ["grad_norm"] };
    const stepTwo: Timed[] = [];
    const stepOne: Timed[] = [];
    for (let i = 0; i < trials; i++) {
      stepTwo.push(await timedReplay(repo.dir, `step-two-workers-${i}`, stepLastEpoch, 2, "grad_norm"));
      stepOne.push(await timedReplay(repo.dir, `step-one-worker-${i}`, stepLastEpoch, 1, "grad_norm"));
    }
    const middle = (runs: Timed[]) => runs.find((t) => t.seconds === median(runs.map((r) => r.seconds))) ?? runs[0]!;
    const last = middle(two);
    const scaling = median(one.map((t) => t.seconds)) / median(two.map((t) => t.seconds));
    const stepScaling = median(stepOne.map((t) => t.seconds)) / median(stepTwo.map((t) => t.seconds));
    const lastValues = new Map([...full.values].filter(([key]) => key.endsWith(`:${EPOCHS - 1}`)));
    const cases: Case[] = [
      { name: `last epoch of ${EDITS.length + 1} versions, 2 workers`, baseline: full, replay: last, target: 0.8 * EPOCHS },
      { name: `every epoch of ${EDITS.length + 1} versions, 2 workers`, baseline: full, replay: every, target: 10 },
    ];
    report(cases);
    estimates("last epoch, 1 worker", middle(one));
    line(
      `2 workers vs 1, a step-level statement in the last epoch (median of ${trials}, planning included): ${stepScaling.toFixed(2)}× (2 workers ${seconds(stepTwo)}, 1 worker ${seconds(stepOne)}; target ≥ 1.7×: ${stepScaling >= 1.7 ? "met" : "NOT met"})`,
    );
    estimates("step level, 2 workers", middle(stepTwo));
    estimates("step level, 1 worker", middle(stepOne));
    line(
      `2 workers vs 1, the epoch-level statement in the last epoch (median of ${trials}): ${scaling.toFixed(2)}× (2 workers ${seconds(two)}, 1 worker ${seconds(one)}; tasks of ${median(two.map((t) => t.job / Math.max(1, t.tasks))).toFixed(2)} s: mostly fixed costs)`,
    );
    const sameEvery = same(full.values, every.values);
    const sameLast = [...two, ...one].every((t) => same(lastValues, t.values));
    const sameStep = [...stepTwo, ...stepOne].every((t) => same(stepTwo[0]!.values, t.values)) && stepTwo[0]!.values.size > EDITS.length;
    line(
      `replayed w2_norm equals the from-scratch values, bit for bit: every epoch ${yes(sameEvery)}, last epoch ${yes(sameLast)}; grad_norm the same with 1 and 2 workers: ${yes(sameStep)}`,
    );
    return {
      versions: EDITS.length + 1,
      epochs: EPOCHS,
      kwargs: KWARGS,
      recordingSeconds: recording,
      fromScratch: summary(full),
      everyEpoch: summary(every),
      lastEpochTwoWorkers: two.map(summary),
      lastEpochOneWorker: one.map(summary),
      stepLevelTwoWorkers: stepTwo.map(summary),
      stepLevelOneWorker: stepOne.map(summary),
      speedupLastEpoch: full.seconds / last.seconds,
      speedupEveryEpoch: full.seconds / every.seconds,
      workerScaling: stepScaling,
      workerScalingEpochLevel: scaling,
      valuesIdentical: sameEvery && sameLast && sameStep,
    };
  } finally {
    repo.remove();
  }
}

/** The TensorFlow.js example: imports take a second and more per process; one epoch asked of each of several runs. */
async function benchTfjs(): Promise<Record<string, unknown>> {
  line(`\n## replay with heavy imports (TensorFlow.js iris, ${TFJS_RUNS} runs × ${TFJS_EPOCHS} epochs, ${TFJS_KWARGS.join(" ")})`);
  const repo = irisRepository();
  try {
    mkdirSync(path.join(repo.dir, "node_modules/@tensorflow"), { recursive: true });
    for (const name of ["tfjs", "tfjs-core", "tfjs-layers", "tfjs-converter", "tfjs-data", "tfjs-backend-cpu", "tfjs-backend-webgl"])
      symlinkSync(path.join(packageRoot, "node_modules/@tensorflow", name), path.join(repo.dir, "node_modules/@tensorflow", name), "dir");
    cpSync(path.join(packageRoot, "examples/tfjs-iris/train.ts"), path.join(repo.dir, "tfjs.ts"));
    repo.git("add", "-A");
    repo.git("commit", "-q", "-m", "tfjs iris");
    const started = performance.now();
    const running = new Set<Promise<void>>();
    for (let run = 0; run < TFJS_RUNS; run++) {
      while (running.size >= 2) await Promise.race(running);
      const done = runTfjs(repo.dir, [...TFJS_KWARGS, `seed=${run + 1}`]);
      const tracked = done.finally(() => running.delete(tracked));
      running.add(tracked);
    }
    await Promise.all(running);
    line(`recorded ${TFJS_RUNS} runs, 2 at a time, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const file = path.join(repo.dir, "tfjs.ts");
    const anchor = '  flor.log("val_acc", accuracy(model, testX, testY));\n';
    writeFileSync(file, readFileSync(file, "utf8").replace(anchor, `${anchor}${TFJS_HINDSIGHT}`));
    const lastEpoch: ReplayRequest = {
      names: ["w_sum"],
      whereText: `epoch = ${TFJS_EPOCHS - 1}`,
      where: (lookup) => {
        const epoch = lookup("epoch");
        return epoch === undefined ? null : epoch === TFJS_EPOCHS - 1;
      },
    };
    const full = await timedReplay(repo.dir, "tfjs-from-scratch", { names: ["w_sum"], fromScratch: true }, 2, "w_sum");
    const last = await timedReplay(repo.dir, "tfjs-last-epoch", lastEpoch, 2, "w_sum");
    report([{ name: `one epoch of each of ${TFJS_RUNS} runs, 2 workers`, baseline: full, replay: last, target: 2 }]);
    const lastValues = new Map([...full.values].filter(([key]) => key.endsWith(`:${TFJS_EPOCHS - 1}`)));
    line(`replayed w_sum equals the from-scratch values, bit for bit: ${yes(same(lastValues, last.values))}`);
    return {
      runs: TFJS_RUNS,
      epochs: TFJS_EPOCHS,
      kwargs: TFJS_KWARGS,
      fromScratch: summary(full),
      lastEpoch: summary(last),
      speedup: full.seconds / last.seconds,
      valuesIdentical: same(lastValues, last.values),
    };
  } finally {
    repo.remove();
  }
}

function runTfjs(dir: string, kwargs: string[]): Promise<void> {
  const loader = createRequire(import.meta.url).resolve("tsx/esm");
  const child = spawn(process.execPath, ["--import", loader, "tfjs.ts", "--kwargs", ...kwargs], {
    cwd: dir,
    stdio: ["ignore", "ignore", "inherit"],
  });
  return new Promise((resolve, reject) =>
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`tfjs run exited ${code}`)))),
  );
}

/** Each case: baseline and replay, actual and estimated, the speedup, and how far each estimate was from the actual time. */
function report(cases: Case[]): void {
  for (const c of cases) {
    const speedup = c.baseline.seconds / c.replay.seconds;
    line(`${c.name}:`);
    line(`  re-running from scratch: ${timing(c.baseline)}, ${c.baseline.iterations} epochs`);
    line(`  selective replay:        ${timing(c.replay)}, ${c.replay.tasks} tasks, ${c.replay.iterations} epochs executed`);
    line(
      `  speedup: ${speedup.toFixed(1)}×${c.target === null ? "" : ` (target ≥ ${c.target.toFixed(0)}×: ${speedup >= c.target ? "met" : "NOT met"})`}`,
    );
  }
}

function estimates(name: string, t: Timed): void {
  line(`  ${name}: ${timing(t)}`);
}

/** A replay's time, and its estimate against its job (planning comes before the estimate exists, and is shown apart). */
function timing(t: Timed): string {
  return `${t.seconds.toFixed(1)} s (planning ${t.planning.toFixed(1)} s, job ${t.job.toFixed(1)} s estimated ${t.estimate.toFixed(1)} s: ${error(t)})`;
}

function error(t: Timed): string {
  const relative = (t.estimate - t.job) / t.job;
  return `${relative >= 0 ? "+" : ""}${(100 * relative).toFixed(0)}%`;
}

function seconds(runs: Timed[]): string {
  return runs.map((t) => `${t.seconds.toFixed(1)} s`).join(", ");
}

function yes(ok: boolean): string {
  return ok ? "yes" : "NO";
}

function same(expected: Map<string, number>, actual: Map<string, number>): boolean {
  return expected.size === actual.size && [...expected].every(([key, value]) => Object.is(actual.get(key), value));
}

function summary(t: Timed): object {
  return {
    seconds: t.seconds,
    planningSeconds: t.planning,
    jobSeconds: t.job,
    estimatedSeconds: t.estimate,
    fromScratchEstimate: t.fullEstimate,
    tasks: t.tasks,
    epochs: t.iterations,
  };
}

/** Plans and runs a replay in a copy of the project (so each starts from the same recorded state), timed end to end. */
async function timedReplay(dir: string, name: string, request: ReplayRequest, workers: number, logName: string): Promise<Timed> {
  const copy = `${dir}-${name}`;
  cpSync(dir, copy, { recursive: true, verbatimSymlinks: true });
  const layout = layoutFor(copy);
  const store = await openStore(layout, { databaseUrl: "" });
  try {
    await ingest(store, layout);
    const started = performance.now();
    const session = await ProjectSession.over(store, layout, { workers, lifetime: "command" });
    // As \`flor replay\` plans: the task processes start meanwhile.
    const plan = await planReplay(session.project, layout, request, { workers, ...session.preparing() });
    const planned = (performance.now() - started) / 1000;
    const { jobId, fresh } = await session.requestReplay(plan, request);
    const job = await session.runJob(jobId, fresh);
    const seconds = (performance.now() - started) / 1000;
    if (job.status !== "done") throw new Error(`replay ${name} ended ${job.status}: ${job.error}`);
    await taskBreakdown(store, jobId, name, seconds, planned, plan.estimate.wallSeconds);
    return {
      seconds,
      planning: planned,
      job: seconds - planned,
      estimate: plan.estimate.wallSeconds,
      fullEstimate: plan.estimate.fullSeconds,
      tasks: job.tasks.total,
      iterations: job.iterations.done,
      values: await (logName === "grad_norm" ? contextValues(store, logName) : epochValues(store, logName)),
    };
  } finally {
    await store.close();
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Where an estimate went wrong: each task's estimate against its time from its start to its end (stored). */
async function taskBreakdown(store: Store, jobId: number, name: string, seconds: number, planned: number, estimate: number): Promise<void> {
  const tasks = await store.db
    .selectFrom("replay_tasks")
    .select(["estimated_seconds", "started_at", "finished_at"])
    .where("job_id", "=", jobId)
    .execute();
  const actual = tasks.map((t) => (new Date(t.finished_at!).getTime() - new Date(t.started_at!).getTime()) / 1000);
  const estimated = tasks.map((t) => t.estimated_seconds);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  line(
    `  [${name}] ${tasks.length} tasks: estimated ${sum(estimated).toFixed(1)} s in all (median ${median(estimated).toFixed(2)} s), took ${sum(actual).toFixed(1)} s (median ${median(actual).toFixed(2)} s); job ${seconds.toFixed(1)} s (${planned.toFixed(1)} s of it planning) against ${estimate.toFixed(1)} s estimated`,
  );
}

/** `run:context` → the value logged under `name` in that loop context (of any loop). */
async function contextValues(store: Store, name: string): Promise<Map<string, number>> {
  const rows = await store.db.selectFrom("logs").select(["run_id", "ctx_id", "num"]).where("name", "=", name).execute();
  return new Map(rows.map((r) => [`${r.run_id}:${r.ctx_id}`, r.num!]));
}

/** `run:epoch` → the value logged under `name` in that outermost iteration. */
async function epochValues(store: Store, name: string): Promise<Map<string, number>> {
  const rows = await store.db
    .selectFrom("logs as g")
    .innerJoin("loops as l", (j) => j.onRef("l.run_id", "=", "g.run_id").onRef("l.ctx_id", "=", "g.ctx_id"))
    .select(["g.run_id", "g.num", "l.iteration"])
    .where("g.name", "=", name)
    .where("l.parent_ctx_id", "is", null)
    .execute();
  return new Map(rows.map((r) => [`${r.run_id}:${r.iteration}`, r.num!]));
}

// Run alone, its results replace the `replay` part of bench/results.json (the other benchmarks' stay).
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = path.join(packageRoot, "bench/results.json");
  const results = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  results["replay"] = { date: new Date().toISOString(), ...(await benchReplay()) };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}
