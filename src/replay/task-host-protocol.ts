/** A task sent to a warm task host (src/replay/task-host.ts): run `script` as if started as `node script ...argv` in `cwd`. */
export interface HostTask {
  /** The host's task number, which makes the script's own modules fresh (see task-host-loader.ts). */
  n: number;
  script: string;
  argv: string[];
  cwd: string;
  /** Set for the task only (FLOR_REPLAY). */
  env: Record<string, string>;
}

/** How a hosted task ended. */
export interface HostReport {
  n: number;
  /** The exit code a process of its own would have ended with. */
  exitCode: number;
  /** Why the host cannot say the task ran as in a process of its own (it threw, or left work behind), or null. */
  problem: string | null;
  /** Why the host cannot run another task (something of this one is left running, or the process was changed), or null. */
  left: string | null;
}
