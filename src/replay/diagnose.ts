import { unregisteredState } from "../propagate/unregistered-state.js";
import type { DivergenceSummary, TaskDiagnosis } from "../store/queries/replay-divergences.js";

/** A replayed script's entry file as the replay ran it, and its outermost loop. */
export interface ScriptSource {
  code: string;
  filename: string;
  loop: string | null;
}

/**
 * Why a task's replays diverged, in words, from which of them did: a replay from checkpoints that a
 * replay from the start then reproduced points at state that is not checkpointed (and `unregistered`
 * names the variables propagation sees); a replay from the start that diverged points at a script that
 * does not repeat itself.
 */
export function diagnose(
  checkpoints: DivergenceSummary | null,
  start: DivergenceSummary | null,
  unregistered: readonly string[],
): TaskDiagnosis {
  const causes: string[] = [];
  if (checkpoints !== null)
    causes.push(
      `the replay from a checkpoint did not reproduce the recorded values: state that carries over between iterations is not registered with flor.checkpointing${
        unregistered.length === 0 ? "" : ` (the loop changes ${unregistered.join(", ")}, which is not registered)`
      }`,
    );
  if (start !== null)
    causes.push(
      `a replay from the run's start did not reproduce them${checkpoints === null ? "" : " either"}: the script does not repeat itself (unseeded random numbers, time, concurrency, or data or dependencies that changed since the run)`,
    );
  return { checkpoints, start, cause: causes.join("; "), unregistered: [...unregistered] };
}

/** The module-level variables the script's outermost loop changes without registering them; none when the source is not known. */
export function unregisteredIn(source: ScriptSource | null): string[] {
  return source === null ? [] : unregisteredState(source.code, source.filename, source.loop);
}
