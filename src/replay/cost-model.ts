import { runsUnderTsx } from "./child-process.js";

/**
 * Cost constants for replay estimates, in seconds; the rest comes from the timings each run recorded
 * (per-iteration seconds, the loop's start offset, checkpoint sizes). Measured on the 2-core machine of
 * the README's benchmarks: starting a child is node's start plus flordb's import, and tsx adds its
 * compile step for TypeScript entry scripts.
 */
export const CHILD_START_SECONDS = 0.12;
export const TSX_START_SECONDS = 0.35;
/** Loading a checkpoint: read, verify (SHA-256) and deserialise, per byte, plus a fixed cost. */
export const RESTORE_SECONDS_PER_BYTE = 1 / 400e6;
export const RESTORE_FIXED_SECONDS = 0.002;

/**
 * A child's seconds from its start to the script's first flordb call. A run that recorded its imports
 * (`importSeconds`: from its process's start, so node's own start and flordb's import are in it) pays
 * them again in a replay; for a run recorded before imports were journaled, node's start and flordb's
 * import (the script's own imports left out). A TypeScript child (node with tsx's loader, one process)
 * also costs more than its own clock shows (measured: 0.2–0.35 s of wall time beyond `performance.now()`
 * at its first line, against 0.02–0.04 s for JavaScript), which the tsx constant stands for.
 */
export function processStartSeconds(filename: string, importSeconds: number | null): number {
  const start = importSeconds ?? CHILD_START_SECONDS;
  return runsUnderTsx(filename) ? start + TSX_START_SECONDS : start;
}

/**
 * A task in a warm task host (see task-hosts.ts) pays no process start: the host paid node's start and the
 * imports once (`hostStartSeconds`). It pays importing the script's own modules afresh (from tsx's cache
 * for TypeScript) and the host's bookkeeping. Traced in the hosts of the bench's replays (2026-12-06):
 * from a task's arrival to its first flordb call took 0.02 s (median) for the iris example's five modules
 * and 0.005 s for the TensorFlow.js example's one; 0.04 had overestimated 1 s jobs of ten tasks by a tenth.
 */
export const WARM_TASK_SECONDS = 0.02;
export const TSX_WARM_TASK_SECONDS = 0.025;

/**
 * The runner's own part of every task, beside the task process's: claiming it, writing its spec, then
 * reading its journal and storing it with the task's status in one transaction (measured on the iris
 * bench: 0.02–0.05 s per task that stores tens of values; 0.2 s for one that stores and compares thousands).
 */
export const TASK_BOOKKEEPING_SECONDS = 0.03;

export function warmTaskSeconds(filename: string): number {
  return runsUnderTsx(filename) ? TSX_WARM_TASK_SECONDS : WARM_TASK_SECONDS;
}

/**
 * What starting the warm hosts costs a worker: one host per script kind (node, node with tsx), each paying
 * the slowest start (process, imports) among the scripts it runs: the imports as the run recorded them.
 * What tsx costs beyond a process's own clock (TSX_START_SECONDS) is left out: a host pays it before its
 * first task arrives, while the replay is planned and the versions are checked out (measured on the iris
 * bench: the first task waited 0.1–0.3 s for a host whose estimate with it was 0.55 s). A run that recorded
 * no imports is charged a whole child's start, tsx's included: nothing better is known of its script.
 */
export function hostStartSeconds(scripts: readonly { filename: string; importSeconds: number | null }[]): number {
  const slowest = new Map<boolean, number>();
  for (const { filename, importSeconds } of scripts) {
    const tsx = runsUnderTsx(filename);
    const start = importSeconds ?? processStartSeconds(filename, null);
    slowest.set(tsx, Math.max(slowest.get(tsx) ?? 0, start));
  }
  return [...slowest.values()].reduce((a, b) => a + b, 0);
}

export function restoreSeconds(bytes: number): number {
  return RESTORE_FIXED_SECONDS + bytes * RESTORE_SECONDS_PER_BYTE;
}

/**
 * The wall time of `costs` on `workers` workers, each task going to the least loaded (longest first);
 * worker i can begin after `starts[i]` seconds (its task processes' start), 0 when not given.
 */
export function makespan(costs: readonly number[], workers: number, starts: readonly number[] = []): number {
  const loads = Array.from({ length: Math.max(1, workers) }, (_, i) => starts[i] ?? 0);
  for (const cost of [...costs].sort((a, b) => b - a)) {
    let least = 0;
    for (let i = 1; i < loads.length; i++) if (loads[i]! < loads[least]!) least = i;
    loads[least]! += cost;
  }
  return Math.max(...loads);
}

/**
 * How many of `workers` are worth starting for tasks costing `costs`: each worker beyond the first pays
 * its task processes' start (`hostStart`), which also delays the job's other processes about as much
 * (measured on 2 cores: ten 0.1 s iris tasks took 1.3–1.5 s on two workers, 1.2–1.3 s on one), so one is
 * added only when, charged that too, it shortens the job by a tenth. The first worker can begin after
 * `head`. Returns that many workers and the job's estimated wall time with them: the schedule alone, as
 * the charge is a margin for the choice (on the bench's every-epoch job, ten 0.3 s tasks on two workers
 * took 1.9–2.0 s: the schedule says 2.0 s, the charge made it 2.5 s).
 */
export function workersWorthStarting(
  costs: readonly number[],
  workers: number,
  head: number,
  hostStart: number,
): { workers: number; seconds: number } {
  const schedule = (w: number) =>
    makespan(
      costs,
      w,
      Array.from({ length: w }, (_, i) => (i === 0 ? head : hostStart)),
    );
  let best = { workers: 1, charged: schedule(1) };
  for (let w = 2; w <= Math.min(workers, costs.length); w++) {
    const charged = schedule(w) + (w - 1) * hostStart;
    if (charged < 0.9 * best.charged) best = { workers: w, charged };
  }
  return { workers: best.workers, seconds: schedule(best.workers) };
}
