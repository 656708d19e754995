import type { CompiledQuery as KyselyCompiled } from "kysely";
import type { JsonValue } from "../journal/records.js";
import type { ProjectLayout } from "../project-layout.js";
import type { ProjectStore } from "../store/project-store.js";
import type { PlanOptions, ReplayPlan, ReplayRequest, ScopePredicate } from "../replay/replay-plan.js";
import type { Expression, NameRef } from "./ast.js";
import { analyze, type AnalyzedQuery } from "./analyze.js";
import { QueryCatalog } from "./catalog.js";
import { compileSql, type CompiledQuery } from "./compile-sql.js";
import { evaluatePredicate } from "./evaluate.js";
import { parseQuery } from "./parse.js";
import { fromStored } from "../journal/lossless-json.js";

export type ReplayMode = "wait" | "none" | "async";

/** Whether a log name's values exist for the runs of one code version, or can be filled, or not. */
export interface Availability {
  vid: string | null;
  filename: string;
  runs: number;
  columns: Record<string, string>;
}

export interface QueryPlan {
  text: string;
  projid: string;
  /** The repository root, where the newest version of each script is. */
  root: string;
  analyzed: AnalyzedQuery;
  /** Runs the query can see after pushing its run-level predicates down, of how many. */
  runIds: number[];
  totalRuns: number;
  sql: { text: string; parameters: readonly unknown[] };
  /** The compiled pivot, ready to run, and how its columns map to the query's outputs. */
  compiled: CompiledQuery;
  availability: Availability[];
  /** What replay would fill for the query's missing log names, and the request that plans it; null when nothing is missing. */
  replay: ReplayPlan | null;
  replayRequest: ReplayRequest | null;
  /** Names the query reads that some in-scope runs lack and replay cannot fill, with why. */
  unfillable: { name: string; runs: number; reasons: string[] }[];
  timings: { parseMs: number; catalogMs: number; planMs: number };
}

export interface QueryRows {
  columns: string[];
  rows: Record<string, JsonValue>[];
  /** The query's log names with unverified values in these rows, and in how many rows. */
  unverified: { name: string; rows: number }[];
  queryMs: number;
}

/**
 * Plans a FlorQL query: parse, resolve names against the catalog, push run-level predicates (versions,
 * args, time, script) down to a run scope, check which log names each in-scope run has, plan the replay
 * that fills what is missing (restricted by the same predicates, down to loop iterations), and compile
 * the SQL. Nothing is executed.
 */
export async function planQuery(project: ProjectStore, layout: ProjectLayout, text: string, options: PlanOptions): Promise<QueryPlan> {
  const t0 = performance.now();
  const query = parseQuery(text);
  const t1 = performance.now();
  const catalog = await QueryCatalog.load(project, layout.root);
  const t2 = performance.now();
  const analyzed = analyze(query, text, catalog);

  const where = query.where;
  const inScope = catalog.runs.filter((run) => {
    if (analyzed.filename !== null && run.filename !== analyzed.filename) return false;
    if (where === null) return true;
    return (
      evaluatePredicate(where, (ref) => {
        const meaning = analyzed.resolved.get(ref);
        if (meaning?.kind === "run")
          return meaning.name === "tstamp" ? run.tstamp.toISOString() : meaning.name === "projid" ? layout.projid : run[meaning.name];
        if (meaning?.kind === "arg") return run.args.has(meaning.name) ? run.args.get(meaning.name)! : null;
        return undefined;
      }) !== false
    );
  });
  const runIds = inScope.map((r) => r.id);
  const narrowed = runIds.length < catalog.runs.length;
  const names = analyzed.logs.map((l) => l.name);
  // A name that replay filled counts as missing: the planner knows which parts it filled, and plans the rest.
  const have = new Map(names.map((name) => [name, catalog.recordedBy.get(name) ?? new Set<number>()]));
  // Which runs lack a name depends only on what was recorded, which a replay does not change.
  const compiled = compileSql(analyzed, layout.projid, narrowed ? runIds : null, lackingRuns(catalog, names, runIds));
  const kysely = compiled.query.compile(project.db) as KyselyCompiled;
  const t3 = performance.now();
  const missing = names.filter((name) => inScope.some((run) => !have.get(name)?.has(run.id)));
  const lacking = inScope.filter((run) => missing.some((name) => !have.get(name)?.has(run.id)));
  const replayRequest: ReplayRequest | null =
    missing.length === 0 || runIds.length === 0
      ? null
      : {
          names: missing,
          runIds: lacking.map((r) => r.id),
          ...(where === null ? {} : { where: scopeOf(where, analyzed), whereText: printWhere(text, where) }),
        };
  // The task processes may start while propagation loads and plans (an EXPLAIN runs nothing).
  let preparedAt: number | undefined;
  if (replayRequest !== null && !analyzed.query.explain && options.prepare !== undefined) {
    options.prepare([...new Set(lacking.map((run) => run.filename))]);
    preparedAt = performance.now();
  }
  // Propagation (recast, Babel) loads only for a query with values to fill: a fifth of a second of start-up.
  const replay =
    replayRequest === null
      ? null
      : await (await import("../replay/replay-plan.js")).planReplay(project, layout, replayRequest, {
          workers: options.workers,
          ...(preparedAt === undefined ? {} : { preparedAt }),
        });
  return {
    text,
    projid: layout.projid,
    root: layout.root,
    analyzed,
    runIds,
    totalRuns: catalog.runs.length,
    sql: { text: kysely.sql, parameters: kysely.parameters },
    compiled,
    availability: availability(inScope, names, have, replay),
    replay,
    replayRequest,
    unfillable: unfillable(replay),
    timings: { parseMs: t1 - t0, catalogMs: t2 - t1, planMs: t3 - t2 },
  };
}

/** Runs a planned query's SQL over what the store holds now. */
export async function queryRows(project: ProjectStore, plan: QueryPlan): Promise<QueryRows> {
  const started = performance.now();
  const { compiled } = plan;
  const result = await compiled.query.execute(project.db);
  const queryMs = performance.now() - started;
  const unverified = new Map<string, number>();
  const rows = result.rows.map((row) => {
    for (const { name, column } of compiled.verification) if (row[column] === false) unverified.set(name, (unverified.get(name) ?? 0) + 1);
    const out: Record<string, JsonValue> = {};
    for (const output of compiled.outputs) {
      const [first, second] = output.columns;
      const value = fromStored(second === undefined ? row[first!] : (row[first!] ?? row[second]));
      out[output.label] = value instanceof Date ? value.toISOString() : ((value ?? null) as JsonValue);
    }
    return out;
  });
  return {
    columns: compiled.outputs.map((o) => o.label),
    rows,
    unverified: [...unverified].map(([name, n]) => ({ name, rows: n })),
    queryMs,
  };
}

/**
 * The runs of `runIds` that may lack values of each name: those that never recorded it, including
 * those replay filled only in part (the SQL leaves out the iterations that have a value).
 */
function lackingRuns(catalog: QueryCatalog, names: readonly string[], runIds: readonly number[]): Map<string, number[]> {
  return new Map(names.map((name) => [name, runIds.filter((id) => !catalog.recordedBy.get(name)?.has(id))]));
}

/** The WHERE clause as a replay scope: run-level and outermost-loop-level names known, the rest left open. */
function scopeOf(where: Expression, analyzed: AnalyzedQuery): ScopePredicate {
  return (lookup) =>
    evaluatePredicate(where, (ref: NameRef) => {
      const meaning = analyzed.resolved.get(ref);
      if (meaning === undefined || meaning.kind === "log" || meaning.kind === "verified") return undefined;
      const namespace = meaning.kind === "run" ? "run" : meaning.kind === "arg" ? "arg" : "loop";
      const value = lookup(meaning.name, namespace);
      return value === undefined && meaning.kind === "arg" ? null : value;
    });
}

function printWhere(text: string, where: Expression): string {
  return text.slice(where.span.start.offset, where.span.end.offset);
}

function availability(
  runs: QueryCatalog["runs"],
  names: string[],
  have: Map<string, Set<number>>,
  replay: ReplayPlan | null,
): Availability[] {
  const byVersion = new Map<string, Availability & { states: Map<string, Set<string>> }>();
  const planned = new Map((replay?.runs ?? []).map((r) => [r.runId, r]));
  for (const run of runs) {
    const key = `${run.vid}\u0000${run.filename}`;
    const entry = byVersion.get(key) ?? { vid: run.vid, filename: run.filename, runs: 0, columns: {}, states: new Map() };
    entry.runs++;
    for (const name of names) {
      let state = "recorded";
      if (!have.get(name)?.has(run.id)) {
        const fate = planned.get(run.id)?.names.find((n) => n.name === name);
        state =
          fate === undefined
            ? "missing"
            : fate.status === "fill"
              ? "fill by replay"
              : fate.status === "absent"
                ? "never logged"
                : fate.status === "declined"
                  ? "cannot fill"
                  : fate.status;
      }
      (entry.states.get(name) ?? entry.states.set(name, new Set()).get(name)!).add(state);
    }
    byVersion.set(key, entry);
  }
  return [...byVersion.values()].map(({ states, ...entry }) => ({
    ...entry,
    columns: Object.fromEntries([...states].map(([name, set]) => [name, [...set].join(" / ")])),
  }));
}

function unfillable(replay: ReplayPlan | null): QueryPlan["unfillable"] {
  const byName = new Map<string, { runs: number; reasons: Set<string> }>();
  for (const run of replay?.runs ?? []) {
    for (const name of run.names.filter((n) => n.status === "declined")) {
      const entry = byName.get(name.name) ?? { runs: 0, reasons: new Set<string>() };
      entry.runs++;
      entry.reasons.add(name.reason ?? "");
      byName.set(name.name, entry);
    }
  }
  return [...byName].map(([name, { runs, reasons }]) => ({ name, runs, reasons: [...reasons] }));
}
