import { sql, type RawBuilder } from "kysely";

/**
 * A stored context's coordinates as SQL jsonb: the index (and item) of its loop and of every enclosing
 * one, from the loop_ranges row `range` that holds it and its id `ctx`. NULL when `range` is (a value
 * outside every loop).
 */
export function contextDims(range: string, ctx: RawBuilder<unknown>): RawBuilder<unknown> {
  const column = (name: string) => sql.id(range, name);
  return sql`(case when ${column("ctx_id")} is not null then ${column("outer_dims")}
    || jsonb_build_object(${column("name")}, ${column("iteration")} + (${ctx} - ${column("ctx_id")}))
    || case when ${column("value")} is null then '{}'::jsonb else jsonb_build_object(${column("name")} || '_value', ${column("value")}) end end)`;
}

/** One coordinate of a stored context as SQL jsonb (see contextDims): `key` is a loop's name, or `<name>_value`. */
export function contextDim(range: string, ctx: RawBuilder<unknown>, key: string): RawBuilder<unknown> {
  const column = (name: string) => sql.id(range, name);
  return sql`(case when ${column("name")} = ${key} then to_jsonb(${column("iteration")} + (${ctx} - ${column("ctx_id")}))
    when ${column("name")} || '_value' = ${key} and ${column("value")} is not null then ${column("value")}
    else ${column("outer_dims")} -> ${key} end)`;
}
