import type { JobState } from "../app/flor-api.js";

/**
 * Replay progress on stderr: a bar redrawn in place on a terminal, a line per finished task otherwise
 * (logs and CI), so long replays always show that they move.
 */
export class ReplayProgress {
  private lastDone = -1;
  private readonly started = performance.now();
  private readonly tty = process.stderr.isTTY === true;

  update(job: Pick<JobState, "id" | "tasks" | "iterations" | "values">): void {
    const finished = job.tasks.done + job.tasks.failed + job.tasks.cancelled;
    if (finished === this.lastDone && !this.tty) return;
    this.lastDone = finished;
    const total = Math.max(1, job.tasks.total);
    const width = 24;
    const filled = Math.round((finished / total) * width);
    const seconds = ((performance.now() - this.started) / 1000).toFixed(1);
    const text =
      `replay job ${job.id} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${finished}/${job.tasks.total} tasks, ` +
      `${job.iterations.done}/${job.iterations.total} iterations, ${job.values} values${job.tasks.failed > 0 ? `, ${job.tasks.failed} failed` : ""}, ${seconds} s`;
    process.stderr.write(this.tty ? `\r${text}\u001b[K` : `${text}\n`);
  }

  end(): void {
    if (this.tty && this.lastDone >= 0) process.stderr.write("\n");
  }
}
