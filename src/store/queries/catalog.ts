import { sql } from "kysely";
import type { Store } from "../open-store.js";

/** The run dimensions every run has. */
export const RUN_DIMENSIONS = ["projid", "tstamp", "filename", "vid", "status"] as const;

/**
 * Every name a predicate can use in a project: run dimensions, loop dimensions (`epoch`, and
 * `epoch_value` for loops over items), argument names and logged names.
 */
export async function catalogNames(store: Store, projid: string): Promise<string[]> {
  const runs = store.db.selectFrom("runs as r").innerJoin("projects as p", "p.id", "r.project_id").select("r.id").where("p.projid", "=", projid);
  const [args, loops, logs] = await Promise.all([
    store.db.selectFrom("args").select("name").distinct().where("run_id", "in", runs).execute(),
    store.db.selectFrom("loops").select(["name", sql<boolean>`bool_or(value is not null)`.as("valued")]).where("run_id", "in", runs).groupBy("name").execute(),
    store.db.selectFrom("log_names").select("name").distinct().where("run_id", "in", runs).execute(),
  ]);
  const names = new Set<string>(RUN_DIMENSIONS);
  for (const { name, valued } of loops) {
    names.add(name);
    if (valued) names.add(`${name}_value`);
  }
  for (const { name } of [...args, ...logs]) names.add(name);
  return [...names];
}
