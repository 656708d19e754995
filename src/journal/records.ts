/**
 * The journal: one JSON object per line, appended by a training run (`.flor/journals/`) or a replay
 * child (`.flor/replays/`) and read by ingestion. These are the records as the codec (encode.ts,
 * decode.ts) hands them over; it alone knows how they are spelled on disk. Keys are short because a run
 * may write millions of `log` lines. `format` in the first record versions the layout.
 */
export const JOURNAL_FORMAT = 1;

/** The `format` of a replay journal's header. */
export const REPLAY_JOURNAL_FORMAT = 1;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** First line of every run journal. */
export interface RunRecord {
  k: "run";
  format: typeof JOURNAL_FORMAT;
  projid: string;
  tstamp: string;
  filename: string;
  vid: string | null;
  pid: number;
  host: string;
  argv: string[];
  node: string;
}

/** A hyper-parameter; `src` says where its value came from. */
export interface ArgRecord {
  k: "arg";
  n: string;
  v: JsonValue;
  src: "default" | "kwargs";
}

/** Entering iteration `i` of loop `n`; `id` is unique within the run, `p` is the enclosing iteration. */
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

/** The end of an iteration and how long it took (seconds). */
export interface IterationEndRecord {
  k: "it";
  id: number;
  s: number;
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
 * checkpoint thread (`bg`) over `loop` seconds of outermost loops.
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
  format: typeof REPLAY_JOURNAL_FORMAT;
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
  | LogRecord
  | CheckpointRecord
  | CheckpointCheckRecord
  | CheckpointPolicyRecord
  | LoopEndRecord
  | EndRecord
  | ReplayHeaderRecord
  | PhaseRecord;
