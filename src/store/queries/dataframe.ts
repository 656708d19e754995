import { sql, type RawBuilder } from "kysely";
import { FlorError } from "../../errors.js";
import type { JsonValue } from "../../journal/records.js";
import { STORE_SCHEMA } from "../schema.js";
import type { ProjectScope } from "../project-scope.js";
import { closestName } from "../../text/closest-name.js";
import { contextDim } from "../loop-coordinates.js";

export interface DataFrame {
  columns: string[];
  rows: Record<string, JsonValue>[];
}

const RUN_COLUMNS = ["projid", "tstamp", "filename", "vid"] as const;

interface Source {
  name: string;
  kind: "log" | "arg";
  dims: string[];
}

/**
 * FlorDB's pivot: one row per combination of the loop dimensions that the named values share. Each name
 * becomes a relation (run, its loop dims, value); the relations are full-outer-joined on the run and
 * their common dims, so a value logged per epoch lands on every step row of that epoch, and nothing is
 * dropped. Arguments may be named too (one value per run). With no names: args and top-level logs.
 */
export async function dataframe({ db, projectId }: ProjectScope, projid: string, requested: readonly string[]): Promise<DataFrame> {
  const catalog = await db
    .selectFrom("log_names as n")
    .innerJoin("runs as r", "r.id", "n.run_id")
    .select(["n.name", "n.dim_keys"])
    .where("r.project_id", "=", projectId)
    .execute();
  const argNames = (
    await db
      .selectFrom("args as a")
      .innerJoin("runs as r", "r.id", "a.run_id")
      .select("a.name")
      .distinct()
      .where("r.project_id", "=", projectId)
      .execute()
  ).map((r) => r.name);

  const logDims = new Map<string, string[]>();
  for (const { name, dim_keys } of catalog) {
    const dims = logDims.get(name) ?? [];
    for (const key of dim_keys) if (!dims.includes(key)) dims.push(key);
    logDims.set(name, dims);
  }
  const names =
    requested.length > 0
      ? [...new Set(requested)]
      : [
          ...argNames.sort(),
          ...[...logDims]
            .filter(([, dims]) => dims.length === 0)
            .map(([name]) => name)
            .sort(),
        ];
  const sources: Source[] = names.map((name) => {
    const dims = logDims.get(name);
    if (dims !== undefined) return { name, kind: "log", dims };
    if (argNames.includes(name)) return { name, kind: "arg", dims: [] };
    const suggestion = closestName(name, [...logDims.keys(), ...argNames]);
    throw new FlorError(
      `unknown name "${name}": no run of ${projid} logged it or has it as an argument${suggestion ? `; did you mean "${suggestion}"?` : ""}`,
    );
  });
  if (sources.length === 0) return { columns: [...RUN_COLUMNS], rows: [] };

  // Dimension columns in order of first appearance; aliases are ours (d0, d1, ...), never user text.
  const allDims: string[] = [];
  for (const source of sources) for (const key of source.dims) if (!allDims.includes(key)) allDims.push(key);
  const dimAlias = (key: string): string => `d${allDims.indexOf(key)}`;
  const table = (name: string): RawBuilder<unknown> => sql.table(`${STORE_SCHEMA}.${name}`);

  const relations = sources.map((source, i) => {
    const dims = source.dims.map((key) => sql`${contextDim("lp", sql`lg.ctx_id`, key)} as ${sql.id(dimAlias(key))}`);
    if (source.kind === "arg") {
      return sql`select a.run_id, null::double precision as ${sql.id(`n${i}`)}, a.value as ${sql.id(`v${i}`)}, null::integer as ${sql.id(`q${i}`)}
        from ${table("args")} a join ${table("runs")} r on r.id = a.run_id
        where a.name = ${source.name} and r.project_id = ${projectId}`;
    }
    // The journal line orders values with the same coordinates (a name logged twice in a step).
    return sql`select s.run_id, ${sql.join([...dims, sql`lg.num as ${sql.id(`n${i}`)}`, sql`lg.value as ${sql.id(`v${i}`)}`, sql`lg.seq as ${sql.id(`q${i}`)}`])}
      from ${table("log_streams")} s
      join ${table("runs")} r on r.id = s.run_id
      left join ${table("loop_ranges")} lp on lp.run_id = s.run_id and lp.ctx_id = s.ctx_id
      join ${table("log_values")} lg on lg.stream_id = s.id
      where s.name = ${source.name} and r.project_id = ${projectId}`;
  });

  let from = sql`(${relations[0]!}) t0`;
  const joined = new Set(sources[0]!.dims);
  sources.slice(1).forEach((source, index) => {
    const common = ["run_id", ...source.dims.filter((key) => joined.has(key)).map(dimAlias)];
    from = sql`${from} full join (${relations[index + 1]!}) ${sql.id(`t${index + 1}`)} using (${sql.join(common.map((c) => sql.id(c)))})`;
    for (const key of source.dims) joined.add(key);
  });

  const dimColumns = allDims.map((key) => sql.id(dimAlias(key)));
  const valueColumns = sources.flatMap((_, i) => [sql.id(`n${i}`), sql.id(`v${i}`)]);
  const query = sql<Record<string, JsonValue>>`
    select r.tstamp, r.filename, r.vid${sql.join([sql``, ...dimColumns, ...valueColumns], sql`, `)}
    from ${from}
    join ${table("runs")} r on r.id = run_id
    order by r.tstamp, r.id${sql.join([sql``, ...dimColumns, ...sources.map((_, i) => sql.id(`q${i}`))], sql`, `)}`;
  const result = await query.execute(db);

  const columns = [...RUN_COLUMNS, ...allDims, ...sources.map((s) => s.name)];
  const rows = result.rows.map((row) => {
    const out: Record<string, JsonValue> = {};
    out["projid"] = projid;
    out["tstamp"] = (row["tstamp"] as unknown as Date).toISOString();
    out["filename"] = row["filename"] as string;
    out["vid"] = row["vid"] as string | null;
    allDims.forEach((key) => {
      out[key] = row[dimAlias(key)] ?? null;
    });
    sources.forEach((source, i) => {
      out[source.name] = row[`n${i}`] ?? row[`v${i}`] ?? null;
    });
    return out;
  });
  return { columns, rows };
}
