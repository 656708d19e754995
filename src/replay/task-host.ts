/**
 * A warm task host: a process that runs successive replay tasks of one project (see task-hosts.ts), so
 * that node's start, tsx and the packages a script imports (TensorFlow.js, say) are paid once, not once
 * per task. For each task it sets the script's argv, environment and working directory, forgets the
 * project's own modules (they are evaluated afresh; packages stay loaded), and imports the entry module.
 * Where a process of its own would exit (the SDK ends the replay, the script calls `process.exit`, or it
 * finishes and nothing is left to run) the task ends instead: the SDK finishes its journal as at exit, and
 * the host reports the exit code. A task that fails, or leaves anything running or changed, is reported
 * so: the runner then discards the host (and, when the result itself is in doubt, runs the task again in a
 * process of its own). Started as `node [--import tsx] task-host.js <project root>` with an IPC channel.
 */
import { realpathSync } from "node:fs";
import { createRequire, register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { installTaskHost } from "../sdk/task-host-hook.js";
import type { HostReport, HostTask } from "./task-host-protocol.js";

const root = realpathSync(process.argv[2]!);
/** How long a script ended by an exit may take to unwind, and its leftover work to finish, before the host counts it as left behind. */
const UNWIND_MS = 200;
const STALL_CHECK_MS = 50;
register(new URL("./task-host-loader.js", import.meta.url), { data: { root } });
const moduleCache = createRequire(import.meta.url).cache;

/**
 * Thrown where a process of its own would have exited, so the script stops there. It unwinds the script
 * (whose `finally` blocks run, unlike at an exit); the SDK refuses to start a run after the task ended.
 */
class TaskExit {
  constructor(readonly code: number) {}
}

interface Running {
  ended: number | null;
  /** Why the task's result cannot be trusted as a process of its own's, once known. */
  problem: string | null;
  onEnd: () => void;
}

let running: Running | null = null;
/** Each SDK instance's end-of-run work (see TaskHostHook.attach), kept for every task. */
const ends: ((code: number) => void)[] = [];

installTaskHost({
  attach: (end) => ends.push(end),
  checkOpen: () => {
    if (running === null || running.ended !== null) throw new TaskExit(running?.ended ?? 1);
  },
});

const exit = process.exit.bind(process);
process.exit = ((code?: string | number | null) => {
  const task = running;
  if (task === null) return exit(code);
  const status = exitCodeOf(code ?? process.exitCode);
  end(task, status);
  throw new TaskExit(task.ended ?? status);
}) as typeof process.exit;

// A task's uncaught error ends it with code 1, as it would end a process of its own.
for (const event of ["uncaughtException", "unhandledRejection"] as const)
  process.on(event, (error: unknown) => {
    if (error instanceof TaskExit) return;
    const task = running;
    if (task === null) {
      // Something a finished task left behind failed: this host is not to be trusted again.
      process.stderr.write(`${describe(error)}\n`);
      exit(1);
      return;
    }
    failed(task, error);
  });
// The runner is gone: so is its host.
process.on("disconnect", () => exit(0));
process.on("message", (task: HostTask) => {
  void runTask(task).then((report) => process.send!(report));
});

/** Process events a script may listen to; a listener added by a task outlives it, so the host is not reused. */
const WATCHED_EVENTS = ["exit", "beforeExit", "uncaughtException", "unhandledRejection", "SIGINT", "SIGTERM", "warning"] as const;

async function runTask(task: HostTask): Promise<HostReport> {
  const saved = {
    argv: process.argv,
    cwd: process.cwd(),
    env: { ...process.env },
    listeners: WATCHED_EVENTS.map((event) => process.listenerCount(event)),
    resources: resourceCounts(),
  };
  forgetProjectModules();
  process.argv = [process.argv[0]!, task.script, ...task.argv];
  Object.assign(process.env, task.env);
  process.chdir(task.cwd);
  process.exitCode = undefined;
  let onEnd = (): void => undefined;
  const ended = new Promise<void>((resolve) => {
    onEnd = resolve;
  });
  const current: Running = { ended: null, problem: null, onEnd };
  running = current;
  let settled = false;
  const imported = import(`${pathToFileURL(task.script).href}?flor-task=${task.n}`).then(
    () => {
      settled = true;
    },
    (error: unknown) => {
      settled = true;
      if (!(error instanceof TaskExit)) failed(current, error);
    },
  );
  const watch = stalled(() => settled || current.ended !== null, saved.resources);
  await Promise.race([imported, ended, watch.stalled]);
  watch.stop();
  if (!settled && current.ended === null) {
    // As node ends a process whose top-level await can never settle (exit code 13); a process of its own says for sure.
    current.problem = "the script's top-level await never settles";
    end(current, 13);
  } else if (current.ended === null) {
    // The script's module finished: like a process of its own, the task ends once nothing is left to run.
    while (current.ended === null && !idle(saved.resources)) await pause();
    if (current.ended === null) end(current, exitCodeOf(process.exitCode));
  } else {
    // Ended by an exit: the script unwinds (its module rejects with TaskExit) at once, or is left behind.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([imported, new Promise((resolve) => (timer = setTimeout(resolve, UNWIND_MS)))]);
    clearTimeout(timer);
  }
  // What the task started and did not wait for (tsx writing its cache, say) may finish; a process of its own would have dropped it.
  const deadline = performance.now() + UNWIND_MS;
  while (!idle(saved.resources) && performance.now() < deadline) await pause();
  await turn();
  const addedExitListener = WATCHED_EVENTS.slice(0, 2).some((event, i) => process.listenerCount(event) !== saved.listeners[i]);
  if (addedExitListener && current.problem === null) current.problem = "the script listens for the process's exit";
  const changed = WATCHED_EVENTS.filter((event, i) => process.listenerCount(event) !== saved.listeners[i]);
  const left =
    current.problem !== null
      ? current.problem
      : !settled
        ? "the script was still running when it ended"
        : !idle(saved.resources)
          ? `it left work running (${leftover(saved.resources).join(", ")})`
          : changed.length > 0
            ? `it listens for the process's ${changed.join(", ")} events`
            : null;
  running = null;
  process.argv = saved.argv;
  for (const name of Object.keys(process.env)) if (!(name in saved.env)) delete process.env[name];
  Object.assign(process.env, saved.env);
  process.chdir(saved.cwd);
  process.exitCode = undefined;
  return { n: task.n, exitCode: current.ended!, problem: current.problem, left };
}

/** The task ends with `code`: every SDK instance finishes its run as at a process's exit. */
function end(task: Running, code: number): void {
  if (task.ended !== null) return;
  task.ended = code;
  for (const finish of ends) {
    try {
      finish(code);
    } catch (error) {
      task.problem ??= `finishing the journal failed: ${describe(error)}`;
    }
  }
  task.onEnd();
}

function failed(task: Running, error: unknown): void {
  // As node prints an uncaught error, so the runner's message says what went wrong.
  process.stderr.write(`${describe(error)}\n`);
  task.problem ??= `the script failed: ${describe(error).split("\n")[0]}`;
  end(task, 1);
}

/** The project's CommonJS modules are forgotten so that a task requires them afresh (packages stay). */
function forgetProjectModules(): void {
  const prefix = root.endsWith(path.sep) ? root : `${root}${path.sep}`;
  for (const file of Object.keys(moduleCache))
    if (file.startsWith(prefix) && !file.slice(prefix.length).split(path.sep).includes("node_modules")) delete moduleCache[file];
}

/** Whether nothing keeps the event loop alive beyond what did before the task (timers, sockets, child processes). */
function idle(before: Map<string, number>): boolean {
  for (const [kind, count] of resourceCounts()) if (count > (before.get(kind) ?? 0)) return false;
  return true;
}

function leftover(before: Map<string, number>): string[] {
  return [...resourceCounts()].filter(([kind, count]) => count > (before.get(kind) ?? 0)).map(([kind]) => kind);
}

function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/**
 * Resolves when nothing is left that could settle the script's module (no work beyond what ran before
 * the task, twice in a row) while `done()` is still false: a process of its own would have exited there.
 */
function stalled(done: () => boolean, before: Map<string, number>): { stalled: Promise<void>; stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let stop = (): void => undefined;
  const check = async (): Promise<void> => {
    let idleChecks = 0;
    while (!done() && idleChecks < 2) {
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STALL_CHECK_MS);
        // Stopped: the timer goes (it would count as the task's leftover work) and the watch never resolves.
        stop = () => clearTimeout(timer);
      });
      await turn();
      idleChecks = idle(before) ? idleChecks + 1 : 0;
    }
  };
  return { stalled: check(), stop: () => stop() };
}

/** A turn of the event loop, checked from an immediate (which is no longer an active resource when it runs). */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits a little (without spinning the CPU while the script awaits), then a turn. */
async function pause(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 2));
  await turn();
}

function exitCodeOf(code: string | number | null | undefined): number {
  const value = Number(code ?? 0);
  return Number.isInteger(value) ? value : 1;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}
