import { sql, type Kysely } from "kysely";
import { STORE_SCHEMA } from "./schema.js";

/** A column for bulk insertion: its name, its PostgreSQL type (a constant of ours), its values. */
export interface BulkColumn {
  name: string;
  type: "integer" | "bigint" | "text" | "double precision" | "jsonb" | "boolean";
  values: unknown[];
}

/**
 * Inserts many rows in one statement: each column travels as one array parameter and `unnest` turns
 * them back into rows, so the cost is one round trip and no per-row SQL. Values are always bound.
 */
export async function bulkInsert(db: Kysely<unknown>, table: string, columns: BulkColumn[]): Promise<void> {
  if (columns.length === 0 || columns[0]!.values.length === 0) return;
  const names = sql.join(columns.map((c) => sql.id(c.name)));
  const arrays = sql.join(columns.map((c) => sql`${c.values}::${sql.raw(c.type)}[]`));
  await sql`insert into ${sql.table(`${STORE_SCHEMA}.${table}`)} (${names}) select * from unnest(${arrays})`.execute(db);
}
