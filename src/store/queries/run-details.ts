import type { JsonValue } from "../../journal/records.js";
import type { Kysely } from "kysely";
import type { Database } from "../schema.js";
import { REPLAYED_SEQ } from "./logs.js";

/** A loop of a run: every execution of the loop `name` at one place in the nesting, taken together. */
export interface LoopStructure {
  runId: number;
  name: string;
  /** The enclosing loop's name; null for an outermost loop. */
  parent: string | null;
  depth: number;
  /** How many times the loop was entered (once per iteration of its parent). */
  executions: number;
  /** Iterations over all executions. */
  iterations: number;
  /** Summed iteration time; null when no iteration recorded one (a killed run). */
  seconds: number | null;
}

/** The loops of these runs, per run in order of first entry. From the per-iteration rows, so a killed run has them too. */
export async function loopStructures(db: Kysely<Database>, runIds: readonly number[]): Promise<LoopStructure[]> {
  if (runIds.length === 0) return [];
  const rows = await db
    .selectFrom("loops as l")
    .leftJoin("loops as p", (join) => join.onRef("p.run_id", "=", "l.run_id").onRef("p.ctx_id", "=", "l.parent_ctx_id"))
    .select((eb) => [
      "l.run_id",
      "l.name",
      "l.depth",
      "p.name as parent",
      eb.fn.countAll<string>().as("iterations"),
      // Every execution of a loop starts at iteration 0.
      eb.fn.countAll<string>().filterWhere("l.iteration", "=", 0).as("executions"),
      eb.fn.sum<number | null>("l.seconds").as("seconds"),
      eb.fn.min("l.ctx_id").as("first"),
    ])
    .where("l.run_id", "in", runIds)
    .groupBy(["l.run_id", "l.name", "l.depth", "p.name"])
    .orderBy("l.run_id")
    .orderBy("first")
    .execute();
  return rows.map((row) => ({
    runId: row.run_id,
    name: row.name,
    parent: row.parent,
    depth: row.depth,
    executions: Number(row.executions),
    iterations: Number(row.iterations),
    seconds: row.seconds === null ? null : Number(row.seconds),
  }));
}

export interface CheckpointSummary {
  runId: number;
  /** The loop iteration it was taken at the end of, as loop name → index (and `<name>_value` → item). */
  coordinates: Record<string, JsonValue>;
  /** Object name → content hash in the checkpoint store. */
  objects: JsonValue;
  bytes: number;
  writtenBytes: number;
  seconds: number;
}

/** The checkpoints of these runs, per run in the order they were taken. */
export async function checkpointSummaries(db: Kysely<Database>, runIds: readonly number[]): Promise<CheckpointSummary[]> {
  if (runIds.length === 0) return [];
  const rows = await db
    .selectFrom("checkpoints as c")
    .leftJoin("loops as l", (join) => join.onRef("l.run_id", "=", "c.run_id").onRef("l.ctx_id", "=", "c.ctx_id"))
    .select(["c.run_id", "c.objects", "c.bytes", "c.written_bytes", "c.seconds", "l.dims"])
    .where("c.run_id", "in", runIds)
    .orderBy("c.run_id")
    .orderBy("c.ctx_id")
    .execute();
  return rows.map((row) => ({
    runId: row.run_id,
    coordinates: (row.dims ?? {}) as Record<string, JsonValue>,
    objects: row.objects,
    bytes: Number(row.bytes),
    writtenBytes: Number(row.written_bytes),
    seconds: row.seconds,
  }));
}

/**
 * Where a page of a run's logs ends. Values are read name by name (in code-point order); within a
 * name, those logged in loops come in loop order (context, then journal line), those outside every
 * loop (`ctx` null) after them in journal order. Each step is a range of the (name, run, context)
 * index, so a page costs the same at the start of a million rows as at their end.
 */
export interface LogPosition {
  name: string;
  ctx: number | null;
  seq: number;
}

export interface LogEntry extends LogPosition {
  value: JsonValue;
  coordinates: Record<string, JsonValue>;
  /** Filled by a replay (replayed values are numbered from REPLAYED_SEQ), not logged by the run. */
  replayed: boolean;
  /** False for a replayed value no replay could verify. */
  verified: boolean;
}

/** Up to `limit` logged values of a run after `after`, in LogPosition order; `names` null means every name. */
export async function runLogs(
  db: Kysely<Database>,
  runId: number,
  names: readonly string[] | null,
  after: LogPosition | null,
  limit: number,
): Promise<LogEntry[]> {
  const logged = (await db.selectFrom("log_names").select("name").where("run_id", "=", runId).execute()).map((r) => r.name);
  const wanted = names === null ? logged : logged.filter((name) => names.includes(name));
  // Code-point order, the same in JavaScript as for any database collation.
  const ordered = wanted.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).filter((name) => after === null || name >= after.name);
  const entries: LogEntry[] = [];
  for (const name of ordered) {
    const resume = after !== null && after.name === name ? after : null;
    if (resume === null || resume.ctx !== null) {
      entries.push(...(await segment(db, runId, name, "loops", resume, limit - entries.length)));
      if (entries.length >= limit) break;
    }
    entries.push(...(await segment(db, runId, name, "outside", resume, limit - entries.length)));
    if (entries.length >= limit) break;
  }
  return entries;
}

/** One name's values either in loops or outside every loop, after `resume` when it is in this segment. */
async function segment(
  db: Kysely<Database>,
  runId: number,
  name: string,
  part: "loops" | "outside",
  resume: LogPosition | null,
  limit: number,
): Promise<LogEntry[]> {
  let query = db
    .selectFrom("logs as g")
    .leftJoin("loops as l", (join) => join.onRef("l.run_id", "=", "g.run_id").onRef("l.ctx_id", "=", "g.ctx_id"))
    .select(["g.ctx_id", "g.seq", "g.num", "g.value", "g.unverified", "l.dims"])
    .where("g.run_id", "=", runId)
    .where("g.name", "=", name);
  if (part === "outside") {
    query = query.where("g.ctx_id", "is", null);
    if (resume !== null && resume.ctx === null) query = query.where("g.seq", ">", resume.seq);
  } else {
    query = query.where("g.ctx_id", "is not", null);
    if (resume !== null && resume.ctx !== null) {
      const { ctx, seq } = resume;
      // The lower bound on ctx_id alone is what the index can range over.
      query = query.where("g.ctx_id", ">=", ctx).where((eb) => eb.or([eb("g.ctx_id", ">", ctx), eb("g.seq", ">", seq)]));
    }
  }
  const rows = await query.orderBy("g.ctx_id").orderBy("g.seq").limit(limit).execute();
  return rows.map((row) => ({
    name,
    ctx: row.ctx_id,
    seq: row.seq,
    // Non-finite numbers have no JSON form: they come out as null, as in FlorQL answers.
    value: row.num ?? row.value ?? null,
    coordinates: (row.dims ?? {}) as Record<string, JsonValue>,
    replayed: row.seq >= REPLAYED_SEQ,
    verified: row.unverified !== true,
  }));
}
