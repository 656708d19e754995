import { sql, type RawBuilder } from "kysely";
import { FlorUsageError } from "../../errors.js";
import type { JsonValue } from "../../journal/records.js";
import { STORE_SCHEMA } from "../schema.js";
import type { ProjectScope } from "../project-scope.js";
import { closestName } from "../../text/closest-name.js";
import { contextDim } from "./loop-coordinates.js";
import { fromStored } from "../../journal/lossless-json.js";

export interface DataFrame {
  columns: string[];
  rows: Record<string, JsonValue>[];
  /** Log names with unverified values in the frame, and in how many rows; each has a `<name>__verified` column. */
  unverified: { name: string; rows: number }[];
}

/** The suffix of the column that says whether a row's value of a log is verified (as in FlorQL). */
const VERIFIED_SUFFIX = "__verified";

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
  // `loss__verified` asks whether each value of `loss` is verified: it reads the flag of `loss`'s relation.
  const asked: { column: string; source: string; flag: boolean }[] = names.map((name) => {
    if (logDims.has(name) || argNames.includes(name)) return { column: name, source: name, flag: false };
    const base = name.endsWith(VERIFIED_SUFFIX) ? name.slice(0, -VERIFIED_SUFFIX.length) : null;
    if (base !== null && logDims.has(base)) return { column: name, source: base, flag: true };
    const suggestion = closestName(name, [...logDims.keys(), ...argNames]);
    throw new FlorUsageError(
      `unknown name "${name}": no run of ${projid} logged it or has it as an argument${suggestion ? `; did you mean "${suggestion}"?` : ""}`,
    );
  });
  const sources: Source[] = [...new Set(asked.map((a) => a.source))].map((name) => {
    const dims = logDims.get(name);
    return dims !== undefined ? { name, kind: "log", dims } : { name, kind: "arg", dims: [] };
  });
  if (sources.length === 0) return { columns: [...RUN_COLUMNS], rows: [], unverified: [] };

  // Dimension columns in order of first appearance; aliases are ours (d0, d1, ...), never user text.
  const allDims: string[] = [];
  for (const source of sources) for (const key of source.dims) if (!allDims.includes(key)) allDims.push(key);
  const dimAlias = (key: string): string => `d${allDims.indexOf(key)}`;
  const table = (name: string): RawBuilder<unknown> => sql.table(`${STORE_SCHEMA}.${name}`);

  const relations = sources.map((source, i) => {
    const dims = source.dims.map((key) => sql`${contextDim("lp", sql`lg.ctx_id`, key)} as ${sql.id(dimAlias(key))}`);
    if (source.kind === "arg") {
      return sql`select a.run_id, null::double precision as ${sql.id(`n${i}`)}, a.value as ${sql.id(`v${i}`)}, true as ${sql.id(`u${i}`)},
          null::integer as ${sql.id(`q${i}`)}
        from ${table("args")} a join ${table("runs")} r on r.id = a.run_id
        where a.name = ${source.name} and r.project_id = ${projectId}`;
    }
    const verified = sql`(lg.unverified is not true) as ${sql.id(`u${i}`)}`;
    // The journal line orders values with the same coordinates (a name logged twice in a step).
    return sql`select s.run_id, ${sql.join([...dims, sql`lg.num as ${sql.id(`n${i}`)}`, sql`lg.value as ${sql.id(`v${i}`)}`, verified, sql`lg.seq as ${sql.id(`q${i}`)}`])}
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
  const valueColumns = sources.flatMap((_, i) => [sql.id(`n${i}`), sql.id(`v${i}`), sql.id(`u${i}`)]);
  // Rows name their run by id; the run's columns are read once per run below, not once per row (with a
  // timestamp to parse): on the embedded store, reading a field of a row costs about as much as its SQL.
  const query = sql<Record<string, JsonValue>>`
    select run_id${sql.join([sql``, ...dimColumns, ...valueColumns], sql`, `)}
    from ${from}
    join ${table("runs")} r on r.id = run_id
    order by r.tstamp, r.id${sql.join([sql``, ...dimColumns, ...sources.map((_, i) => sql.id(`q${i}`))], sql`, `)}`;
  const result = await query.execute(db);
  const runs = new Map(
    (await db.selectFrom("runs").select(["id", "tstamp", "filename", "vid"]).where("project_id", "=", projectId).execute()).map((run) => [
      run.id,
      { tstamp: run.tstamp.toISOString(), filename: run.filename, vid: run.vid },
    ]),
  );

  // A log with unverified values in the frame gets its `__verified` column, asked for or not, right after it.
  const unverified = sources.flatMap((source, i) => {
    const rows = result.rows.filter((row) => row[`u${i}`] === false).length;
    return rows === 0 ? [] : [{ name: source.name, rows }];
  });
  const outputs: { column: string; source: number; flag: boolean }[] = [];
  for (const a of asked) {
    const source = sources.findIndex((s) => s.name === a.source);
    if (!outputs.some((o) => o.column === a.column)) outputs.push({ column: a.column, source, flag: a.flag });
    const column = `${a.source}${VERIFIED_SUFFIX}`;
    if (!a.flag && unverified.some((u) => u.name === a.source) && !outputs.some((o) => o.column === column))
      outputs.push({ column, source, flag: true });
  }
  const columns = [...RUN_COLUMNS, ...allDims, ...outputs.map((o) => o.column)];
  const rows = result.rows.map((row) => {
    const out: Record<string, JsonValue> = {};
    const run = runs.get(row["run_id"] as number)!;
    out["projid"] = projid;
    out["tstamp"] = run.tstamp;
    out["filename"] = run.filename;
    out["vid"] = run.vid;
    allDims.forEach((key) => {
      out[key] = row[dimAlias(key)] ?? null;
    });
    for (const { column, source: i, flag } of outputs)
      out[column] = (flag ? row[`u${i}`] : (row[`n${i}`] ?? fromStored(row[`v${i}`]))) ?? null;
    return out;
  });
  return { columns, rows, unverified };
}
