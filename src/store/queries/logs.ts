import { sql, type Kysely } from "kysely";
import type { JsonValue } from "../../journal/records.js";
import { STORE_SCHEMA, type Database } from "../schema.js";

/**
 * Logged values, the catalog of logged names (`log_names`) and loop contexts (`loops`): what ingest
 * writes besides the bulk COPY, and what replay reads back to compare and to place its values.
 */

/** Per run: the names it logged or replay filled (sorted), how many values it logged itself, and how many replays filled. */
export async function logNamesByRun(
  db: Kysely<Database>,
  runIds: readonly number[],
): Promise<Map<number, { names: string[]; count: number; replayed: number }>> {
  const rows = await db
    .selectFrom("log_names as n")
    .select([
      "n.run_id",
      "n.name",
      "n.count",
      // A name with coverage rows was filled by replay, not logged by the run.
      sql<boolean>`exists (select 1 from ${sql.table(`${STORE_SCHEMA}.replay_coverage`)} c where c.run_id = n.run_id and c.name = n.name)`.as(
        "filled",
      ),
    ])
    .where("n.run_id", "in", [...runIds])
    .orderBy("n.run_id")
    .orderBy("n.name")
    .execute();
  const byRun = new Map<number, { names: string[]; count: number; replayed: number }>();
  for (const row of rows) {
    const entry = byRun.get(row.run_id) ?? byRun.set(row.run_id, { names: [], count: 0, replayed: 0 }).get(row.run_id)!;
    if (entry.names.at(-1) !== row.name) entry.names.push(row.name);
    if (row.filled) entry.replayed += Number(row.count);
    else entry.count += Number(row.count);
  }
  return byRun;
}

/** The names a run logged or replay filled for it. */
export async function loggedNames(db: Kysely<Database>, runId: number): Promise<string[]> {
  return (await db.selectFrom("log_names").select("name").where("run_id", "=", runId).execute()).map((r) => r.name);
}

/** Adds to the run's catalog rows: counts add up, dimension keys merge in order of first appearance. */
export async function mergeLogNames(
  db: Kysely<Database>,
  runId: number,
  names: readonly string[],
  keys: readonly (readonly string[])[],
  counts: readonly number[],
): Promise<void> {
  if (names.length === 0) return;
  const keysJson = keys.map((k) => JSON.stringify(k));
  await sql`insert into ${sql.table(`${STORE_SCHEMA}.log_names`)} (run_id, name, dim_keys, count)
      select ${runId}, u.name, array(select jsonb_array_elements_text(u.keys::jsonb)), u.count
      from unnest(${names}::text[], ${keysJson}::text[], ${counts}::bigint[]) as u(name, keys, count)
      on conflict (run_id, name) do update set count = log_names.count + excluded.count,
        dim_keys = array(select k from unnest(log_names.dim_keys || excluded.dim_keys) with ordinality as t(k, o) group by k order by min(o))`.execute(
    db,
  );
}

/** The run's catalog rows of these names. */
export async function logNameRows(db: Kysely<Database>, runId: number, names: readonly string[]) {
  if (names.length === 0) return [];
  return db
    .selectFrom("log_names")
    .select(["name", "dim_keys", "count"])
    .where("run_id", "=", runId)
    .where("name", "in", [...names])
    .execute();
}

/** Replaces the run's catalog rows of these names. */
export async function replaceLogNames(
  db: Kysely<Database>,
  runId: number,
  rows: readonly { name: string; dimKeys: string[]; count: number }[],
): Promise<void> {
  if (rows.length === 0) return;
  await db
    .deleteFrom("log_names")
    .where("run_id", "=", runId)
    .where(
      "name",
      "in",
      rows.map((r) => r.name),
    )
    .execute();
  await db
    .insertInto("log_names")
    .values(rows.map((r) => ({ run_id: runId, name: r.name, dim_keys: r.dimKeys, count: r.count })))
    .execute();
}

/** Sets iteration times that arrived after their context was stored (an `it` record in a later chunk). */
export async function setIterationSeconds(db: Kysely<Database>, runId: number, ctxIds: number[], seconds: number[]): Promise<void> {
  if (ctxIds.length === 0) return;
  await sql`update ${sql.table(`${STORE_SCHEMA}.loops`)} as l set seconds = u.s
      from unnest(${ctxIds}::integer[], ${seconds}::double precision[]) as u(id, s)
      where l.run_id = ${runId} and l.ctx_id = u.id`.execute(db);
}

/** The run's loop contexts with these ids (dims and depth), and every context's place in the tree (to rebuild dimension keys). */
export async function storedContexts(db: Kysely<Database>, runId: number, ctxIds: readonly number[]) {
  const rows = await db
    .selectFrom("loops")
    .select(["ctx_id", "dims", "depth"])
    .where("run_id", "=", runId)
    .where("ctx_id", "in", [...ctxIds])
    .execute();
  const tree = await db.selectFrom("loops").select(["ctx_id", "parent_ctx_id", "name", "value"]).where("run_id", "=", runId).execute();
  return { rows, tree };
}

export interface ContextRow {
  ctx_id: number;
  parent_ctx_id: number | null;
  name: string;
  iteration: number;
  value: JsonValue | null;
}

const CONTEXT_COLUMNS = ["ctx_id", "parent_ctx_id", "name", "iteration", "value"] as const;

/** Every loop context of a run, in execution order. */
export async function allContexts(db: Kysely<Database>, runId: number): Promise<ContextRow[]> {
  return db.selectFrom("loops").select(CONTEXT_COLUMNS).where("run_id", "=", runId).orderBy("ctx_id").execute();
}

/** The run's contexts of outermost-loop iterations, in execution order. */
export async function topContexts(db: Kysely<Database>, runId: number): Promise<ContextRow[]> {
  return db
    .selectFrom("loops")
    .select(CONTEXT_COLUMNS)
    .where("run_id", "=", runId)
    .where("parent_ctx_id", "is", null)
    .orderBy("ctx_id")
    .execute();
}

/** The run's contexts whose ids fall in these inclusive ranges, by primary key. */
export async function contextsInRanges(db: Kysely<Database>, runId: number, ranges: readonly [number, number][]): Promise<ContextRow[]> {
  if (ranges.length === 0) return [];
  return db
    .selectFrom("loops")
    .select(CONTEXT_COLUMNS)
    .where("run_id", "=", runId)
    .where((eb) => eb.or(ranges.map(([from, to]) => eb.between("ctx_id", from, to))))
    .orderBy("ctx_id")
    .execute();
}

/**
 * The run's own values (not replayed ones) of `names`, logged outside every loop or in a context
 * between the lowest and highest of `contexts`, in logging order.
 */
export async function recordedValues(db: Kysely<Database>, runId: number, names: readonly string[], contexts: readonly number[]) {
  if (names.length === 0) return [];
  return db
    .selectFrom("logs")
    .select(["ctx_id", "name", "num", "value"])
    .where("run_id", "=", runId)
    .where("name", "in", [...names])
    .where("seq", "<", REPLAYED_SEQ)
    .where((eb) =>
      contexts.length === 0
        ? eb("ctx_id", "is", null)
        : eb.or([eb("ctx_id", "is", null), eb.between("ctx_id", Math.min(...contexts), Math.max(...contexts))]),
    )
    .orderBy("seq")
    .execute();
}

/** Sequence numbers of replayed values start here (those logged after the loop at twice it), above any journal line. */
export const REPLAYED_SEQ = 1_000_000_000;
