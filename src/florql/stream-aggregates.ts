import { type Aggregate, childrenOf, type Expression } from "./ast.js";
import type { AnalyzedQuery } from "./analyze.js";

/**
 * How a grouped query over one log name can be answered from the partial aggregates ingest keeps per
 * stream (a run's values of the name in one loop range: see log_stream_stats) instead of every value.
 */
export interface StreamAggregatePlan {
  /** The log name aggregated. */
  name: string;
  /**
   * The loop indexes the query reads (groups by, filters on, selects): a stream whose own loop is one
   * of them, over more than one iteration, has a different index per value, so its values are read;
   * every other stream has one index per loop, and its partial aggregates are combined.
   */
  indexKeys: string[];
}

/** Which way a query reads the store: the plan for the fast path, or why it reads every value. */
export type AggregatePath = { plan: StreamAggregatePlan } | { plan: null; reason: string };

const COMBINABLE = new Set<Aggregate["function"]>(["count", "sum", "avg", "min", "max"]);

/** `epoch_value` is an item value when `epoch` is a loop of the same value; a loop literally named `x_value` is an index. */
export function isItemKey(key: string, dims: readonly string[]): boolean {
  return key.endsWith("_value") && dims.includes(key.slice(0, -6));
}

/**
 * Whether a query's answer combines per-stream partial aggregates: it aggregates one log name with
 * count, sum, avg, min or max (not DISTINCT, of the name itself), every other name it reads is a run
 * column, an arg or a loop dimension other than the name's innermost loop (the streams' own loop: its
 * index differs per value), and every run in scope logged the name (the rows of one that did not are
 * empty ones per iteration, which no stream holds). Everything else reads the values.
 */
export function aggregatePath(analyzed: AnalyzedQuery, lacking: ReadonlyMap<string, readonly number[]>): AggregatePath {
  const fail = (reason: string): AggregatePath => ({ plan: null, reason });
  if (!analyzed.aggregated) return fail("not an aggregate");
  if (analyzed.logs.length !== 1)
    return fail(analyzed.logs.length === 0 ? "no log name" : "aggregates over several log names join their values");
  const log = analyzed.logs[0]!;
  if ((lacking.get(log.name) ?? []).length > 0) return fail(`some runs lack ${log.name}: their rows are empty ones per iteration`);
  const innermost = [...log.dims].reverse().find((key) => !isItemKey(key, log.dims));
  const query = analyzed.query;
  const expressions = [
    ...analyzed.outputs.map((o) => o.expression),
    ...(query.where === null ? [] : [query.where]),
    ...query.groupBy,
    ...query.orderBy.filter((item) => !analyzed.orderAliases.has(item)).map((item) => item.expression),
  ];
  const indexKeys = new Set<string>();
  let problem: string | null = null;
  const visit = (expression: Expression): void => {
    if (problem !== null) return;
    if (expression.kind === "aggregate") {
      const argument = expression.argument;
      const ofLog = argument === null || (argument.kind === "name" && analyzed.resolved.get(argument)?.kind === "log");
      if (!COMBINABLE.has(expression.function) || expression.distinct || !ofLog)
        problem = `${expression.function}(${expression.distinct ? "DISTINCT " : ""}...) is not a count, sum, avg, min or max of ${log.name}`;
      return;
    }
    if (expression.kind === "name") {
      const meaning = analyzed.resolved.get(expression)!;
      if (meaning.kind === "log" || meaning.kind === "verified") problem = `${expression.name} is read outside an aggregate`;
      else if (meaning.kind === "loop" && meaning.valueOf === null) {
        if (expression.name === innermost) problem = `${innermost} is the innermost loop of ${log.name}: its index differs per value`;
        else indexKeys.add(expression.name);
      }
      return;
    }
    childrenOf(expression).forEach(visit);
  };
  expressions.forEach(visit);
  if (problem !== null) return fail(problem);
  return { plan: { name: log.name, indexKeys: [...indexKeys] } };
}
