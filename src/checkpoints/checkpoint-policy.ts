import type { CheckpointPolicyRecord } from "../journal/records.js";

/**
 * What the checkpoint thread has cost so far (ms): its start-up (a Node worker's isolate and bootstrap),
 * where the system tells it (else null), and its work on checkpoints.
 */
export interface ThreadCost {
  startMs: number | null;
  workMs: number;
}

/** What the policy asks about the run when it needs to: the checkpoint thread's cost (null: not started), and the registered state's size. */
export interface CheckpointCosts {
  thread(): ThreadCost | null;
  stateBytes(): number;
}

/**
 * What the first checkpoint is assumed to cost before any was taken: starting the checkpoint thread
 * (28-34 ms of CPU time on this project's 2-core VM, which comes out of the training whenever no core is
 * idle), and per MiB of state, capturing it (0.1-0.3 ms) and hashing and storing it (1.4-2.3 ms).
 */
const THREAD_START_MS = 30;
const MS_PER_MIB = 2.5;

/**
 * Decides which outermost iterations are checkpointed. Without a bound, every one. With `maxOverhead`,
 * a checkpoint is taken only while what checkpoints have cost the loop, end to end, stays within that
 * share of the loop's time: the training thread's time to capture them, and the checkpoint thread's
 * time to start and to hash and store them, which comes out of the training's time whenever no core is
 * idle for it (a shared or a small machine). Before the first, its cost is estimated from the state's
 * size and the thread's start, so a loop too short to afford one is not slowed by it. Room is kept for
 * the final iteration's checkpoint, which is taken whatever the bound says.
 */
export class CheckpointPolicy {
  private taken = 0;
  private skipped = 0;
  private foregroundMs = 0;
  private stateBytes: number | null = null;
  /** When the run's first outermost loop started (performance.now()), and the loop time at the last decision. */
  private loopStart: number | null = null;
  private loopMs = 0;

  /** Whether iteration's end at `now` (of a loop started at `loopStart`) is checkpointed. */
  decide(maxOverhead: number | undefined, now: number, loopStart: number, costs: CheckpointCosts): boolean {
    this.loopStart ??= loopStart;
    this.loopMs = now - this.loopStart;
    if (maxOverhead === undefined) return true;
    const budget = maxOverhead * this.loopMs;
    const thread = costs.thread();
    const start = thread?.startMs ?? THREAD_START_MS;
    const spent = this.foregroundMs + (thread === null ? 0 : start + thread.workMs);
    // A thread not started yet is started by the next checkpoint; until the budget covers that, the state need not be sized.
    const starting = thread === null ? start : 0;
    const take = spent + starting <= budget && spent + starting + 2 * this.each(thread, costs) <= budget;
    if (!take) this.skipped++;
    return take;
  }

  /** Whether no checkpoint was taken yet: the next one is the run's first, which is checked. */
  get first(): boolean {
    return this.taken === 0;
  }

  /** A checkpoint was taken; capturing it cost the training thread `ms`. `skipped`: of an iteration the bound had skipped (the final one). */
  took(ms: number, skipped = false): void {
    this.taken++;
    if (skipped) this.skipped--;
    this.foregroundMs += ms;
  }

  /** What was decided over the run, with the checkpoint thread's total time (start-up included where measured). */
  record(maxOverhead: number | undefined, thread: ThreadCost | null): CheckpointPolicyRecord {
    const seconds = (ms: number): number => Math.round(ms * 1000) / 1e6;
    return {
      k: "ckpolicy",
      max: maxOverhead ?? null,
      taken: this.taken,
      skipped: this.skipped,
      fg: seconds(this.foregroundMs),
      bg: seconds(thread === null ? 0 : (thread.startMs ?? 0) + thread.workMs),
      loop: seconds(this.loopMs),
    };
  }

  /** One checkpoint's cost on both threads, the thread's start aside: as measured, or estimated from the state's size (sized once, on the training thread's account). */
  private each(thread: ThreadCost | null, costs: CheckpointCosts): number {
    if (this.taken > 0 && thread !== null) return (this.foregroundMs + thread.workMs) / this.taken;
    if (this.stateBytes === null) {
      const started = performance.now();
      this.stateBytes = costs.stateBytes();
      this.foregroundMs += performance.now() - started;
    }
    return (MS_PER_MIB * this.stateBytes) / 2 ** 20;
  }
}
