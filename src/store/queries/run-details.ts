import { sql, type Kysely, type RawBuilder } from "kysely";
import type { JsonValue } from "../../journal/records.js";
import { contextDims } from "./loop-coordinates.js";
import { STORE_SCHEMA, type Database } from "../schema.js";
import { REPLAYED_SEQ } from "./logs.js";
import { fromStored } from "../../journal/lossless-json.js";

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

/** The loops of these runs, per run in order of first entry. From the stored ranges, so a killed run has them too. */
export async function loopStructures(db: Kysely<Database>, runIds: readonly number[]): Promise<LoopStructure[]> {
  if (runIds.length === 0) return [];
  const ranges = sql.table(`${STORE_SCHEMA}.loop_ranges`);
  const { rows } = await sql<{
    run_id: number;
    name: string;
    depth: number;
    parent: string | null;
    iterations: string;
    executions: string;
    seconds: number | null;
  }>`select l.run_id, l.name, l.depth, p.name as parent, sum(l.count) as iterations,
        -- Every execution of a loop starts at iteration 0, and a range holds it.
        count(*) filter (where l.iteration = 0) as executions, sum(l.seconds) as seconds, min(l.ctx_id) as first
      from ${ranges} l
      left join lateral (select p.name from ${ranges} p where p.run_id = l.run_id and p.ctx_id <= l.parent_ctx_id
        order by p.ctx_id desc limit 1) p on true
      where l.run_id = any(${[...runIds]}::integer[])
      group by l.run_id, l.name, l.depth, p.name
      order by l.run_id, first`.execute(db);
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
  const { rows } = await sql<{
    run_id: number;
    objects: JsonValue;
    bytes: string;
    written_bytes: string;
    seconds: number;
    dims: JsonValue | null;
  }>`select c.run_id, c.objects, c.bytes, c.written_bytes, c.seconds, ${contextDims("r", sql`c.ctx_id`)} as dims
      from ${sql.table(`${STORE_SCHEMA}.checkpoints`)} c
      left join lateral (select * from ${sql.table(`${STORE_SCHEMA}.loop_ranges`)} r where r.run_id = c.run_id and r.ctx_id <= c.ctx_id
        order by r.ctx_id desc limit 1) r on c.ctx_id < r.ctx_id + r.count
      where c.run_id = any(${[...runIds]}::integer[])
      order by c.run_id, c.ctx_id`.execute(db);
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
  const streams = sql.table(`${STORE_SCHEMA}.log_streams`);
  let where: RawBuilder<unknown>;
  if (part === "outside") {
    where = sql`s.ctx_id is null${resume !== null && resume.ctx === null ? sql` and v.seq > ${resume.seq}` : sql``}`;
  } else if (resume !== null && resume.ctx !== null) {
    const { ctx, seq } = resume;
    // Streams from the one that holds `ctx` on, in range order, so a page reads its streams and no more.
    where = sql`s.ctx_id >= coalesce((select max(b.ctx_id) from ${streams} b where b.run_id = ${runId} and b.name = ${name}
        and b.ctx_id <= ${ctx}), 0)
      and v.ctx_id >= ${ctx} and (v.ctx_id > ${ctx} or v.seq > ${seq})`;
  } else {
    where = sql`s.ctx_id is not null`;
  }
  const { rows } = await sql<{
    ctx_id: number | null;
    seq: number;
    num: number | null;
    value: JsonValue | null;
    unverified: boolean | null;
    dims: JsonValue | null;
  }>`
    select v.ctx_id, v.seq, v.num, v.value, v.unverified, ${contextDims("r", sql`v.ctx_id`)} as dims
    from ${streams} s join ${sql.table(`${STORE_SCHEMA}.log_values`)} v on v.stream_id = s.id
    left join ${sql.table(`${STORE_SCHEMA}.loop_ranges`)} r on r.run_id = s.run_id and r.ctx_id = s.ctx_id
    where s.run_id = ${runId} and s.name = ${name} and ${where}
    order by s.ctx_id, v.ctx_id, v.seq limit ${limit}`.execute(db);
  return rows.map((row) => ({
    name,
    ctx: row.ctx_id,
    seq: row.seq,
    // Non-finite numbers have no JSON form: they come out as null, as in FlorQL answers.
    value: row.num ?? fromStored(row.value) ?? null,
    coordinates: (row.dims ?? {}) as Record<string, JsonValue>,
    replayed: row.seq >= REPLAYED_SEQ,
    verified: row.unverified !== true,
  }));
}
