// bench/replay: answering a hindsight question about the last epoch by selective replay, compared in
// the same process run with re-running every version from scratch, and with 1 vs 2 workers.
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { layoutFor } from "../src/project-layout.js";
import { openStore, type Store } from "../src/store/open-store.js";
import { ingest } from "../src/store/ingest.js";
import { ProjectSession } from "../src/app/project-session.js";
import type { ReplayRequest } from "../src/replay/replay-plan.js";
import { EDITS, irisRepository, recordVersions } from "./iris-history.js";

// FLOR_BENCH_QUICK=1 checks that the benchmark works in seconds; its figures mean nothing.
const QUICK = process.env["FLOR_BENCH_QUICK"] === "1";
const EPOCHS = QUICK ? 4 : 20;
/** Heavy enough per epoch (about 2 s here) that an epoch, not process start, is what replay saves. */
const KWARGS = [`epochs=${EPOCHS}`, ...(QUICK ? [] : ["hidden=512", "augment=400"])];
const HINDSIGHT = '    flor.log("w2_norm", Math.hypot(...model.params.w2));\n';
const line = (text: string): void => void process.stdout.write(`${text}\n`);

interface Timed {
  seconds: number;
  estimate: number;
  tasks: number;
  iterations: number;
  values: Map<number, number>;
}

export async function benchReplay(): Promise<Record<string, unknown>> {
  line(`\n## replay (${EDITS.length + 1} versions × ${EPOCHS} epochs of the iris example, ${KWARGS.join(" ")})`);
  const repo = irisRepository();
  try {
    const recording = await recordVersions(repo.dir, repo.git, KWARGS, 2);
    line(`recorded ${EDITS.length + 1} versions, 2 at a time, in ${recording.toFixed(1)} s`);
    const file = path.join(repo.dir, "training.ts");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        '    flor.log("val_acc", accuracy(model, testSet));\n',
        `    flor.log("val_acc", accuracy(model, testSet));\n${HINDSIGHT}`,
      ),
    );

    const lastEpoch: ReplayRequest = {
      names: ["w2_norm"],
      whereText: `epoch = ${EPOCHS - 1}`,
      where: (lookup) => {
        const epoch = lookup("epoch");
        return epoch === undefined ? null : epoch === EPOCHS - 1;
      },
    };
    const full = await timedReplay(repo.dir, "from-scratch", { names: ["w2_norm"], fromScratch: true }, 2);
    const two = await timedReplay(repo.dir, "two-workers", lastEpoch, 2);
    const one = await timedReplay(repo.dir, "one-worker", lastEpoch, 1);

    const same = [...two.values].every(([run, value]) => Object.is(full.values.get(run), value) && Object.is(one.values.get(run), value));
    const speedup = full.seconds / two.seconds;
    const target = 0.8 * EPOCHS;
    const scaling = one.seconds / two.seconds;
    line(
      `re-running all versions from scratch (2 workers): ${full.seconds.toFixed(1)} s (estimated ${full.estimate.toFixed(1)} s), ${full.iterations} epochs`,
    );
    line(
      `replaying the last epoch, 2 workers:             ${two.seconds.toFixed(1)} s (estimated ${two.estimate.toFixed(1)} s), ${two.tasks} tasks, ${two.iterations} epochs`,
    );
    line(`replaying the last epoch, 1 worker:              ${one.seconds.toFixed(1)} s (estimated ${one.estimate.toFixed(1)} s)`);
    line(
      `speedup over re-running from scratch: ${speedup.toFixed(1)}× (target ≥ 0.8 × ${EPOCHS}/1 = ${target.toFixed(0)}×: ${speedup >= target ? "met" : "NOT met"})`,
    );
    line(`2 workers vs 1: ${scaling.toFixed(2)}× (target ≥ 1.7×: ${scaling >= 1.7 ? "met" : "NOT met"})`);
    line(`replayed values equal the from-scratch values for all ${two.values.size} runs: ${same ? "yes" : "NO"}`);
    return {
      versions: EDITS.length + 1,
      epochs: EPOCHS,
      kwargs: KWARGS,
      recordingSeconds: recording,
      fromScratch: summary(full),
      lastEpochTwoWorkers: summary(two),
      lastEpochOneWorker: summary(one),
      speedup,
      speedupTarget: target,
      workerScaling: scaling,
      valuesIdentical: same,
    };
  } finally {
    repo.remove();
  }
}

function summary(t: Timed): object {
  return { seconds: t.seconds, estimatedSeconds: t.estimate, tasks: t.tasks, epochs: t.iterations };
}

/** Plans and runs a replay in a copy of the project (so each starts from the same recorded state), timed end to end. */
async function timedReplay(dir: string, name: string, request: ReplayRequest, workers: number): Promise<Timed> {
  const copy = `${dir}-${name}`;
  cpSync(dir, copy, { recursive: true, verbatimSymlinks: true });
  const layout = layoutFor(copy);
  const store = await openStore(layout, { databaseUrl: "" });
  try {
    await ingest(store, layout);
    const started = performance.now();
    const session = await ProjectSession.over(store, layout, { workers, lifetime: "command" });
    const plan = await (await import("../src/replay/replay-plan.js")).planReplay(session.project, layout, request, { workers });
    const { jobId, fresh } = await session.requestReplay(plan, request);
    const job = await session.runJob(jobId, fresh);
    const seconds = (performance.now() - started) / 1000;
    if (job.status !== "done") throw new Error(`replay ${name} ended ${job.status}: ${job.error}`);
    return {
      seconds,
      estimate: plan.estimate.wallSeconds,
      tasks: job.tasks.total,
      iterations: job.iterations.done,
      values: await lastEpochValues(store),
    };
  } finally {
    await store.close();
    rmSync(copy, { recursive: true, force: true });
  }
}

async function lastEpochValues(store: Store): Promise<Map<number, number>> {
  const rows = await store.db
    .selectFrom("logs as g")
    .innerJoin("loops as l", (j) => j.onRef("l.run_id", "=", "g.run_id").onRef("l.ctx_id", "=", "g.ctx_id"))
    .select(["g.run_id", "g.num"])
    .where("g.name", "=", "w2_norm")
    .where("l.iteration", "=", EPOCHS - 1)
    .where("l.parent_ctx_id", "is", null)
    .execute();
  return new Map(rows.map((r) => [r.run_id, r.num!]));
}
