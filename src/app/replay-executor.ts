import type { ReplayJob } from "../store/queries/replay-jobs.js";

/** Where a job started without waiting for it runs, for the user: a detached `flor replay --job`, the job queue, or `flor serve`. */
export interface StartedReplay {
  jobId: number;
  runner: "background" | "queue" | "server";
  /** The process running it, when one does. */
  pid: number | null;
}

export interface RunOptions {
  /** Hears the job's state as its tasks end. */
  onProgress?: (job: ReplayJob) => void;
  /** Stop waiting after this long and return the job as it is (it goes on running). */
  maxSeconds?: number;
}

/**
 * Runs replay jobs' tasks: in child processes of this machine (the embedded store), or through the job
 * queue on the PostgreSQL server that `flor worker` processes share. A session chooses one when it
 * opens; everything that starts or waits for a replay goes through it.
 */
export interface ReplayExecutor {
  readonly kind: "local" | "queue";
  /**
   * Told, while a replay is planned, which scripts its tasks will run here: their task processes start
   * meanwhile (their start, with the scripts' imports, overlaps planning). Executors whose tasks run
   * elsewhere have nothing to prepare.
   */
  prepare?(scripts: readonly string[]): void;
  /** Has a job's tasks run without waiting for them. `fresh`: a new job (false: one already requested, maybe running elsewhere). */
  start(jobId: number, fresh: boolean): Promise<StartedReplay>;
  /** Has a job's tasks run and waits for the job to end (or for `maxSeconds`). */
  run(jobId: number, fresh: boolean, options?: RunOptions): Promise<ReplayJob>;
  /** For a long-lived process: takes up work left unfinished or queued; returns the jobs it resumed. */
  resume(): Promise<number[]>;
  /** Stops what this process runs (its tasks go back to the queue) and lets go of the queue. */
  stop(): Promise<void>;
}
