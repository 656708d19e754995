import { sql, type Expression, type SqlBool } from "kysely";
import type { Kysely } from "kysely";
import type { JsonValue, RunStatus } from "../../journal/records.js";
import type { ProjectScope } from "../project-scope.js";
import { STORE_SCHEMA, type Database } from "../schema.js";
import { fromStored } from "../../journal/lossless-json.js";

export interface RunSummary {
  projid: string;
  tstamp: string;
  filename: string;
  vid: string | null;
  status: RunStatus;
  seconds: number | null;
  args: Record<string, JsonValue>;
  /** Values the run logged itself. */
  logs: number;
  /** Values replays filled for it since. */
  replayed: number;
  /** Why it failed: the exception its journal's end record has; null otherwise. */
  error: string | null;
}

/** The project's runs, oldest first, with their arguments, their error, and how many values each logged and replays filled. */
export async function listRuns({ db, projectId }: ProjectScope, projid: string): Promise<RunSummary[]> {
  const rows = await db
    .selectFrom("runs as r")
    .select((eb) => [
      "r.id",
      "r.tstamp",
      "r.filename",
      "r.vid",
      "r.status",
      "r.seconds",
      "r.error",
      // A name with coverage rows was filled by replay, not logged by the run.
      eb
        .selectFrom("log_names as n")
        .whereRef("n.run_id", "=", "r.id")
        .select(sql<string>`coalesce(sum(n.count) filter (where not ${replayedName}), 0)`.as("c"))
        .as("logs"),
      eb
        .selectFrom("log_names as n")
        .whereRef("n.run_id", "=", "r.id")
        .select(sql<string>`coalesce(sum(n.count) filter (where ${replayedName}), 0)`.as("c"))
        .as("replayed"),
    ])
    .where("r.project_id", "=", projectId)
    .orderBy("r.tstamp")
    .orderBy("r.id")
    .execute();
  const args = await db
    .selectFrom("args as a")
    .innerJoin("runs as r", "r.id", "a.run_id")
    .select(["a.run_id", "a.name", "a.value"])
    .where("r.project_id", "=", projectId)
    .orderBy("a.run_id")
    .orderBy("a.name")
    .execute();
  const argsByRun = new Map<number, Record<string, JsonValue>>();
  for (const arg of args) {
    const record = argsByRun.get(arg.run_id) ?? {};
    record[arg.name] = fromStored(arg.value);
    argsByRun.set(arg.run_id, record);
  }
  return rows.map((row) => ({
    projid,
    tstamp: row.tstamp.toISOString(),
    filename: row.filename,
    vid: row.vid,
    status: row.status,
    seconds: row.seconds,
    args: argsByRun.get(row.id) ?? {},
    logs: Number(row.logs ?? 0),
    replayed: Number(row.replayed ?? 0),
    error: row.error,
  }));
}

/** Whether the catalog row `n` (of log_names) is a name replay filled for its run. */
const replayedName = sql<boolean>`exists (select 1 from ${sql.table(`${STORE_SCHEMA}.replay_coverage`)} c where c.run_id = n.run_id and c.name = n.name)`;

/** A run as its journal's header describes it, when ingest first reads it. */
export interface NewRun {
  tstamp: Date;
  filename: string;
  vid: string | null;
  pid: number | null;
  host: string | null;
  argv: JsonValue;
  node: string | null;
  importSeconds: number | null;
}

export async function insertRun(db: Kysely<Database>, projectId: number, run: NewRun): Promise<number> {
  const { id } = await db
    .insertInto("runs")
    .values({
      project_id: projectId,
      tstamp: run.tstamp,
      filename: run.filename,
      vid: run.vid,
      status: "running",
      pid: run.pid,
      hostname: run.host,
      argv: JSON.stringify(run.argv),
      node_version: run.node,
      import_seconds: run.importSeconds,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return id;
}

/** How a run ended, from its journal's end record. */
export interface RunEnd {
  status: "ok" | "failed";
  seconds: number | null;
  exitCode: number | null;
  error: string | null;
  endedAt: Date | null;
}

export async function endRun(db: Kysely<Database>, runId: number, end: RunEnd): Promise<void> {
  await db
    .updateTable("runs")
    .set({ status: end.status, seconds: end.seconds, exit_code: end.exitCode, error: end.error, ended_at: end.endedAt })
    .where("id", "=", runId)
    .execute();
}

/** What a run's journal says of its checkpoints: why they cannot be restored (null: they can), and what its policy decided. */
export async function setCheckpointFacts(
  db: Kysely<Database>,
  runId: number,
  facts: { unusable?: string; policy?: JsonValue },
): Promise<void> {
  await db
    .updateTable("runs")
    .set({
      ...(facts.unusable === undefined ? {} : { checkpoints_unusable: facts.unusable }),
      ...(facts.policy === undefined ? {} : { checkpoint_policy: JSON.stringify(facts.policy) }),
    })
    .where("id", "=", runId)
    .execute();
}

/** A run whose process died without ending it. */
export async function markRunIncomplete(db: Kysely<Database>, runId: number): Promise<void> {
  await db.updateTable("runs").set({ status: "incomplete" }).where("id", "=", runId).execute();
}

/** The id of the project's run started at `tstamp` from `filename`, if the store has it. */
export async function findRunId(db: Kysely<Database>, projectId: number, tstamp: Date, filename: string): Promise<number | null> {
  const run = await db
    .selectFrom("runs")
    .select("id")
    .where("project_id", "=", projectId)
    .where("tstamp", "=", tstamp)
    .where("filename", "=", filename)
    .executeTakeFirst();
  return run?.id ?? null;
}

/** Runs with their args, logged names and which names replay filled: what FlorQL names resolve against. */
export async function catalogRows({ db, projectId }: ProjectScope) {
  const runs = db.selectFrom("runs as r").where("r.project_id", "=", projectId);
  const [runRows, argRows, logRows, coverage] = await Promise.all([
    runs.select(["r.id", "r.tstamp", "r.filename", "r.vid", "r.status"]).orderBy("r.tstamp").execute(),
    db.selectFrom("args").select(["run_id", "name", "value"]).where("run_id", "in", runs.select("r.id")).execute().then(decodedArgs),
    db.selectFrom("log_names").select(["run_id", "name", "dim_keys"]).where("run_id", "in", runs.select("r.id")).execute(),
    db.selectFrom("replay_coverage").select(["run_id", "name"]).distinct().where("run_id", "in", runs.select("r.id")).execute(),
  ]);
  return { runRows, argRows, logRows, coverage };
}

/** What replay planning reads of the project's runs (of one script, or some runs, when given), oldest first. */
export async function replayFactRows({ db, projectId }: ProjectScope, filter: { filename?: string; runIds?: readonly number[] }) {
  let query = db
    .selectFrom("runs as r")
    .select(["r.id", "r.tstamp", "r.filename", "r.vid", "r.status", "r.seconds", "r.argv", "r.checkpoints_unusable", "r.import_seconds"])
    .where("r.project_id", "=", projectId);
  if (filter.filename !== undefined) query = query.where("r.filename", "=", filter.filename);
  if (filter.runIds !== undefined) query = query.where("r.id", "in", filter.runIds.length > 0 ? [...filter.runIds] : [-1]);
  const rows = await query.orderBy("r.tstamp").execute();
  const ids = rows.map((r) => r.id);
  if (ids.length === 0) return { rows, args: [], logNames: [], coverage: [], summaries: [], loops: [], checkpoints: [], inner: [] };
  const [args, logNames, coverage, summaries, loops, checkpoints, inner] = await Promise.all([
    db.selectFrom("args").select(["run_id", "name", "value"]).where("run_id", "in", ids).execute().then(decodedArgs),
    db.selectFrom("log_names").select(["run_id", "name"]).where("run_id", "in", ids).execute(),
    db.selectFrom("replay_coverage").select(["run_id", "name", "part", "iteration"]).where("run_id", "in", ids).execute(),
    db
      .selectFrom("loop_summaries")
      .select(["run_id", "name", "iterations", "start_offset", "seconds"])
      .where("run_id", "in", ids)
      .where("parent_ctx_id", "is", null)
      .orderBy("start_offset")
      .execute(),
    // Outermost iterations, one row each; a range's iterations share its mean time.
    sql<{ run_id: number; ctx_id: number; iteration: number; value: JsonValue | null; seconds: number | null }>`
      select r.run_id, r.ctx_id + g as ctx_id, r.iteration + g as iteration, r.value, r.seconds / nullif(r.timed, 0) as seconds
      from ${sql.table(`${STORE_SCHEMA}.loop_ranges`)} r cross join lateral generate_series(0, r.count - 1) as g
      where r.run_id = any(${ids}::integer[]) and r.parent_ctx_id is null
      order by 2`
      .execute(db)
      .then((result) => result.rows),
    db.selectFrom("checkpoints").select(["run_id", "ctx_id", "objects", "bytes"]).where("run_id", "in", ids).execute(),
    // The seconds of the loops nested right in each outermost iteration: what skipping them saves. The
    // iteration is read from the outermost loop range that holds the inner loop's parent context.
    sql<{ run_id: number; iteration: number; seconds: number }>`
      select s.run_id, r.iteration + (s.parent_ctx_id - r.ctx_id) as iteration, sum(s.seconds) as seconds
      from ${sql.table(`${STORE_SCHEMA}.loop_summaries`)} s
      join ${sql.table(`${STORE_SCHEMA}.loop_ranges`)} r on r.run_id = s.run_id and r.parent_ctx_id is null
        and s.parent_ctx_id between r.ctx_id and r.ctx_id + r.count - 1
      where s.run_id = any(${ids}::integer[])
      group by 1, 2`
      .execute(db)
      .then((result) => result.rows),
  ]);
  return { rows, args, logNames, coverage, summaries, loops, checkpoints, inner };
}

/** The versions the project's runs ran (only `vids` when given): first and last run, run count, scripts; oldest first. */
export async function versionRows({ db, projectId }: ProjectScope, vids?: readonly string[]) {
  let query = db
    .selectFrom("runs as r")
    .select((eb) => [
      "r.vid",
      eb.fn.min("r.tstamp").as("first"),
      eb.fn.max("r.tstamp").as("last"),
      eb.fn.countAll<string>().as("runs"),
      sql<string[]>`array_agg(distinct r.filename)`.as("filenames"),
    ])
    .where("r.project_id", "=", projectId)
    .where("r.vid", "is not", null);
  if (vids !== undefined) query = query.where("r.vid", "in", vids);
  return query.groupBy("r.vid").orderBy("first").execute();
}

/** Up to two distinct recorded vids that start with `prefix` (lower-case hex, so no LIKE wildcards; bound as a parameter). */
export async function vidsWithPrefix({ db, projectId }: ProjectScope, prefix: string): Promise<string[]> {
  const rows = await db
    .selectFrom("runs as r")
    .select("r.vid")
    .distinct()
    .where("r.project_id", "=", projectId)
    .where("r.vid", "like", `${prefix}%`)
    .orderBy("r.vid")
    .limit(2)
    .execute();
  return rows.map((r) => r.vid!);
}

/** A row of a page of runs. */
export interface RunRow {
  id: number;
  tstamp: Date;
  filename: string;
  vid: string | null;
  status: RunStatus;
  seconds: number | null;
  error: string | null;
}

/** A condition on an argument: its name, JSON equality, and numeric bounds. */
export interface ArgCondition {
  name: string;
  /** Present (even as null) to compare the value as JSON. */
  value?: JsonValue;
  gt?: number | null;
  gte?: number | null;
  lt?: number | null;
  lte?: number | null;
}

export interface RunPageQuery {
  filename: string | null;
  vid: string | null;
  status: readonly RunStatus[] | null;
  since: Date | null;
  until: Date | null;
  args: readonly ArgCondition[];
  /** The keyset position to read after: (tstamp, id). */
  after: { tstamp: Date; id: number } | null;
  limit: number;
}

/**
 * A keyset page of the project's runs: those after the position in (tstamp, id) order, so a page stays
 * the same while runs are being added and the database never counts past skipped rows. Every value is
 * a bound parameter.
 */
export async function runPage({ db, projectId }: ProjectScope, page: RunPageQuery): Promise<RunRow[]> {
  let query = db
    .selectFrom("runs as r")
    .select(["r.id", "r.tstamp", "r.filename", "r.vid", "r.status", "r.seconds", "r.error"])
    .where("r.project_id", "=", projectId);
  if (page.filename !== null) query = query.where("r.filename", "=", page.filename);
  if (page.vid !== null) query = query.where("r.vid", "=", page.vid);
  if (page.status !== null) query = query.where("r.status", "in", [...page.status]);
  if (page.since !== null) query = query.where("r.tstamp", ">=", page.since);
  if (page.until !== null) query = query.where("r.tstamp", "<", page.until);
  for (const filter of page.args) {
    query = query.where(({ exists, selectFrom }) =>
      exists(
        argConditions(filter).reduce(
          (sub, condition) => sub.where(condition),
          selectFrom("args as a").select("a.run_id").whereRef("a.run_id", "=", "r.id"),
        ),
      ),
    );
  }
  const after = page.after;
  if (after !== null)
    query = query.where((eb) =>
      eb.or([eb("r.tstamp", ">", after.tstamp), eb.and([eb("r.tstamp", "=", after.tstamp), eb("r.id", ">", after.id)])]),
    );
  return query.orderBy("r.tstamp").orderBy("r.id").limit(page.limit).execute();
}

/** The project's run with this id, if it has one. */
export async function runById({ db, projectId }: ProjectScope, id: number): Promise<RunRow | null> {
  return (
    (await db
      .selectFrom("runs as r")
      .select(["r.id", "r.tstamp", "r.filename", "r.vid", "r.status", "r.seconds", "r.error"])
      .where("r.project_id", "=", projectId)
      .where("r.id", "=", id)
      .executeTakeFirst()) ?? null
  );
}

/** What an argument row `a` must meet for `filter`; user values are bound parameters. */
function argConditions(filter: ArgCondition): Expression<SqlBool>[] {
  const conditions = [sql<boolean>`a.name = ${filter.name}`];
  if ("value" in filter) conditions.push(sql<boolean>`a.value = ${JSON.stringify(filter.value ?? null)}::jsonb`);
  // CASE, not AND: SQL does not promise to test the type before casting.
  const number = sql<number>`case when jsonb_typeof(a.value) = 'number' then (a.value)::double precision end`;
  if (filter.gt != null) conditions.push(sql<boolean>`${number} > ${filter.gt}`);
  if (filter.gte != null) conditions.push(sql<boolean>`${number} >= ${filter.gte}`);
  if (filter.lt != null) conditions.push(sql<boolean>`${number} < ${filter.lt}`);
  if (filter.lte != null) conditions.push(sql<boolean>`${number} <= ${filter.lte}`);
  return conditions;
}

/** The arguments of these runs, by run then name. */
export async function runArgs(db: Kysely<Database>, runIds: readonly number[]) {
  if (runIds.length === 0) return [];
  return db
    .selectFrom("args")
    .select(["run_id", "name", "value"])
    .where("run_id", "in", [...runIds])
    .orderBy("run_id")
    .orderBy("name")
    .execute()
    .then(decodedArgs);
}

/** Args rows with their values as they were given (see journal/lossless-json.ts). */
function decodedArgs<T extends { value: JsonValue }>(rows: T[]): T[] {
  for (const row of rows) row.value = fromStored(row.value);
  return rows;
}
