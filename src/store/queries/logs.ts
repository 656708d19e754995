import { sql, type Kysely } from "kysely";
import { STORE_SCHEMA, type Database } from "../schema.js";

/**
 * Logged values by stream (`log_streams`, `log_values`) and the catalog of logged names (`log_names`):
 * what ingest writes besides the bulk COPY, and what replay reads back to compare.
 */

/**
 * Summarizes the block ranges of log_values that have none yet (its index is a BRIN, see migration 0010),
 * after a COPY of values: queries otherwise read every unsummarized range. Cheap: only new pages are read.
 */
export async function summarizeNewValues(db: Kysely<Database>): Promise<void> {
  await sql`select brin_summarize_new_values(${`${STORE_SCHEMA}.log_values_stream`}::regclass)`.execute(db);
}

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

/** A stream's key within a run: its name and loop range (the range's first context; null outside every loop). */
export interface StreamKey {
  name: string;
  ctx: number | null;
}

/** The ids of the run's streams with these keys (in their order; null for one not stored), creating none. */
export async function findStreams(db: Kysely<Database>, runId: number, keys: readonly StreamKey[]): Promise<(number | null)[]> {
  if (keys.length === 0) return [];
  const { rows } = await sql<{ i: number; id: number }>`select u.i, s.id
      from unnest(${keys.map((k) => k.name)}::text[], ${keys.map((k) => k.ctx)}::integer[]) with ordinality as u(name, ctx, i)
      join ${sql.table(`${STORE_SCHEMA}.log_streams`)} s on s.name = u.name and s.run_id = ${runId} and s.ctx_id is not distinct from u.ctx`.execute(
    db,
  );
  const ids: (number | null)[] = keys.map(() => null);
  for (const row of rows) ids[Number(row.i) - 1] = row.id;
  return ids;
}

/** Creates the run's streams with these keys (none of which exists yet); their ids in the same order. */
export async function insertStreams(db: Kysely<Database>, runId: number, keys: readonly StreamKey[]): Promise<number[]> {
  if (keys.length === 0) return [];
  const { rows } = await sql<{ id: number; name: string; ctx_id: number | null }>`insert into ${sql.table(`${STORE_SCHEMA}.log_streams`)}
      (run_id, name, ctx_id) select ${runId}, u.name, u.ctx
      from unnest(${keys.map((k) => k.name)}::text[], ${keys.map((k) => k.ctx)}::integer[]) as u(name, ctx)
      returning id, name, ctx_id`.execute(db);
  const byKey = new Map(rows.map((row) => [`${row.ctx_id}\u0000${row.name}`, row.id]));
  return keys.map((k) => byKey.get(`${k.ctx}\u0000${k.name}`)!);
}

/**
 * The run's own values (not replayed ones) of `names`, logged outside every loop or in a context
 * between the lowest and highest of `contexts`, in logging order.
 */
export async function recordedValues(db: Kysely<Database>, runId: number, names: readonly string[], contexts: readonly number[]) {
  if (names.length === 0) return [];
  return db
    .selectFrom("log_values as v")
    .innerJoin("log_streams as s", "s.id", "v.stream_id")
    .select(["v.ctx_id", "s.name", "v.num", "v.value"])
    .where("s.run_id", "=", runId)
    .where("s.name", "in", [...names])
    .where("v.seq", "<", REPLAYED_SEQ)
    .where((eb) =>
      contexts.length === 0
        ? eb("v.ctx_id", "is", null)
        : eb.or([eb("v.ctx_id", "is", null), eb.between("v.ctx_id", Math.min(...contexts), Math.max(...contexts))]),
    )
    .orderBy("v.seq")
    .execute();
}

/** Sequence numbers of replayed values start here (those logged after the loop at twice it), above any journal line. */
export const REPLAYED_SEQ = 1_000_000_000;
