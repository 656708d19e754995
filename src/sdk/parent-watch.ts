/**
 * A replay task's process ends when the replay that started it is gone (killed, say), instead of
 * running on beside the replay that takes the job over. The replay names itself in FLOR_REPLAY_PARENT;
 * once this process's parent is another one (it was re-parented), it kills itself, leaving its journal
 * unfinished as a killed task's, so nothing it wrote counts as a finished task. Checked on a timer
 * (for scripts that await) and at each outermost iteration's end (for synchronous loops, which starve
 * timers).
 */
export class ParentWatch {
  private constructor(private readonly parent: number) {}

  /** The watch this process needs, or null when no replay started it. */
  static fromEnvironment(): ParentWatch | null {
    const parent = Number(process.env["FLOR_REPLAY_PARENT"]);
    if (!Number.isInteger(parent) || parent <= 0) return null;
    const watch = new ParentWatch(parent);
    setInterval(() => watch.check(), 500).unref();
    return watch;
  }

  check(): void {
    if (process.ppid === this.parent) return;
    process.stderr.write(`flor: the replay that started this task (pid ${this.parent}) is gone; stopping\n`);
    process.kill(process.pid, "SIGKILL");
  }
}
