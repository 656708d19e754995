import { readFileSync } from "node:fs";
import type { JsonValue } from "../journal/records.js";
import { fromStored } from "../journal/lossless-json.js";

/**
 * What a replay child process is asked to do: the contract between the replay runner (src/replay)
 * and the SDK, passed as a JSON file named by `FLOR_REPLAY`. The same description heads the replay
 * journal, so the journal alone says what its values cover.
 */
export interface ReplaySpec {
  format: typeof REPLAY_FORMAT;
  job: number;
  task: number;
  attempt: number;
  /** The original run: replayed values are journaled under its identity. */
  run: { projid: string; tstamp: string; filename: string; vid: string | null };
  /** The recorded `flor.arg` values, returned instead of defaults and `--kwargs`. */
  args: Record<string, JsonValue>;
  /** The log names the replay was asked for (the rest of what it logs is compared, not stored). */
  names: string[];
  /**
   * The outermost `flor.loop` whose iterations are fast-forwarded, with its recorded iteration count;
   * null runs the whole script, skipping nothing.
   */
  loop: { name: string; iterations: number } | null;
  /** Iteration ranges of `loop` this task answers for, ascending and disjoint. */
  segments: ReplaySegment[];
  /** Whether this task answers for values logged before the loop, and after it. */
  before: boolean;
  after: boolean;
  /** The loop's final state, loaded before leaving the loop when `after` and the last segment ends early. */
  final: CheckpointRef | null;
  /**
   * Iterations of `loop` that run without their inner loops: where the first inner `flor.loop` starts,
   * the iteration's own end-of-iteration checkpoint (in `states`) is loaded, the inner loops yield
   * nothing, and at the iteration's end the registered state must equal that checkpoint. Only `names`
   * are journaled in them (the rest of what such an iteration logs may differ). Absent: none.
   */
  suffix?: { names: string[]; states: CheckpointRef[] } | null;
  /** Where the replay journal goes (created; never overwritten). */
  journal: string;
  /** The checkpoint object store. */
  objectsDir: string;
}

export interface ReplaySegment {
  /** Iterations [from, to) are this task's to answer for. */
  from: number;
  to: number;
  /** Execution starts at `start` (≤ from: a sparse checkpoint can force an earlier start)... */
  start: number;
  /** ...from this checkpoint, taken at the end of iteration `start - 1`; null continues from where execution is. */
  restore: CheckpointRef | null;
}

export interface CheckpointRef {
  /** The loop iteration at whose end the checkpoint was taken. */
  iteration: number;
  /** Registered object name → content hash. */
  objects: Record<string, string>;
}

export const REPLAY_FORMAT = 1;

/** A replay child exits with this code when it cannot replay from checkpoints; the runner then replays from the start. */
export const EXIT_CANNOT_FAST_FORWARD = 75;

/** The replay spec of this process, when `FLOR_REPLAY` names one. */
export function replaySpecFromEnvironment(): ReplaySpec | null {
  const file = process.env.FLOR_REPLAY;
  if (file === undefined || file === "") return null;
  const spec = JSON.parse(readFileSync(file, "utf8")) as ReplaySpec;
  if (spec.format !== REPLAY_FORMAT)
    throw new Error(`FLOR_REPLAY: ${file} has format ${String(spec.format)}, this flordb reads ${REPLAY_FORMAT}`);
  spec.args = Object.fromEntries(Object.entries(spec.args).map(([name, value]) => [name, fromStored(value)]));
  return spec;
}
