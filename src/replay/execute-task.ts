import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ProjectLayout } from "../project-layout.js";
import type { ProjectStore } from "../store/project-store.js";
import { EXIT_CANNOT_FAST_FORWARD, REPLAY_FORMAT, type ReplaySpec } from "../sdk/replay-spec.js";
import { runScript, type ChildResult } from "./child-process.js";
import { type HostedResult, type TaskHosts, warmTasksEnabled } from "./task-hosts.js";
import type { JsonValue } from "../journal/records.js";
import { IncompleteReplay, replayStart } from "../store/ingest-replay.js";
import type { DivergenceSummary, TaskDiagnosis } from "../store/queries/replay-divergences.js";
import { diagnose, unregisteredIn, type ScriptSource } from "./diagnose.js";
import { storeReplayJournal } from "../store/ingest.js";
import { addEvent } from "../store/queries/replay-events.js";
import { settleJob } from "../store/queries/replay-jobs.js";
import {
  claimTask,
  completeTask,
  failTask,
  recordAttempt,
  requeueTask,
  taskStatus,
  type ReplayTask,
} from "../store/queries/replay-tasks.js";
import { materializeVersion, removeTree } from "./source-tree.js";
import type { TaskSpec } from "./task-spec.js";

/** A failed attempt is retried this many times (a killed worker, a flaky machine); then the task fails. */
const RETRIES = 1;

/** Materialised code versions, shared by the tasks a worker runs, removed when it stops. */
export class TreeCache {
  private readonly trees = new Map<string, Promise<string>>();
  private cleared = false;

  constructor(private readonly root: string) {}

  /**
   * Checks out the trees of `specs` one after another, ahead of the tasks that need them, so that the
   * checkouts overlap what comes before those tasks (the task processes' start, earlier tasks).
   */
  prefetch(specs: readonly TaskSpec[]): void {
    void (async () => {
      for (const spec of specs) {
        if (this.cleared) return;
        await this.get(spec).catch(() => undefined);
      }
    })();
  }

  get(spec: TaskSpec): Promise<string> {
    const key = createHash("sha256")
      .update(JSON.stringify([spec.run.vid, spec.patches]))
      .digest("hex");
    let tree = this.trees.get(key);
    if (tree === undefined) {
      tree = Promise.resolve().then(() => materializeVersion(this.root, spec.run.vid!, spec.patches));
      this.trees.set(key, tree);
      // A failed checkout is not remembered: the task's retry tries again.
      tree.catch(() => this.trees.delete(key));
    }
    return tree;
  }

  /** Removes every tree; the cache checks out no more ahead (a task that still asks gets its tree, removed by the next clear). */
  async clear(): Promise<void> {
    this.cleared = true;
    for (const tree of this.trees.values()) {
      const dir = await tree.catch(() => null);
      if (dir !== null) removeTree(dir);
    }
    this.trees.clear();
  }
}

export interface WorkerContext {
  project: ProjectStore;
  layout: ProjectLayout;
  /** Who runs the tasks, as recorded with them: host:pid. */
  worker: string;
  trees: TreeCache;
  /** Warm task processes that run successive tasks (see task-hosts.ts); without them, each task starts its own. */
  hosts?: TaskHosts;
  /** Called with a function that kills the running child (for cancellation). */
  onChild?: (taskId: number, kill: (() => void) | null) => void;
  /** Whether the runner is shutting down: a child it killed is not the task's failure. */
  stopping?: () => boolean;
}

/** `stopped`: the runner shut down mid-task; the task is queued again for whoever runs the job next. */
export type TaskOutcome = "done" | "failed" | "cancelled" | "skipped" | "stopped";

/**
 * Runs one replay task to its end: claims it, runs the child (retrying a failed attempt once, and
 * falling back to replaying the whole script when checkpoints cannot be used), then stores the
 * journal's values, the task's status and its event in one transaction. A replay from checkpoints
 * whose re-logged values differ from the recorded ones is not stored: the task replays the run from
 * its start instead, and stores that (marked unverified if it differs too). A failed task stores nothing.
 */
export async function executeTask(ctx: WorkerContext, task: ReplayTask): Promise<TaskOutcome> {
  const db = ctx.project.db;
  if (!(await claimTask(db, task.id, ctx.worker))) return "skipped";
  let spec = task.spec;
  /** Set once a replay from checkpoints diverged: what it showed (the run is then replayed from its start). */
  let refused: TaskDiagnosis | null = null;
  let failures = 0;
  let attempt = task.attempts;
  let outcome: TaskOutcome;
  /** Set once the task must run in a process of its own: a warm host's result was in doubt. */
  let fresh = spec.fresh === true || ctx.hosts === undefined || !warmTasksEnabled();
  for (;;) {
    attempt++;
    await recordAttempt(db, task.id, attempt);
    const journal = path.join(ctx.layout.replaysDir, `job-${task.jobId}`, `task-${task.id}-${attempt}.jsonl`);
    let result: ChildResult | HostedResult | null;
    let startFailure = "";
    try {
      result = await runAttempt(ctx, task, spec, attempt, journal, fresh);
    } catch (error) {
      result = null;
      startFailure = `the replay could not start: ${(error as Error).message}`;
    }
    if (ctx.stopping?.() === true && result?.exitCode !== 0) {
      await requeueTask(db, task.id, true);
      await addEvent(db, task.jobId, "task-requeued", task.id, { attempt, reason: "the runner stopped" });
      return "stopped";
    }
    if ((await taskStatus(db, task.id)) === "cancelled") {
      outcome = "cancelled";
      break;
    }
    let problem: string;
    const hosted = result !== null && "host" in result ? result : null;
    if (hosted !== null && (hosted.exitCode !== 0 || hosted.problem !== null)) {
      // Whatever went wrong in a warm host, a process of its own decides (as it would have without hosts).
      await discardHostedAttempt(ctx, task, journal, attempt, hosted.problem ?? exitProblem(hosted), hosted);
      fresh = true;
      continue;
    }
    if (result === null) {
      problem = startFailure;
    } else if (result.exitCode === 0) {
      try {
        const stored = await storeResult(ctx, task, spec, journal, attempt, result.seconds, refused, hosted !== null);
        if (stored === "diverged in a host") {
          await discardHostedAttempt(ctx, task, journal, attempt, "its values diverged in a warm task process", hosted!);
          fresh = true;
          continue;
        }
        if (stored !== null) {
          // Its values were not stored: the run is replayed from its start, as part of this task.
          refused = stored;
          spec = fromStart(spec);
          continue;
        }
        outcome = "done";
        break;
      } catch (error) {
        if (!(error instanceof IncompleteReplay)) throw error;
        problem = error.message;
      }
    } else if ((spec.suffix?.states.length ?? 0) > 0 && result.signal === null) {
      // Skipping inner loops did not hold (the code after them changed registered state, or failed on what they left unset).
      await addEvent(db, task.jobId, "task-fallback", task.id, {
        attempt,
        reason: errorLine(result.stderr),
        action: "replaying the run from its start, inner loops included",
      });
      spec = fromStart(spec);
      continue;
    } else if (result.exitCode === EXIT_CANNOT_FAST_FORWARD && spec.loop !== null) {
      await addEvent(db, task.jobId, "task-fallback", task.id, { attempt, reason: errorLine(result.stderr) });
      spec = wholeScript(spec);
      continue;
    } else {
      problem = exitProblem(result);
    }
    if (failures++ < RETRIES) {
      await addEvent(db, task.jobId, "task-retry", task.id, { attempt, error: problem });
      continue;
    }
    await failTask(db, task.id, problem);
    await addEvent(db, task.jobId, "task-failed", task.id, { attempt, error: problem });
    outcome = "failed";
    break;
  }
  await settleJob(db, task.jobId);
  return outcome;
}

function exitProblem(result: ChildResult): string {
  return result.signal !== null
    ? `the replay process was killed (${result.signal})`
    : `the replay process exited with code ${result.exitCode}: ${errorLine(result.stderr)}`;
}

/**
 * A warm host's attempt is not used: its journal goes (so that nothing reads its values later), the host
 * runs no more tasks, and the task runs again in a process of its own.
 */
async function discardHostedAttempt(
  ctx: WorkerContext,
  task: ReplayTask,
  journal: string,
  attempt: number,
  reason: string,
  hosted: HostedResult,
): Promise<void> {
  ctx.hosts?.retire(hosted.host);
  rmSync(journal, { force: true });
  await addEvent(ctx.project.db, task.jobId, "task-fallback", task.id, {
    attempt,
    reason,
    action: "running the task again in a process of its own",
  });
}

async function runAttempt(
  ctx: WorkerContext,
  task: ReplayTask,
  spec: TaskSpec,
  attempt: number,
  journal: string,
  fresh: boolean,
): Promise<ChildResult | HostedResult> {
  const tree = await ctx.trees.get(spec);
  const { argv, patches: _patches, fresh: _fresh, ...rest } = spec;
  const replay: ReplaySpec = {
    format: REPLAY_FORMAT,
    job: task.jobId,
    task: task.id,
    attempt,
    ...rest,
    journal,
    objectsDir: ctx.layout.objectsDir,
  };
  mkdirSync(path.dirname(journal), { recursive: true });
  const specFile = journal.replace(/\.jsonl$/, ".spec.json");
  writeFileSync(specFile, JSON.stringify(replay));
  const onSpawn = (kill: () => void) => ctx.onChild?.(task.id, kill);
  try {
    if (!fresh && ctx.hosts !== undefined)
      return await ctx.hosts.run(tree, ctx.layout.root, spec.run.filename, argv, { FLOR_REPLAY: specFile }, onSpawn);
    return await runScript(tree, ctx.layout.root, spec.run.filename, argv, { FLOR_REPLAY: specFile }, onSpawn);
  } finally {
    ctx.onChild?.(task.id, null);
  }
}

/**
 * Stores a finished attempt's journal with the task's status and events, in one transaction. A replay
 * that restored checkpoints and diverged stores only what it found: the diagnosis is returned, and the
 * caller replays the run from its start. `refused` is that diagnosis when this attempt is the redo.
 */
async function storeResult(
  ctx: WorkerContext,
  task: ReplayTask,
  spec: TaskSpec,
  journal: string,
  attempt: number,
  seconds: number,
  refused: TaskDiagnosis | null,
  hosted: boolean,
): Promise<TaskDiagnosis | "diverged in a host" | null> {
  const start = replayStart(spec);
  const stored = ctx.project.store.transaction(async (tx) => {
    const result = await storeReplayJournal(tx, ctx.project.projectId, ctx.layout, journal, task.id, start);
    // State a warm host kept from earlier tasks may be the cause: nothing of it is stored (the transaction rolls back).
    if (hosted && (result.refused || result.summary !== null)) throw new HostedDivergence();
    if (result.refused) {
      const diagnosis = diagnose(result.summary, null, unregisteredIn(await scriptSource(ctx, spec)));
      await addEvent(tx.db, task.jobId, "task-diverged", task.id, {
        attempt,
        run: spec.run.tstamp,
        filename: spec.run.filename,
        stage: "checkpoints",
        ...divergenceEvent(result.summary!),
        cause: diagnosis.cause,
        unregistered: diagnosis.unregistered,
        action: "replaying the run from its start",
      });
      return diagnosis;
    }
    const diagnosis =
      refused === null && result.summary === null
        ? null
        : diagnose(refused?.checkpoints ?? null, result.summary, refused?.unregistered ?? []);
    if (result.summary !== null)
      await addEvent(tx.db, task.jobId, "task-diverged", task.id, {
        attempt,
        run: spec.run.tstamp,
        filename: spec.run.filename,
        stage: "start",
        ...divergenceEvent(result.summary),
        cause: diagnosis!.cause,
        action: `stored ${result.unverified} value(s) marked unverified`,
      });
    const divergences = result.divergences + (refused?.checkpoints?.count ?? 0);
    await completeTask(tx.db, task.id, { ...result, divergences, redone: refused !== null, diagnosis });
    await addEvent(tx.db, task.jobId, "task-done", task.id, {
      attempt,
      seconds,
      iterations: result.iterations,
      values: result.values,
      compared: result.compared,
      divergences,
      ...(refused === null ? {} : { redone: true, verified: result.summary === null }),
      unverified: result.unverified,
    });
    return null;
  });
  return stored.catch((error: unknown) => {
    if (error instanceof HostedDivergence) return "diverged in a host" as const;
    throw error;
  });
}

/** Thrown to roll back storing a warm host's attempt whose values diverged. */
class HostedDivergence extends Error {}

/** A divergence summary as an event's data: which names, the first differing coordinate and values, the largest differences. */
function divergenceEvent(summary: DivergenceSummary): { [key: string]: JsonValue } {
  return JSON.parse(JSON.stringify(summary)) as { [key: string]: JsonValue };
}

/** The replayed script's entry file, as the child ran it (the version with the statements propagated in), for hints. */
async function scriptSource(ctx: WorkerContext, spec: TaskSpec): Promise<ScriptSource | null> {
  try {
    const tree = await ctx.trees.get(spec);
    return { code: readFileSync(path.join(tree, spec.run.filename), "utf8"), filename: spec.run.filename, loop: spec.loop?.name ?? null };
  } catch {
    return null;
  }
}

/** The fallback when fast-forwarding failed: run the whole script, answering for everything. */
function wholeScript(spec: TaskSpec): TaskSpec {
  return { ...spec, loop: null, segments: [], before: true, after: true, final: null, suffix: null };
}

/**
 * The same task replayed from the run's start without restoring any checkpoint: every iteration up to
 * the last one it answers for executes (the loop runs on to its end when values after it are needed),
 * and the same iterations are journaled.
 */
function fromStart(spec: TaskSpec): TaskSpec {
  if (spec.loop === null) return { ...spec, suffix: null };
  const segments = spec.segments.map((segment, i) => ({ ...segment, start: i === 0 ? 0 : spec.segments[i - 1]!.to, restore: null }));
  const lastTo = segments.at(-1)?.to ?? 0;
  // An empty last segment runs the remaining iterations without answering for them, instead of loading the final state.
  if (spec.after && lastTo < spec.loop.iterations)
    segments.push({ from: spec.loop.iterations, to: spec.loop.iterations, start: lastTo, restore: null });
  return { ...spec, segments, final: null, suffix: null };
}

/** The line of a child's stderr that says what went wrong: flor's own message, else the error, else the last line. */
function errorLine(text: string): string {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  return (
    lines.find((line) => line.startsWith("flor:")) ??
    lines.find((line) => /^\w*Error\b/.test(line)) ??
    lines[lines.length - 1] ??
    "(no output)"
  );
}
