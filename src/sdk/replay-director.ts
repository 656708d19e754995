import type { CheckpointRef, ReplaySpec } from "./replay-spec.js";

/** What the fast-forwarded loop does with its next item. */
export type IterationAction =
  | { kind: "skip" }
  | { kind: "run"; restore: CheckpointRef | null }
  /** No more iterations are needed: load `restore` (the final state) and leave the loop, or end the replay when `exit`. */
  | { kind: "stop"; restore: CheckpointRef | null; exit: boolean };

/** The script does not have the shape the recorded run had; the runner falls back to replaying from the start. */
export class ReplayMismatch extends Error {
  override readonly name = "ReplayMismatch";
}

/**
 * Decides, in a replay child, which iterations of the outermost loop execute, which are skipped by
 * loading a checkpoint instead, when the replay can stop, and which logged values are this task's to
 * journal. Pure bookkeeping: the SDK does the loading and the journaling.
 */
export class ReplayDirector {
  private phase: "before" | "loop" | "after" = "before";
  private iteration = -1;
  private lastExecuted = -1;
  private segment = 0;

  constructor(readonly spec: ReplaySpec) {}

  /** Whether a loop opened at top level now is the one to fast-forward (checked against the recording). */
  claims(name: string): boolean {
    const loop = this.spec.loop;
    if (loop === null || this.phase !== "before") return false;
    if (name !== loop.name)
      throw new ReplayMismatch(`the script's outermost flor.loop is "${name}", the recorded run's was "${loop.name}"`);
    this.phase = "loop";
    return true;
  }

  next(index: number): IterationAction {
    const segments = this.spec.segments;
    while (this.segment < segments.length && index >= segments[this.segment]!.to) this.segment++;
    const segment = segments[this.segment];
    if (segment === undefined) return this.stop();
    if (index < segment.start) return { kind: "skip" };
    const restore = index === segment.start && segment.restore !== null && this.lastExecuted !== index - 1 ? segment.restore : null;
    this.iteration = index;
    this.lastExecuted = index;
    return { kind: "run", restore };
  }

  /** The loop ran out of items. Returns whether the replay is over (nothing after the loop is needed). */
  completed(items: number): boolean {
    const loop = this.spec.loop!;
    if (items !== loop.iterations)
      throw new ReplayMismatch(`flor.loop("${loop.name}") has ${items} iterations now, ${loop.iterations} when recorded`);
    this.phase = "after";
    return !this.spec.after;
  }

  /** Whether a value logged now is this task's to journal. */
  responsible(): boolean {
    if (this.spec.loop === null) return true;
    if (this.phase === "before") return this.spec.before;
    if (this.phase === "after") return this.spec.after;
    const segment = this.spec.segments[this.segment];
    return segment !== undefined && this.iteration >= segment.from && this.iteration < segment.to;
  }

  private stop(): IterationAction {
    this.phase = "after";
    if (!this.spec.after) return { kind: "stop", restore: null, exit: true };
    const loop = this.spec.loop!;
    if (this.lastExecuted === loop.iterations - 1) return { kind: "stop", restore: null, exit: false };
    if (this.spec.final === null) throw new ReplayMismatch("the loop's final state is needed but no checkpoint of it was given");
    return { kind: "stop", restore: this.spec.final, exit: false };
  }
}
