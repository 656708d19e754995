import { sql, type Kysely, type RawBuilder } from "kysely";
import type { JsonValue } from "../../journal/records.js";
import { STORE_SCHEMA, type Database } from "../schema.js";

/**
 * Loop structure as stored ranges of contexts (loop_ranges): what ingest writes and what replay and the
 * run details read back, one row per range instead of one per iteration.
 */

/** A stored range as ingest writes it: `seconds` summed over `timed` iterations of this batch. */
export interface RangeUpdate {
  ctx: number;
  count: number;
  parent: number | null;
  name: string;
  iteration: number;
  /** JSON text of the item, for a range of one iteration whose item is a JSON scalar. */
  value: string | null;
  depth: number;
  /** JSON text of the enclosing loops' indexes and items. */
  outer: string;
  seconds: number;
  timed: number;
}

/** Inserts new ranges; a range already stored grows to the larger count and adds these iteration times. */
export async function saveRanges(db: Kysely<Database>, runId: number, ranges: readonly RangeUpdate[]): Promise<void> {
  if (ranges.length === 0) return;
  const column = <T>(pick: (range: RangeUpdate) => T): T[] => ranges.map(pick);
  await sql`insert into ${sql.table(`${STORE_SCHEMA}.loop_ranges`)} as l
      (run_id, ctx_id, count, parent_ctx_id, name, iteration, value, depth, outer_dims, seconds, timed)
      select ${runId}, u.ctx, u.count, u.parent, u.name, u.iteration, u.value::jsonb, u.depth, u.enclosing::jsonb,
        case when u.timed > 0 then u.seconds end, u.timed
      from unnest(${column((r) => r.ctx)}::integer[], ${column((r) => r.count)}::integer[], ${column((r) => r.parent)}::integer[],
        ${column((r) => r.name)}::text[], ${column((r) => r.iteration)}::integer[], ${column((r) => r.value)}::text[],
        ${column((r) => r.depth)}::integer[], ${column((r) => r.outer)}::text[], ${column((r) => r.seconds)}::float8[],
        ${column((r) => r.timed)}::integer[]) as u(ctx, count, parent, name, iteration, value, depth, enclosing, seconds, timed)
      on conflict (run_id, ctx_id) do update set count = greatest(l.count, excluded.count),
        seconds = case when excluded.timed = 0 then l.seconds else coalesce(l.seconds, 0) + excluded.seconds end,
        timed = l.timed + excluded.timed`.execute(db);
}

/** Adds iteration times to the stored ranges that hold their contexts (those ingest no longer keeps in memory). */
export async function addIterationTimes(db: Kysely<Database>, runId: number, ctxIds: number[], seconds: number[]): Promise<void> {
  if (ctxIds.length === 0) return;
  const ranges = sql.table(`${STORE_SCHEMA}.loop_ranges`);
  await sql`update ${ranges} as l set seconds = coalesce(l.seconds, 0) + t.seconds, timed = l.timed + t.timed
      from (select r.ctx_id as ctx, sum(u.s) as seconds, count(*)::integer as timed
        from unnest(${ctxIds}::integer[], ${seconds}::float8[]) as u(id, s)
        join lateral (select ctx_id, count from ${ranges} where run_id = ${runId} and ctx_id <= u.id order by ctx_id desc limit 1) r
          on u.id < r.ctx_id + r.count
        group by r.ctx_id) as t
      where l.run_id = ${runId} and l.ctx_id = t.ctx`.execute(db);
}

export interface StoredRange {
  ctx_id: number;
  count: number;
  parent_ctx_id: number | null;
  name: string;
  iteration: number;
  value: JsonValue | null;
  depth: number;
  outer_dims: JsonValue;
}

const RANGE_COLUMNS = ["ctx_id", "count", "parent_ctx_id", "name", "iteration", "value", "depth", "outer_dims"] as const;

/** The stored range that holds context `ctx` of a run (the latest one when `ctx` is null). */
export async function rangeHolding(db: Kysely<Database>, runId: number, ctx: number | null): Promise<StoredRange | undefined> {
  let query = db.selectFrom("loop_ranges").select(RANGE_COLUMNS).where("run_id", "=", runId);
  if (ctx !== null) query = query.where("ctx_id", "<=", ctx);
  const row = await query.orderBy("ctx_id", "desc").limit(1).executeTakeFirst();
  return row === undefined || (ctx !== null && ctx >= row.ctx_id + row.count) ? undefined : row;
}

/** A run's stored ranges, in execution order; `where` narrows the ranges `r`. */
async function ranges(db: Kysely<Database>, runId: number, where: RawBuilder<unknown> = sql``): Promise<StoredRange[]> {
  const { rows } = await sql<StoredRange>`select ${sql.join(RANGE_COLUMNS.map((column) => sql.ref(`r.${column}`)))}
      from ${sql.table(`${STORE_SCHEMA}.loop_ranges`)} r where r.run_id = ${runId}${where} order by r.ctx_id`.execute(db);
  return rows;
}

/** Every stored range of a run. */
export function allRanges(db: Kysely<Database>, runId: number): Promise<StoredRange[]> {
  return ranges(db, runId);
}

/** The run's ranges of outermost-loop iterations. */
export function topRanges(db: Kysely<Database>, runId: number): Promise<StoredRange[]> {
  return ranges(db, runId, sql` and r.parent_ctx_id is null`);
}

/** The run's ranges that hold contexts whose ids fall in these inclusive windows. */
export function rangesOverlapping(db: Kysely<Database>, runId: number, windows: readonly [number, number][]): Promise<StoredRange[]> {
  if (windows.length === 0) return Promise.resolve([]);
  const overlaps = sql.join(
    windows.map(([from, to]) => sql`(r.ctx_id <= ${to} and r.ctx_id + r.count > ${from})`),
    sql` or `,
  );
  return ranges(db, runId, sql` and (${overlaps})`);
}
