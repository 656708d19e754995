import type { CheckpointPolicyRecord } from "../journal/records.js";

/**
 * Decides which outermost iterations are checkpointed. Without a bound, every one. With `maxOverhead`,
 * a checkpoint is taken only while what checkpoints have cost the loop, end to end, stays within that
 * share of the loop's time: the training thread's time to capture a checkpoint, and the checkpoint
 * thread's time to hash and store it, which comes out of the training's time whenever no core is idle
 * for it (a shared or a small machine). Room is kept for the final iteration's checkpoint, which is
 * taken whatever the bound says.
 */
export class CheckpointPolicy {
  private taken = 0;
  private skipped = 0;
  private foregroundMs = 0;
  /** When the run's first outermost loop started (performance.now()), and the loop time at the last decision. */
  private loopStart: number | null = null;
  private loopMs = 0;

  /** Whether iteration's end at `now` (of a loop started at `loopStart`) is checkpointed. */
  decide(maxOverhead: number | undefined, now: number, loopStart: number, backgroundMs: number): boolean {
    this.loopStart ??= loopStart;
    this.loopMs = now - this.loopStart;
    if (maxOverhead === undefined) return true;
    const spent = this.foregroundMs + backgroundMs;
    const next = this.taken === 0 ? 0 : spent / this.taken;
    const take = spent + 2 * next <= maxOverhead * this.loopMs;
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

  /** What was decided over the run, with the checkpoint thread's total time. */
  record(maxOverhead: number | undefined, backgroundMs: number): CheckpointPolicyRecord {
    const seconds = (ms: number): number => Math.round(ms * 1000) / 1e6;
    return {
      k: "ckpolicy",
      max: maxOverhead ?? null,
      taken: this.taken,
      skipped: this.skipped,
      fg: seconds(this.foregroundMs),
      bg: seconds(backgroundMs),
      loop: seconds(this.loopMs),
    };
  }
}
