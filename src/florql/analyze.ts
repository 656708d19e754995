import type { Expression, NameRef, OrderItem, Query } from "./ast.js";
import { closestNameHint, FlorQLError, FlorQLErrorCodes, quoteName } from "./florql-error.js";
import { namesIn } from "./evaluate.js";
import { checkGrouping } from "./grouping.js";
import { printExpression } from "./print.js";
import type { QueryCatalog } from "./catalog.js";
import { type ExpressionTypes, typecheck } from "./typecheck.js";

/** What a name in a query is. */
export type Resolved =
  | { kind: "run"; name: "projid" | "tstamp" | "filename" | "vid" | "status" }
  | { kind: "loop"; name: string; valueOf: string | null }
  | { kind: "arg"; name: string }
  | { kind: "log"; name: string; dims: string[]; hindsight: boolean }
  /** `<log>__verified`: whether the row's value of the log `name` is verified (recorded, or replayed faithfully). */
  | { kind: "verified"; name: string; dims: string[]; hindsight: boolean };

/** The suffix of the pseudo-column that says whether a log's value in a row is verified. */
export const VERIFIED_SUFFIX = "__verified";

export interface Output {
  readonly label: string;
  readonly expression: Expression;
}

/** A query with every name resolved, every expression typed, checked, and what its pivot needs. */
export interface AnalyzedQuery {
  readonly query: Query;
  readonly source: string;
  readonly resolved: ReadonlyMap<NameRef, Resolved>;
  readonly outputs: readonly Output[];
  /** Log names in the pivot (first use first), and the loop dimensions they carry, in order. */
  readonly logs: readonly { name: string; dims: string[]; hindsight: boolean }[];
  readonly dims: readonly string[];
  readonly args: readonly string[];
  readonly filename: string | null;
  /** Grouped: a GROUP BY, or an aggregate in SELECT or ORDER BY. */
  readonly aggregated: boolean;
  /** ORDER BY items that name an output alias: the output's index. */
  readonly orderAliases: ReadonlyMap<OrderItem, number>;
  /** In a grouped query, the expressions of SELECT and ORDER BY that are a GROUP BY item: that item's index. */
  readonly grouping: ReadonlyMap<Expression, number>;
  /** The type of every expression (outputs, WHERE, GROUP BY, ORDER BY, and everything in them). */
  readonly types: ExpressionTypes;
}

const RUN_NAMES = new Set(["projid", "tstamp", "filename", "vid", "status"]);

/**
 * Resolves a parsed query against the project's catalog: every name becomes a run dimension, loop
 * dimension, arg or log (a namespace settles clashes; a misspelt name gets "did you mean"), the pivot's
 * log names and dimensions are collected, aggregates are checked against GROUP BY (grouping.ts), and
 * every expression is typed (typecheck.ts). Every mistake is a FlorQLError pointing at its text.
 */
export function analyze(query: Query, source: string, catalog: QueryCatalog): AnalyzedQuery {
  const resolved = new Map<NameRef, Resolved>();
  const error = (
    code: (typeof FlorQLErrorCodes)[keyof typeof FlorQLErrorCodes],
    message: string,
    span: NameRef["span"],
    hint?: string,
  ): never => {
    throw new FlorQLError({ code, message, span, ...(hint === undefined ? {} : { hint }) }, source);
  };

  const outputs: Output[] =
    query.select.kind === "select-all"
      ? starOutputs(query, catalog)
      : query.select.items.map((item) => ({ label: item.alias?.name ?? printExpression(item.expression), expression: item.expression }));
  const aliases = new Map<string, number>();
  if (query.select.kind === "select-list")
    for (const [i, item] of query.select.items.entries()) if (item.alias !== null) aliases.set(item.alias.name, i);
  const orderAliases = new Map<OrderItem, number>();
  for (const item of query.orderBy) {
    if (item.expression.kind === "name" && item.expression.namespace === null && aliases.has(item.expression.name))
      orderAliases.set(item, aliases.get(item.expression.name)!);
  }

  const expressions = [
    ...outputs.map((o) => o.expression),
    ...(query.where === null ? [] : [query.where]),
    ...query.groupBy,
    ...query.orderBy.filter((item) => !orderAliases.has(item)).map((item) => item.expression),
  ];
  const logs: { name: string; dims: string[]; hindsight: boolean }[] = [];
  const args: string[] = [];
  for (const ref of expressions.flatMap(namesIn)) {
    const meaning = resolve(ref, catalog, error);
    resolved.set(ref, meaning);
    if ((meaning.kind === "log" || meaning.kind === "verified") && !logs.some((l) => l.name === meaning.name))
      logs.push({ name: meaning.name, dims: meaning.dims, hindsight: meaning.hindsight });
    if (meaning.kind === "arg" && !args.includes(meaning.name)) args.push(meaning.name);
  }
  const dims: string[] = [];
  for (const log of logs) for (const key of log.dims) if (!dims.includes(key)) dims.push(key);
  for (const [ref, meaning] of resolved) {
    if (meaning.kind === "loop" && !dims.includes(ref.name)) {
      error(
        FlorQLErrorCodes.dimensionNotAvailable,
        `no value in this query is logged per ${quoteName(meaning.valueOf ?? meaning.name)}`,
        ref.span,
        logs.length === 0
          ? "select a value logged inside that loop"
          : `the query's values have the dimensions ${dims.length === 0 ? "(none)" : dims.join(", ")}`,
      );
    }
  }

  const { aggregated, grouping } = checkGrouping({ query, source, outputs, resolved, orderAliases });

  let filename: string | null = null;
  if (query.from !== null) {
    const wanted = query.from.path.replace(/^\.\//, "");
    const scripts = [...new Set(catalog.runs.map((r) => r.filename))];
    if (!scripts.includes(wanted)) {
      const hint = closestNameHint(wanted, scripts);
      throw new FlorQLError(
        {
          code: FlorQLErrorCodes.unknownScript,
          message: `no run ran ${wanted}`,
          span: query.from.span,
          hint: hint ?? (scripts.length === 0 ? "no runs are recorded yet" : `scripts: ${scripts.join(", ")}`),
        },
        source,
      );
    }
    filename = wanted;
  }
  const types = typecheck({ query, source, outputs, resolved, orderAliases });
  return { query, source, resolved, outputs, logs, dims, args, filename, aggregated, orderAliases, grouping, types };
}

function resolve(
  ref: NameRef,
  catalog: QueryCatalog,
  error: (code: (typeof FlorQLErrorCodes)[keyof typeof FlorQLErrorCodes], message: string, span: NameRef["span"], hint?: string) => never,
): Resolved {
  const { name, namespace } = ref;
  const meanings: Resolved[] = [];
  if ((namespace === null || namespace === "run") && RUN_NAMES.has(name)) meanings.push({ kind: "run", name: name as "projid" });
  if (namespace === null || namespace === "loop") {
    if (catalog.loops.has(name)) meanings.push({ kind: "loop", name, valueOf: null });
    else if (name.endsWith("_value") && catalog.loops.get(name.slice(0, -6))?.valued)
      meanings.push({ kind: "loop", name, valueOf: name.slice(0, -6) });
  }
  if ((namespace === null || namespace === "arg") && catalog.args.has(name)) meanings.push({ kind: "arg", name });
  if (namespace === null || namespace === "log") {
    const log = catalog.log(name);
    if (log !== undefined) meanings.push({ kind: "log", name, dims: log.dims, hindsight: log.hindsight });
  }
  // `loss__verified`, unless something is called that: the pseudo-column of the log `loss`.
  if (meanings.length === 0 && (namespace === null || namespace === "log") && name.endsWith(VERIFIED_SUFFIX)) {
    const base = name.slice(0, -VERIFIED_SUFFIX.length);
    const log = catalog.log(base);
    if (log !== undefined) return { kind: "verified", name: base, dims: log.dims, hindsight: log.hindsight };
  }
  if (meanings.length === 1) return meanings[0]!;
  if (meanings.length > 1) {
    const kinds = meanings.map((m) => m.kind);
    return error(
      FlorQLErrorCodes.ambiguousName,
      `${quoteName(name)} is both ${kinds.map((k) => (k === "run" ? "a run dimension" : k === "loop" ? "a loop" : k === "arg" ? "an arg" : "a log")).join(" and ")}`,
      ref.span,
      `write ${kinds.map((k) => `${k}.${name}`).join(" or ")}`,
    );
  }
  const where = namespace === null ? "no run dimension, loop, arg or log" : `no ${namespace === "run" ? "run dimension" : namespace}`;
  return error(FlorQLErrorCodes.unknownName, `${where} is named ${quoteName(name)}`, ref.span, closestNameHint(name, catalog.allNames()));
}

/** `SELECT *`: the run dimensions, every arg and every value logged outside loops (as `flor dataframe` shows). */
function starOutputs(query: Query, catalog: QueryCatalog): Output[] {
  const span = query.select.span;
  const name = (n: string, namespace: NameRef["namespace"]): Output => ({
    label: n,
    expression: Object.freeze({ kind: "name", namespace, name: n, span }) as NameRef,
  });
  return [
    ...["projid", "tstamp", "filename", "vid"].map((n) => name(n, "run")),
    ...[...catalog.args].sort().map((n) => name(n, "arg")),
    ...[...catalog.logs]
      .filter(([, log]) => log.dims.length === 0)
      .map(([n]) => n)
      .sort()
      .map((n) => name(n, "log")),
  ];
}
