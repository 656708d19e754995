import { unregisteredState } from "../propagate/unregistered-state.js";
import type { DivergenceSummary, TaskDiagnosis } from "../store/queries/replay-divergences.js";

/** A replayed script's entry file as the replay ran it, and its outermost loop. */
export interface ScriptSource {
  code: string;
  filename: string;
  loop: string | null;
}

/**
 * Why a task's replays diverged, in words, from which of them did: a replay from a checkpoint that a
 * replay from the start then reproduced points at state that is not checkpointed (and `unregistered`
 * names the variables propagation sees); a replay from the start that diverged points at a script that
 * does not repeat itself, which explains a diverged replay from a checkpoint too.
 */
export function diagnose(
  checkpoints: DivergenceSummary | null,
  start: DivergenceSummary | null,
  unregistered: readonly string[],
): TaskDiagnosis {
  const changes =
    unregistered.length === 0 ? "" : `the loop changes ${unregistered.join(", ")}, which flor.checkpointing does not register`;
  const cause =
    start === null
      ? `state that carries over between iterations is not registered with flor.checkpointing, so a replay from a checkpoint did not start where the run was${changes === "" ? "" : ` (${changes})`}`
      : `the script does not repeat itself: a replay from the run's start did not reproduce its recorded values (unseeded random numbers, time, concurrency, or data or dependencies that changed since the run)${changes === "" ? "" : `; also, ${changes}`}`;
  return { checkpoints, start, cause, unregistered: [...unregistered] };
}

/** The module-level variables the script's outermost loop changes without registering them; none when the source is not known. */
export function unregisteredIn(source: ScriptSource | null): string[] {
  return source === null ? [] : unregisteredState(source.code, source.filename, source.loop);
}
