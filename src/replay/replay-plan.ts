import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { FlorError } from "../errors.js";
import type { JsonValue } from "../journal/records.js";
import type { ProjectLayout } from "../project-layout.js";
import type { ProjectStore } from "../store/project-store.js";
import { replayFactRows } from "../store/queries/runs.js";
import { ObjectStore } from "../checkpoints/object-store.js";
import { propagate } from "../propagate/propagate.js";
import type { CheckpointRef, ReplaySegment } from "../sdk/replay-spec.js";
import { filesLogging } from "./logging-sources.js";
import { statementLevel, type StatementLevel } from "./statement-level.js";
import { suffixReplay, type SuffixReplay } from "./suffix-replay.js";
import {
  hostStartSeconds,
  makespan,
  processStartSeconds,
  restoreSeconds,
  TASK_BOOKKEEPING_SECONDS,
  warmTaskSeconds,
  workersWorthStarting,
} from "./cost-model.js";
import { warmTasksEnabled } from "./task-hosts.js";
import type { TaskSpec } from "./task-spec.js";
import { sourcesAtVersions } from "../versions/version-source.js";
import { storedJson } from "../journal/lossless-json.js";

/** Looks a name up for a scope predicate; `undefined` means "not known at this point of planning". */
export type FactLookup = (name: string, namespace?: string) => JsonValue | undefined;
/** A predicate that is true, false, or null when it depends on facts not known yet (three-valued). */
export type ScopePredicate = (lookup: FactLookup) => boolean | null;

export interface ReplayRequest {
  /** Log names to fill. */
  names: string[];
  /** Only runs of this script (repository-relative). */
  filename?: string;
  /** Only these runs. */
  runIds?: number[];
  /** Limits runs (by run dimensions and args) and outermost-loop iterations (by that loop's dimensions). */
  where?: ScopePredicate;
  /** The predicate as the user wrote it, for plans and job records. */
  whereText?: string;
  /** Re-run every run's whole script, skipping nothing (to check replays, or as a baseline). */
  fromScratch?: boolean;
}

export interface NamePlan {
  name: string;
  /**
   * recorded: the run logged it; replayed: an earlier replay filled what is in scope; fill: this plan
   * fills it; absent: the run's own code logs it, but the run ended (or has not got there yet) before it
   * logged any, so there is nothing to fill; declined: it cannot be filled (see `reason`).
   */
  status: "recorded" | "replayed" | "fill" | "absent" | "declined";
  level?: string;
  reason?: string;
}

export interface RunPlan {
  runId: number;
  tstamp: string;
  filename: string;
  vid: string | null;
  outcome: "replay" | "nothing-to-do" | "declined";
  /** checkpoints: skipped iterations are loaded, not run; from-start: no usable checkpoint before the first needed iteration; whole-script: nothing can be skipped. */
  mode: "checkpoints" | "from-start" | "whole-script" | null;
  names: NamePlan[];
  /** Iterations of the outermost loop that will execute, as [from, to) ranges. */
  ranges: [number, number][];
  iterations: number;
  /** Fallbacks and other things the user should know. */
  notes: string[];
  estimatedSeconds: number;
  /** Seconds to re-run the whole script, as recorded: the baseline replay is measured against. */
  fullSeconds: number;
}

export interface PlannedTask {
  runId: number;
  spec: TaskSpec;
  estimatedSeconds: number;
  iterations: number;
}

export interface ReplayPlan {
  /** When planning began (ISO 8601): a job for the same request that finished after it has what this plan would fill. */
  plannedAt: string;
  names: string[];
  where: string | null;
  workers: number;
  runs: RunPlan[];
  tasks: PlannedTask[];
  /** `workers`: how many of the plan's workers the job starts (another one pays its start only when it shortens the job; see workersWorthStarting). */
  estimate: { cpuSeconds: number; wallSeconds: number; fullSeconds: number; workers: number };
}

interface RunFacts {
  id: number;
  projid: string;
  tstamp: Date;
  filename: string;
  vid: string | null;
  status: string;
  seconds: number | null;
  argv: JsonValue;
  args: Map<string, JsonValue>;
  recorded: Set<string>;
  coverage: Map<string, Set<string>>;
  topLoops: { name: string; iterations: number; start: number; seconds: number }[];
  iterations: { ctx: number; iteration: number; value: JsonValue | null; seconds: number }[];
  checkpoints: Map<number, { objects: Record<string, string>; bytes: number }>;
  /** Why the run's checkpoints cannot be restored (found when they were recorded), or null. */
  checkpointsUnusable: string | null;
  /** Outermost iteration → seconds its inner loops took. */
  inner: Map<number, number>;
  /** Seconds from the run's process start to its first flordb call (imports), or null when not recorded. */
  importSeconds: number | null;
}

/** What propagation gives for one code version: the patched files and each name's fate and level. */
interface VersionPatch {
  patches: Record<string, string>;
  names: Map<string, { level: StatementLevel; suffix: SuffixReplay | null } | { declined: string } | { present: true }>;
}

export interface PlanOptions {
  workers: number;
  /** Hears, before propagation, which scripts the replay's tasks may run (see ReplayExecutor.prepare). */
  prepare?: (scripts: readonly string[]) => void;
  /** When (performance.now()) the caller had the task processes start already, if it did. */
  preparedAt?: number;
}

/**
 * Plans a replay: for every run in scope, which names are missing, whether propagation can place their
 * statements in the run's code version, where those statements run (loop level), which iterations of
 * the outermost loop must execute and from which checkpoints, and how the work splits into tasks for
 * `workers` parallel workers, with estimated costs from the run's recorded timings.
 */
export async function planReplay(
  project: ProjectStore,
  layout: ProjectLayout,
  request: ReplayRequest,
  options: PlanOptions,
): Promise<ReplayPlan> {
  const plannedAt = new Date().toISOString();
  const names = [...new Set(request.names)];
  const runs = await loadRuns(project, request);
  const objects = new ObjectStore(layout.objectsDir);
  const versions = new Map<string, Promise<VersionPatch>>();
  const plans: RunPlan[] = [];
  const works: RunWork[] = [];
  const sources = readVersions(layout.root, runs, names, request.where, layout.projid);
  let preparedAt = options.preparedAt ?? null;
  if (options.prepare !== undefined) {
    options.prepare([...sources.files].filter(([, logging]) => logging.size > 0).map(([script]) => script));
    preparedAt = performance.now();
  }

  for (const run of runs) {
    const lookup = runLookup(run, layout.projid);
    if (request.where !== undefined && request.where(lookup) === false) continue;
    const plan: RunPlan = {
      runId: run.id,
      tstamp: run.tstamp.toISOString(),
      filename: run.filename,
      vid: run.vid,
      outcome: "nothing-to-do",
      mode: null,
      names: [],
      ranges: [],
      iterations: 0,
      notes: [],
      estimatedSeconds: 0,
      fullSeconds: (run.seconds ?? 0) + processStartSeconds(run.filename, run.importSeconds),
    };
    plans.push(plan);
    const missing = names.filter((name) => !run.recorded.has(name));
    for (const name of names) if (run.recorded.has(name)) plan.names.push({ name, status: "recorded" });
    if (missing.length === 0) continue;
    const cannot =
      run.vid === null
        ? "the run has no code version"
        : run.status === "running"
          ? "the run is still running"
          : run.status !== "ok"
            ? `the run ended ${run.status}, so its recording cannot be checked against a replay`
            : null;
    let version = run.vid === null ? undefined : versions.get(`${run.vid}\u0000${run.filename}`);
    if (version === undefined && run.vid !== null) {
      version = propagateVersion(layout.root, run.filename, run.vid, names, sources);
      versions.set(`${run.vid}\u0000${run.filename}`, version);
    }
    // For a run that cannot be replayed, propagation only tells whether its code logs the name: failing to read it is no error.
    const patch = version === undefined ? null : cannot === null ? await version : await version.catch(() => null);
    if (cannot !== null) {
      // A name the run's own code logs is not missing from a run that failed (or runs): it never got there.
      for (const name of missing) {
        const present = patch !== null && "present" in patch.names.get(name)!;
        plan.names.push(
          present
            ? {
                name,
                status: "absent",
                reason: `its code logs it, but ${run.status === "running" ? "the run has not yet" : `the run ended ${run.status} before it`} logged any`,
              }
            : { name, status: "declined", reason: cannot },
        );
      }
      plan.outcome = plan.names.some((n) => n.status === "declined") ? "declined" : "nothing-to-do";
      continue;
    }
    if (patch === null) continue;
    const work = planRun(run, plan, patch, missing, request.where, lookup, objects, request.fromScratch === true);
    if (work !== null) works.push(cheaper(work, plan));
  }
  const tasks = splitIntoTasks(works, options.workers);
  for (const plan of plans)
    plan.estimatedSeconds = tasks.filter((t) => t.runId === plan.runId).reduce((sum, t) => sum + t.estimatedSeconds, 0);
  const costs = tasks.map((task) => task.estimatedSeconds);
  // Each worker starts its warm hosts once (in parallel with the other workers'), not once per task.
  const hostStart = hostStartSeconds(works.filter((work) => work.warm === true).map((work) => work.run));
  // Each worker's task processes start with the job, but the first worker's when planning began to, if they did.
  const head = preparedAt === null ? hostStart : Math.max(0, hostStart - (performance.now() - preparedAt) / 1000);
  const used = workersWorthStarting(costs, options.workers, head, hostStart);
  return {
    plannedAt,
    names,
    where: request.whereText ?? null,
    workers: options.workers,
    runs: plans,
    tasks,
    estimate: {
      cpuSeconds: costs.reduce((a, b) => a + b, 0) + used.workers * hostStart,
      wallSeconds: tasks.length === 0 ? 0 : used.seconds,
      workers: used.workers,
      fullSeconds: plans.filter((p) => p.outcome === "replay").reduce((sum, p) => sum + p.fullSeconds, 0),
    },
  };
}

async function loadRuns(project: ProjectStore, request: ReplayRequest): Promise<RunFacts[]> {
  const projid = project.projid;
  const { rows, args, logNames, coverage, summaries, loops, checkpoints, inner } = await replayFactRows(project, {
    ...(request.filename === undefined ? {} : { filename: request.filename }),
    ...(request.runIds === undefined ? {} : { runIds: request.runIds }),
  });
  if (rows.length === 0) return [];
  const facts = new Map<number, RunFacts>(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        projid,
        tstamp: r.tstamp,
        filename: r.filename,
        vid: r.vid,
        status: r.status,
        seconds: r.seconds,
        argv: r.argv,
        args: new Map(),
        recorded: new Set(),
        coverage: new Map(),
        topLoops: [],
        iterations: [],
        checkpoints: new Map(),
        checkpointsUnusable: r.checkpoints_unusable,
        inner: new Map(),
        importSeconds: r.import_seconds,
      },
    ]),
  );
  for (const a of args) facts.get(a.run_id)!.args.set(a.name, a.value);
  for (const c of coverage) {
    const run = facts.get(c.run_id)!;
    const parts = run.coverage.get(c.name) ?? new Set<string>();
    parts.add(c.part === "loop" ? `loop:${c.iteration}` : c.part);
    run.coverage.set(c.name, parts);
  }
  // A name with coverage rows was filled by replay, not recorded by the run itself.
  for (const n of logNames) if (!facts.get(n.run_id)!.coverage.has(n.name)) facts.get(n.run_id)!.recorded.add(n.name);
  for (const s of summaries)
    facts.get(s.run_id)!.topLoops.push({ name: s.name, iterations: s.iterations, start: s.start_offset, seconds: s.seconds });
  const iterationOf = new Map<string, number>();
  for (const l of loops) {
    facts.get(l.run_id)!.iterations.push({ ctx: l.ctx_id, iteration: l.iteration, value: l.value, seconds: l.seconds ?? 0 });
    iterationOf.set(`${l.run_id}:${l.ctx_id}`, l.iteration);
  }
  for (const i of inner) facts.get(i.run_id)!.inner.set(i.iteration, Number(i.seconds));
  for (const c of checkpoints) {
    const iteration = iterationOf.get(`${c.run_id}:${c.ctx_id}`);
    if (iteration !== undefined)
      facts.get(c.run_id)!.checkpoints.set(iteration, { objects: c.objects as Record<string, string>, bytes: Number(c.bytes) });
  }
  return [...facts.values()];
}

function runLookup(run: RunFacts, projid: string): FactLookup {
  const dims: Record<string, JsonValue> = {
    projid,
    tstamp: run.tstamp.toISOString(),
    filename: run.filename,
    vid: run.vid,
    status: run.status,
  };
  return (name, namespace) => {
    if ((namespace === undefined || namespace === "run") && Object.hasOwn(dims, name)) return dims[name];
    if ((namespace === undefined || namespace === "arg") && run.args.has(name)) return run.args.get(name);
    return undefined;
  };
}

/** The newest files that log the names, per entry script, and the texts of those files in every version a run in scope needs. */
interface VersionSources {
  files: Map<string, Map<string, string[]>>;
  texts: Promise<Map<string, Map<string, string | null> | FlorError>>;
}

/**
 * Reads, with one batch of git for the whole plan, the files propagation needs from each code version
 * that a run in scope may be replayed at (the entry script too: a statement's level follows calls from it).
 */
function readVersions(
  root: string,
  runs: readonly RunFacts[],
  names: readonly string[],
  where: ScopePredicate | undefined,
  projid: string,
): VersionSources {
  const files = new Map<string, Map<string, string[]>>();
  const wanted = new Map<string, Set<string>>();
  for (const run of runs) {
    if (run.vid === null || names.every((name) => run.recorded.has(name))) continue;
    if (where !== undefined && where(runLookup(run, projid)) === false) continue;
    let logging = files.get(run.filename);
    if (logging === undefined) {
      logging = filesLogging(root, run.filename, names);
      files.set(run.filename, logging);
    }
    if (logging.size === 0) continue;
    const paths = wanted.get(run.vid) ?? new Set<string>();
    for (const file of [...logging.keys(), run.filename]) paths.add(file);
    wanted.set(run.vid, paths);
  }
  const texts = sourcesAtVersions(root, new Map([...wanted].map(([vid, paths]) => [vid, [...paths]])));
  // Awaited by each version's propagation; a failure is theirs to report, not an unhandled rejection.
  texts.catch(() => undefined);
  return { files, texts };
}

async function propagateVersion(root: string, entry: string, vid: string, names: string[], read: VersionSources): Promise<VersionPatch> {
  const result: VersionPatch = { patches: {}, names: new Map() };
  // readVersions saw every run that is propagated, and read every version whose entry logs a name.
  const files = read.files.get(entry)!;
  let sources = new Map<string, string | null>();
  if (files.size > 0) {
    const texts = (await read.texts).get(vid)!;
    // A version this clone lacks (or a vid that is no commit id) is declined; a git failure is an error (thrown above).
    if (texts instanceof FlorError) {
      for (const logged of files.values()) for (const name of logged) result.names.set(name, { declined: texts.message });
    } else {
      sources = texts;
    }
  }
  // The version's sources (patched where patched), through which a statement's level follows calls.
  const modules = new Map<string, string>();
  const levels: { file: string; line: number; name: string }[] = [];
  for (const [file, logged] of files) {
    const old = sources.get(file);
    if (old === undefined) continue; // the version could not be read: declined above
    if (old === null) {
      for (const name of logged)
        result.names.set(name, { declined: `${file} logs it now, but did not exist at version ${vid.slice(0, 10)}` });
      continue;
    }
    let report: ReturnType<typeof propagate>;
    try {
      report = propagate(readFileSync(path.join(root, file), "utf8"), old, { filename: file, names: logged });
    } catch (error) {
      for (const name of logged) result.names.set(name, { declined: `cannot propagate into ${file}: ${(error as Error).message}` });
      continue;
    }
    for (const d of report.declined) result.names.set(d.name, { declined: `${file}:${d.fromLine}: ${d.reason}` });
    for (const p of report.present) if (!result.names.has(p.name)) result.names.set(p.name, { present: true });
    for (const injected of report.injected) {
      if (result.names.has(injected.name) && !("present" in result.names.get(injected.name)!)) continue;
      if (!levels.some((l) => l.name === injected.name)) levels.push({ file, line: injected.line, name: injected.name });
    }
    modules.set(file, report.code);
    if (report.injected.length > 0) result.patches[file] = report.code;
  }
  if (levels.length > 0 && !modules.has(entry)) modules.set(entry, sources.get(entry) ?? "");
  for (const { file, line, name } of levels) {
    const level = statementLevel(modules.get(file)!, file, line, name, modules);
    const suffix =
      level.kind === "loop" && level.loops.length === 1
        ? suffixReplay(modules.get(file)!, file, line, name, level.loops[0]!, modules)
        : null;
    result.names.set(name, { level, suffix });
  }
  for (const name of names) {
    if (!result.names.has(name))
      result.names.set(name, { declined: `the newest ${entry} (and the modules it imports) never logs it with flor.log` });
  }
  return result;
}

/** What one run must execute, as planRun decides it. */
interface RunWork {
  run: RunFacts;
  patch: VersionPatch;
  /** The names this run's replay fills. */
  names: string[];
  /** The outermost loop, when fast-forwarding it is possible; null replays the whole script. */
  top: { name: string; iterations: number; start: number; seconds: number } | null;
  ranges: [number, number][];
  before: boolean;
  after: boolean;
  /** Iterations with a checkpoint whose objects are all present. */
  usable: Set<number>;
  /** Iterations replayed without their inner loops (see suffix-replay.ts), and the names they journal. */
  suffix: { names: string[]; iterations: Set<number> } | null;
  /** Its tasks run in warm task hosts (see task-hosts.ts), which pay process start and imports once; else each in a process of its own. */
  warm?: boolean;
}

/**
 * The cheaper way to fill a run: its replay from checkpoints, or re-running its whole script when that
 * is clearly cheaper (by 10% and 0.2 s: estimates are not finer), as when checkpoints save less than
 * loading them costs.
 */
export function cheaper(work: RunWork, plan: RunPlan): RunWork {
  if (work.top === null) return work;
  const replay = chunkTasks(work, Infinity).reduce((sum, task) => sum + task.estimatedSeconds, 0);
  const whole: RunWork = { ...work, top: null, ranges: [], before: true, after: true, usable: new Set(), suffix: null };
  // In the same kind of process as the replay's tasks (warm host or not), so that both pay the same start.
  const wholeSeconds = chunkTasks(whole, Infinity)[0]!.estimatedSeconds;
  if (replay <= wholeSeconds + Math.max(0.1 * wholeSeconds, 0.2)) return work;
  plan.notes.push(
    `re-running the whole script (estimated ${wholeSeconds.toFixed(2)} s) is cheaper than replaying from checkpoints (${replay.toFixed(2)} s)`,
  );
  plan.mode = "whole-script";
  plan.ranges = [[0, work.top.iterations]];
  plan.iterations = work.top.iterations;
  return whole;
}

/** Decides what one run must execute; fills `plan`. */
function planRun(
  run: RunFacts,
  plan: RunPlan,
  patch: VersionPatch,
  missing: string[],
  where: ScopePredicate | undefined,
  lookup: FactLookup,
  objects: ObjectStore,
  fromScratch: boolean,
): RunWork | null {
  const top = run.topLoops.length === 1 ? run.topLoops[0]! : null;
  const needed = new Set<number>();
  let before = false;
  let after = false;
  let whole = false;
  /** The loop-level statements to fill, and whether their iterations can skip the inner loops. */
  const suffixes: { name: string; verdict: SuffixReplay | null }[] = [];
  const inScope = (i: number): boolean => {
    if (where === undefined || top === null) return true;
    const item = run.iterations.find((it) => it.iteration === i)?.value ?? null;
    return (
      where((name, namespace) => {
        if (namespace === undefined || namespace === "loop") {
          if (name === top.name) return i;
          if (name === `${top.name}_value`) return item;
        }
        return lookup(name, namespace);
      }) !== false
    );
  };
  for (const name of missing) {
    const fate = patch.names.get(name)!;
    if ("declined" in fate) {
      plan.names.push({ name, status: "declined", reason: fate.declined });
      continue;
    }
    if ("present" in fate) {
      plan.names.push({
        name,
        status: "declined",
        reason: "this version already has the statement, yet the run logged no value: replay would log none either",
      });
      continue;
    }
    const covered = run.coverage.get(name) ?? new Set<string>();
    const level = fate.level;
    const label =
      level.kind === "loop"
        ? `in loop ${level.loops.join(" > ")}`
        : level.kind === "unknown"
          ? `unknown (${level.why})`
          : `${level.kind} loop ${level.loop}`;
    const consistent =
      top !== null &&
      (level.kind === "loop"
        ? level.loops[0] === top.name || !level.loops.includes(top.name)
        : level.kind === "unknown" || level.loop === top.name);
    if (covered.has("all")) {
      plan.names.push({ name, status: "replayed", level: label });
      continue;
    }
    if (level.kind === "unknown" || !consistent) {
      whole = true;
      plan.names.push({ name, status: "fill", level: label });
      continue;
    }
    let adds = 0;
    if (level.kind === "before" && !covered.has("before")) {
      before = true;
      adds++;
    }
    if (level.kind === "after" && !covered.has("after")) {
      after = true;
      adds++;
    }
    if (level.kind === "loop") {
      for (let i = 0; i < top!.iterations; i++)
        if (!covered.has(`loop:${i}`) && inScope(i)) {
          needed.add(i);
          adds++;
        }
      if (adds > 0) suffixes.push({ name, verdict: fate.suffix });
    }
    plan.names.push({ name, status: adds > 0 ? "fill" : "replayed", level: label });
  }
  if (!whole && !before && !after && needed.size === 0) {
    plan.outcome =
      plan.names.some((n) => n.status === "declined") && !plan.names.some((n) => n.status === "replayed") ? "declined" : "nothing-to-do";
    return null;
  }
  plan.outcome = "replay";
  const fills = plan.names.filter((n) => n.status === "fill").map((n) => n.name);
  if (top === null || whole || fromScratch) {
    plan.mode = "whole-script";
    plan.notes.push(
      fromScratch
        ? "asked to re-run from scratch"
        : top === null
          ? `the run has ${run.topLoops.length === 0 ? "no" : run.topLoops.length} outermost loops: replaying the whole script`
          : "a statement's loop level is unknown: replaying the whole script",
    );
    plan.ranges = top === null ? [] : [[0, top.iterations]];
    plan.iterations = top?.iterations ?? 0;
    // A from-scratch re-run is what re-running the script costs and gives: a process of its own.
    const warm = !fromScratch && warmTasksEnabled();
    return { run, patch, names: fills, top: null, ranges: [], before: true, after: true, usable: new Set(), suffix: null, warm };
  }
  // Checkpoints whose objects are all present; a missing one is as if never taken. None, when the run's
  // first checkpoint failed its round trip: restoring them would start the replay from a wrong state.
  const usable = new Set<number>();
  if (run.checkpointsUnusable !== null && run.checkpoints.size > 0)
    plan.notes.push(
      `its checkpoints cannot be restored (found when they were recorded: ${run.checkpointsUnusable}): replaying from the start`,
    );
  for (const [iteration, checkpoint] of run.checkpointsUnusable === null ? run.checkpoints : []) {
    if (Object.values(checkpoint.objects).every((hash) => existsSync(objects.pathOf(hash)))) usable.add(iteration);
    else plan.notes.push(`checkpoint of ${top.name} ${iteration} is missing from ${objects.dir}`);
  }
  const suffix = suffixPlan(suffixes, needed, usable, top.name, plan.notes);
  if (after && !usable.has(top.iterations - 1)) {
    // Without the final state, the loop must run to its end.
    const last = Math.max(-1, ...needed);
    for (let i = last + 1; i < top.iterations; i++) needed.add(i);
  }
  const sorted = [...needed].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const i of sorted) {
    // Execution starts at the iteration after the nearest usable checkpoint.
    let start = i;
    if (!suffix?.iterations.has(i)) while (start > 0 && !usable.has(start - 1)) start--;
    const last = ranges[ranges.length - 1];
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], i + 1);
    else ranges.push([start, i + 1]);
  }
  plan.ranges = ranges;
  plan.iterations = ranges.reduce((sum, [from, to]) => sum + to - from, 0);
  const first = ranges[0];
  plan.mode = first !== undefined && first[0] === 0 && sorted[0]! > 0 ? "from-start" : "checkpoints";
  if (run.checkpoints.size === 0)
    plan.notes.push(
      run.checkpointsUnusable === null
        ? "the run has no checkpoints: replaying from the start"
        : `the run has no checkpoints (its state could not be checkpointed: ${run.checkpointsUnusable}): replaying from the start`,
    );
  else if (run.checkpointsUnusable !== null) plan.mode = "from-start";
  else if (plan.mode === "from-start") plan.notes.push(`no usable checkpoint before ${top.name} ${sorted[0]}: replaying from the start`);
  return { run, patch, names: fills, top, ranges, before, after, usable, suffix, warm: warmTasksEnabled() };
}

/**
 * The iterations that can run without their inner loops: those the statements need whose end has a
 * usable checkpoint, when every loop-level statement to fill allows it (see suffix-replay.ts). Says
 * which in `notes`, or why not.
 */
function suffixPlan(
  suffixes: { name: string; verdict: SuffixReplay | null }[],
  needed: Set<number>,
  usable: Set<number>,
  loop: string,
  notes: string[],
): RunWork["suffix"] {
  if (suffixes.length === 0) return null;
  const names: string[] = [];
  for (const { name, verdict } of suffixes) {
    if (verdict === null) return null;
    if ("why" in verdict) {
      notes.push(`${name}: its iterations run their inner loops (${verdict.why})`);
      return null;
    }
    for (const n of verdict.names) if (!names.includes(n)) names.push(n);
  }
  const iterations = new Set([...needed].filter((i) => usable.has(i)));
  if (iterations.size === 0) return null;
  notes.push(
    `${suffixes.map((s) => s.name).join(", ")}: ${iterations.size} ${loop} iteration(s) skip their inner loops (the end-of-iteration checkpoint is restored where they start)` +
      (names.length > suffixes.length
        ? `; ${names.filter((n) => !suffixes.some((s) => s.name === n)).join(", ")} re-logged to compare`
        : ""),
  );
  return { names, iterations };
}

/**
 * Cuts the runs' work into tasks for `workers` workers: a run's iterations are cut where a checkpoint
 * lets the next task start, into chunks of about total/workers seconds; if the chunks leave workers idle
 * (by a longest-first schedule), they are cut finer, up to four per worker. Of the splits tried, the one
 * with the shortest schedule wins (fewer tasks on a tie): a finer split pays each task's fixed cost again.
 */
export function splitIntoTasks(works: RunWork[], workers: number): PlannedTask[] {
  let best = works.flatMap((work) => chunkTasks(work, Infinity));
  const total = best.reduce((sum, task) => sum + task.estimatedSeconds, 0);
  const span = (tasks: PlannedTask[]) =>
    makespan(
      tasks.map((t) => t.estimatedSeconds),
      workers,
    );
  let bestSpan = span(best);
  for (const perWorker of [1, 2, 4]) {
    if (workers <= 1 || bestSpan <= (1.1 * total) / workers) break;
    const candidate = works.flatMap((work) => chunkTasks(work, total / (workers * perWorker)));
    const candidateSpan = span(candidate);
    if (candidateSpan < bestSpan) {
      best = candidate;
      bestSpan = candidateSpan;
    }
  }
  return best;
}

export function chunkTasks(work: RunWork, target: number): PlannedTask[] {
  const { run, top } = work;
  const start =
    TASK_BOOKKEEPING_SECONDS + (work.warm === true ? warmTaskSeconds(run.filename) : processStartSeconds(run.filename, run.importSeconds));
  if (top === null) {
    return [makeTask(work, [], true, true, null, (run.seconds ?? 0) + start, run.iterations.length)];
  }
  const overhead = start + top.start;
  const chunks: [number, number][][] = [[]];
  let cost = 0;
  for (const [from, to] of work.ranges) {
    for (let i = from; i < to; i++) {
      const current = chunks[chunks.length - 1]!;
      // Cut before i when the chunk is big enough and a checkpoint lets the next one start at i.
      const startable = work.usable.has(i - 1) || work.suffix?.iterations.has(i) === true;
      if (cost >= target && cost >= 2 * overhead && startable && current.length > 0) {
        chunks.push([[i, i + 1]]);
        cost = 0;
      } else {
        const last = current[current.length - 1];
        if (last !== undefined && last[1] === i) last[1] = i + 1;
        else current.push([i, i + 1]);
      }
      cost += iterationSeconds(work, i);
    }
  }
  const post = Math.max(0, (run.seconds ?? 0) - top.start - top.seconds);
  return chunks.map((ranges, index) => {
    const first = index === 0;
    const last = index === chunks.length - 1;
    const after = last && work.after;
    const executed = ranges.reduce((sum, [from, to]) => sum + to - from, 0);
    const lastExecuted = ranges.length === 0 ? -1 : ranges[ranges.length - 1]![1] - 1;
    const final = after && lastExecuted !== top.iterations - 1 ? checkpointRef(run, top.iterations - 1) : null;
    let estimate = overhead + (after ? post : 0) + (final === null ? 0 : restoreSeconds(run.checkpoints.get(top.iterations - 1)!.bytes));
    for (const [from, to] of ranges) {
      if (from > 0 && work.suffix?.iterations.has(from) !== true) estimate += restoreSeconds(run.checkpoints.get(from - 1)?.bytes ?? 0);
      for (let i = from; i < to; i++) estimate += iterationSeconds(work, i);
    }
    return makeTask(work, ranges, first && work.before, after, final, estimate, executed);
  });
}

/**
 * What executing iteration `i` costs: as recorded, or for an iteration without its inner loops, the
 * rest of it plus loading its end-of-iteration checkpoint and capturing the state again to check it.
 */
function iterationSeconds(work: RunWork, i: number): number {
  const recorded = work.run.iterations.find((it) => it.iteration === i)?.seconds ?? 0;
  if (work.suffix?.iterations.has(i) !== true) return recorded;
  return Math.max(0, recorded - (work.run.inner.get(i) ?? 0)) + 2 * restoreSeconds(work.run.checkpoints.get(i)?.bytes ?? 0);
}

function makeTask(
  work: RunWork,
  ranges: [number, number][],
  before: boolean,
  after: boolean,
  final: CheckpointRef | null,
  estimate: number,
  iterations: number,
): PlannedTask {
  const { run, top } = work;
  const suffixed = work.suffix?.iterations ?? new Set<number>();
  const segments: ReplaySegment[] = ranges.map(([from, to]) => ({
    from,
    to,
    start: from,
    // An iteration without its inner loops loads its own end state: what it starts from does not matter.
    restore: from > 0 && !suffixed.has(from) ? checkpointRef(run, from - 1) : null,
  }));
  const states = ranges.flatMap(([from, to]) => {
    const refs: CheckpointRef[] = [];
    for (let i = from; i < to; i++) if (suffixed.has(i)) refs.push(checkpointRef(run, i));
    return refs;
  });
  const spec: TaskSpec = {
    run: { projid: run.projid, tstamp: run.tstamp.toISOString(), filename: run.filename, vid: run.vid },
    // Lossless JSON: the spec is stored (jsonb) and handed over as JSON, which has no NaN or infinities.
    args: Object.fromEntries([...run.args].map(([name, value]) => [name, JSON.parse(storedJson(value)) as JsonValue])),
    names: work.names,
    loop: top === null ? null : { name: top.name, iterations: top.iterations },
    segments,
    before,
    after,
    final,
    suffix: states.length === 0 ? null : { names: work.suffix!.names, states },
    argv: Array.isArray(run.argv) ? run.argv.map(String) : [],
    patches: work.patch.patches,
    ...(work.warm === true ? {} : { fresh: true }),
  };
  return { runId: run.id, spec, estimatedSeconds: estimate, iterations };
}

function checkpointRef(run: RunFacts, iteration: number): CheckpointRef {
  return { iteration, objects: run.checkpoints.get(iteration)!.objects };
}
