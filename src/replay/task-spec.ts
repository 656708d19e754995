import type { ReplaySpec } from "../sdk/replay-spec.js";

/**
 * A replay task as the planner makes it and the store keeps it: everything a worker on any machine
 * needs besides a clone of the repository and the checkpoint objects. The worker adds the job and
 * task ids, the attempt, and where the journal and objects are, to make the child's ReplaySpec.
 */
export interface TaskSpec extends Omit<ReplaySpec, "format" | "job" | "task" | "attempt" | "journal" | "objectsDir"> {
  /** The original run's command-line arguments (after the script). */
  argv: string[];
  /** Repository-relative path → the file's source at the run's vid with the statements propagated into it. */
  patches: Record<string, string>;
  /** Run in a process of its own, never in a warm task host (a from-scratch re-run: what re-running the script costs and gives). */
  fresh?: boolean;
}
