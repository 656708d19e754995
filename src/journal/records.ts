/**
 * The journal: one JSON object per line, appended by a training run (`.flor/journals/`) or a replay
 * child (`.flor/replays/`) and read by ingestion. These are the records as the codec (encode.ts,
 * decode.ts) hands them over; it alone knows how they are spelled on disk. Keys are short because a run
 * may write millions of `log` lines. `format` in the first record versions the layout.
 *
 * Format 2 does not repeat a loop's structure for every iteration. An iteration whose context continues
 * the latest one (the next id, the same loop execution, the next index, and neither of them carrying an
 * item value) has no `ctx` record: its context is implied by the first record that refers to its id, and
 * an id past the latest context always belongs to such a continuation (see context-ranges.ts). Iteration
 * times come in batches (`its`). Format 1 wrote a `ctx` and an `it` record for every iteration; it
 * still reads, and means the same.
 */
export const JOURNAL_FORMAT = 2;

/** The `format` of a replay journal's header (the same layout as a run journal's). */
export const REPLAY_JOURNAL_FORMAT = 2;

/** The formats this flordb reads, run and replay journals alike. */
export type JournalFormat = 1 | 2;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** First line of every run journal. */
export interface RunRecord {
  k: "run";
  format: JournalFormat;
  projid: string;
  tstamp: string;
  filename: string;
  vid: string | null;
  pid: number;
  host: string;
  argv: string[];
  node: string;
  /**
   * Seconds from the process's start to the script's first flordb call: node's start and the script's
   * own imports, which a replay pays again. Absent in journals written before flordb recorded it.
   */
  imp?: number;
}

/** A hyper-parameter; `src` says where its value came from. */
export interface ArgRecord {
  k: "arg";
  n: string;
  v: JsonValue;
  src: "default" | "kwargs";
}

/**
 * Entering iteration `i` of loop `n`; `id` is unique within the run and ids are given in execution
 * order, `p` is the enclosing iteration. Format 2 writes it only for an iteration that does not continue
 * the latest context.
 */
export interface ContextRecord {
  k: "ctx";
  id: number;
  p: number | null;
  n: string;
  i: number;
  /** The item, when it is a JSON scalar and the loop was not given a plain count. */
  v?: ContextValue;
}

export type ContextValue = string | number | boolean;

/** The end of an iteration and how long it took (seconds). Format 1; format 2 writes `its`. */
export interface IterationEndRecord {
  k: "it";
  id: number;
  s: number;
}

/** The iterations with contexts `id`, `id + 1`, … ended, after `s[0]`, `s[1]`, … seconds. */
export interface IterationTimesRecord {
  k: "its";
  id: number;
  s: number[];
}

/**
 * A logged value in context `c` (null: outside every loop). `v` may be NaN or ±Infinity (NaN losses are
 * exactly what people debug): the codec keeps them, where JSON alone would turn them into null.
 */
export interface LogRecord {
  k: "log";
  c: number | null;
  n: string;
  v: JsonValue;
}

/** A checkpoint of the registered objects, taken at the end of an outermost iteration. */
export interface CheckpointRecord {
  k: "ckpt";
  c: number;
  /** Object name → content hash in the object store. */
  o: Record<string, string>;
  /** Total serialised bytes. */
  b: number;
  /** Bytes newly written (the rest was already stored). */
  w: number;
  s: number;
}

/**
 * The check of a run's first checkpoint: its state went through a capture → restore → capture round
 * trip. When it failed (`ok` false), `o` is the registered object, `p` the path inside it and `r` what is
 * wrong there, and none of the run's checkpoints can be used for replay.
 */
export interface CheckpointCheckRecord {
  k: "ckcheck";
  c: number;
  ok: boolean;
  o?: string;
  p?: string;
  r?: string;
}

/**
 * What the checkpoint policy decided over a run (written at its end): the bound it kept (`max`, the
 * `maxOverhead` fraction, or null for a checkpoint every outermost iteration), the outermost iterations
 * checkpointed and skipped, and the seconds checkpoints cost the training thread (`fg`) and the
 * checkpoint thread (`bg`: its CPU time, its start included, where Linux tells it; else the wall time of
 * its work) over `loop` seconds of outermost loops.
 */
export interface CheckpointPolicyRecord {
  k: "ckpolicy";
  max: number | null;
  taken: number;
  skipped: number;
  fg: number;
  bg: number;
  loop: number;
}

/** A whole loop finished: under context `c`, loop `n` ran `count` iterations, starting `t0` s after the run began. */
export interface LoopEndRecord {
  k: "loop";
  c: number | null;
  n: string;
  count: number;
  t0: number;
  s: number;
}

export type RunStatus = "running" | "ok" | "failed" | "incomplete";

/** Last line of a run that ended while the process could still write. */
export interface EndRecord {
  k: "end";
  status: Exclude<RunStatus, "running" | "incomplete">;
  exit: number | null;
  s: number;
  error?: string;
}

/**
 * First line of a replay journal: the original run it replays (its values are stored under that run's
 * identity) and what the replay task covers (see src/sdk/replay-spec.ts).
 */
export interface ReplayHeaderRecord {
  k: "replay";
  format: JournalFormat;
  vid: string | null;
  projid: string;
  tstamp: string;
  filename: string;
  job: number;
  task: number;
  attempt: number;
  /** The log names the replay was asked for. */
  names: string[];
  /** The outermost loop whose iterations were fast-forwarded, or null for a whole-script replay. */
  loop: { name: string; iterations: number } | null;
  /** Iteration ranges [from, to) of `loop` this task answers for. */
  segments: [number, number][];
  before: boolean;
  after: boolean;
  pid: number;
  host: string;
  node: string;
}

/**
 * In a replay journal, where the values that follow were logged: in the fast-forwarded loop, or after
 * it (before the first phase record: before it).
 */
export interface PhaseRecord {
  k: "phase";
  p: "loop" | "after";
}

export type JournalRecord =
  | RunRecord
  | ArgRecord
  | ContextRecord
  | IterationEndRecord
  | IterationTimesRecord
  | LogRecord
  | CheckpointRecord
  | CheckpointCheckRecord
  | CheckpointPolicyRecord
  | LoopEndRecord
  | EndRecord
  | ReplayHeaderRecord
  | PhaseRecord;
