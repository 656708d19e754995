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
  /** Iteration → its end-of-iteration checkpoint, for the iterations that skip their inner loops. */
  private readonly suffixStates: Map<number, CheckpointRef>;
  /** The running iteration's end state when it skips its inner loops, and whether it was loaded yet. */
  private suffix: CheckpointRef | null = null;
  private suffixLoaded = false;

  constructor(readonly spec: ReplaySpec) {
    this.suffixStates = new Map((spec.suffix?.states ?? []).map((state) => [state.iteration, state]));
  }

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
    this.suffix = this.suffixStates.get(index) ?? null;
    this.suffixLoaded = false;
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

  /**
   * A loop opens inside the running outermost iteration: null runs it; otherwise it yields nothing, and
   * `restore` (the iteration's end state, given at the first such loop only) is to be loaded first.
   */
  innerLoop(): { restore: CheckpointRef | null } | null {
    if (this.phase !== "loop" || this.suffix === null) return null;
    if (this.suffixLoaded) return { restore: null };
    this.suffixLoaded = true;
    return { restore: this.suffix };
  }

  /** The outermost iteration's body ended: the checkpoint its registered state must now equal, when it skipped its inner loops. */
  iterationEnded(): CheckpointRef | null {
    const state = this.suffix;
    this.suffix = null;
    if (state === null || this.phase !== "loop") return null;
    if (!this.suffixLoaded)
      throw new ReplayMismatch(`iteration ${state.iteration} of flor.loop("${this.spec.loop!.name}") opened no inner flor.loop`);
    return state;
  }

  /** Whether a value logged now under `name` is this task's to journal. */
  responsible(name: string): boolean {
    if (this.spec.loop === null) return true;
    if (this.phase === "before") return this.spec.before;
    if (this.phase === "after") return this.spec.after;
    const segment = this.spec.segments[this.segment];
    if (segment === undefined || this.iteration < segment.from || this.iteration >= segment.to) return false;
    // Without its inner loops, an iteration journals only what data flow shows it computes right.
    return this.suffix === null || this.spec.suffix!.names.includes(name);
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
