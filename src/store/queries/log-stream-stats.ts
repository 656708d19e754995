import { sql, type Kysely } from "kysely";
import { STORE_SCHEMA, type Database } from "../schema.js";
import type { StreamStatsRows } from "../stream-stats.js";

/** Numbers as float8 array text: NaN and the infinities by the names PostgreSQL reads. */
const floats = (values: readonly (number | null)[]): (string | null)[] => values.map((v) => (v === null ? null : String(v)));

/**
 * Adds a batch's partial aggregates to its streams' rows (in the transaction that stores the values,
 * so they stay exact across resumed ingests). min and max combine in float8 order, as the aggregates do.
 */
export async function addStreamStats(db: Kysely<Database>, rows: StreamStatsRows): Promise<void> {
  if (rows.stream.length === 0) return;
  await sql`insert into ${sql.table(`${STORE_SCHEMA}.log_stream_stats`)} as t
      (stream_id, value_count, present_count, number_count, num_sum, num_min, num_max, unverified_count)
      select * from unnest(${rows.stream}::integer[], ${rows.values}::bigint[], ${rows.present}::bigint[], ${rows.numbers}::bigint[],
        ${floats(rows.sum)}::float8[], ${floats(rows.min)}::float8[], ${floats(rows.max)}::float8[], ${rows.unverified}::bigint[])
      on conflict (stream_id) do update set value_count = t.value_count + excluded.value_count,
        present_count = t.present_count + excluded.present_count, number_count = t.number_count + excluded.number_count,
        num_sum = coalesce(t.num_sum + excluded.num_sum, t.num_sum, excluded.num_sum),
        num_min = least(t.num_min, excluded.num_min), num_max = greatest(t.num_max, excluded.num_max),
        unverified_count = t.unverified_count + excluded.unverified_count`.execute(db);
}
