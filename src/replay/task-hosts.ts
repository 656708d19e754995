import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type ChildResult, runsUnderTsx, tsxLoader } from "./child-process.js";
import type { HostReport, HostTask } from "./task-host-protocol.js";

/** The host process's entry, built: from src/replay (tests) and dist/replay alike, the package's dist/replay. */
const HOST_ENTRY = fileURLToPath(new URL("../../dist/replay/task-host.js", import.meta.url));
const STDERR_TAIL = 4000;

/** A task run by a host: its result, and what the runner must know to trust it. */
export interface HostedResult extends ChildResult {
  host: TaskHost;
  /** Whether the host had run other tasks before this one (their imports were already loaded). */
  reused: boolean;
  /** Why the result is in doubt (the task failed, or did what a host cannot run like a process of its own), or null. */
  problem: string | null;
}

/** Whether replay tasks run in warm task hosts: unless FLOR_WARM_TASKS=0, and when the host is built. */
export function warmTasksEnabled(): boolean {
  return process.env["FLOR_WARM_TASKS"] !== "0" && existsSync(HOST_ENTRY);
}

/**
 * The warm task hosts of a worker (see task-host.ts): one process per script kind (node, or node with
 * tsx's loader) and project, running one task at a time, reused while its tasks end cleanly. A task that
 * does not (it fails, leaves work running, or the runner retires the host after a divergence) ends its host.
 */
export class TaskHosts {
  private readonly idle = new Map<string, TaskHost[]>();
  private readonly live = new Set<TaskHost>();

  async run(
    tree: string,
    projectRoot: string,
    filename: string,
    argv: readonly string[],
    env: Record<string, string>,
    onSpawn?: (kill: () => void) => void,
  ): Promise<HostedResult> {
    const tsx = runsUnderTsx(filename);
    const key = hostKey(projectRoot, tsx);
    const host = this.idle.get(key)?.pop() ?? this.start(projectRoot, tsx);
    onSpawn?.(() => host.kill());
    const reused = host.tasks > 0;
    const { report, exitCode, signal, stderr, seconds } = await host.run({
      script: path.join(tree, filename),
      argv: [...argv],
      cwd: tree,
      env,
    });
    if (report !== null && report.left === null && report.exitCode === 0 && report.problem === null && !host.retiring) {
      (this.idle.get(key) ?? this.idle.set(key, []).get(key)!).push(host);
    } else {
      host.kill();
    }
    const problem = report === null ? `the task process ended before its task did (${signal ?? `exit code ${exitCode}`})` : report.problem;
    return { exitCode, signal, stderr, seconds, host, reused, problem };
  }

  /**
   * Starts hosts ahead of tasks of `filenames` (one each), so that their start (node, tsx, the imports)
   * overlaps the work before those tasks: of each kind, as many are idle as those tasks need.
   */
  prestart(projectRoot: string, filenames: readonly string[]): void {
    for (const tsx of [false, true]) {
      const needed = filenames.filter((filename) => runsUnderTsx(filename) === tsx).length;
      const key = hostKey(projectRoot, tsx);
      const idle = this.idle.get(key) ?? this.idle.set(key, []).get(key)!;
      while (idle.length < needed) idle.push(this.start(projectRoot, tsx));
    }
  }

  /** The host's state is not to be trusted (a task in it diverged): it runs no more tasks. */
  retire(host: TaskHost): void {
    host.retiring = true;
    for (const hosts of this.idle.values()) {
      const index = hosts.indexOf(host);
      if (index >= 0) {
        hosts.splice(index, 1);
        host.kill();
      }
    }
  }

  /** Ends every host, and waits until their processes are gone. */
  async close(): Promise<void> {
    this.idle.clear();
    const hosts = [...this.live];
    for (const host of hosts) host.kill();
    await Promise.all(hosts.map((host) => host.gone));
  }

  private start(projectRoot: string, tsx: boolean): TaskHost {
    const host = new TaskHost(projectRoot, tsx);
    this.live.add(host);
    void host.gone.then(() => {
      this.live.delete(host);
      for (const hosts of this.idle.values()) if (hosts.includes(host)) hosts.splice(hosts.indexOf(host), 1);
    });
    return host;
  }
}

function hostKey(projectRoot: string, tsx: boolean): string {
  return `${tsx ? "tsx" : "node"}\u0000${projectRoot}`;
}

export class TaskHost {
  tasks = 0;
  retiring = false;
  readonly gone: Promise<void>;
  private readonly child: ChildProcess;
  private stderr = "";
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private waiting: ((outcome: HostReport | null) => void) | null = null;

  constructor(projectRoot: string, tsx: boolean) {
    this.child = spawn(process.execPath, [...(tsx ? ["--import", tsxLoader(projectRoot)] : []), HOST_ENTRY, projectRoot], {
      cwd: projectRoot,
      // The host stops itself when this process dies (see src/sdk/parent-watch.ts), and when its channel closes.
      env: { ...process.env, FLOR_REPLAY_PARENT: String(process.pid) },
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    this.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_TAIL);
    });
    this.child.on("message", (report: HostReport) => this.settle(report));
    this.gone = new Promise((resolve) => {
      this.child.on("error", (error) => {
        this.stderr += `\n${error.message}`;
        this.exited ??= { code: null, signal: null };
        this.settle(null);
        resolve();
      });
      this.child.on("exit", (code, signal) => {
        this.exited = { code, signal };
        this.settle(null);
        resolve();
      });
    });
  }

  async run(
    task: Omit<HostTask, "n">,
  ): Promise<{ report: HostReport | null; exitCode: number | null; signal: NodeJS.Signals | null; stderr: string; seconds: number }> {
    const started = performance.now();
    this.stderr = "";
    const n = ++this.tasks;
    const report = await new Promise<HostReport | null>((resolve) => {
      this.waiting = resolve;
      if (this.exited !== null) this.settle(null);
      else
        this.child.send({ ...task, n } satisfies HostTask, (error) => {
          // The channel closed under the task (the host died): its exit settles the task.
          if (error !== null) this.kill();
        });
    });
    if (report === null) await this.gone;
    const seconds = (performance.now() - started) / 1000;
    if (report !== null) return { report, exitCode: report.exitCode, signal: null, stderr: this.stderr, seconds };
    return { report, exitCode: this.exited?.code ?? null, signal: this.exited?.signal ?? null, stderr: this.stderr, seconds };
  }

  kill(): void {
    if (this.exited === null) this.child.kill("SIGKILL");
  }

  private settle(report: HostReport | null): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.(report);
  }
}
