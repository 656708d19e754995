import { analyze, type AnalyzedQuery } from "../../src/florql/analyze.js";
import { childrenOf, type Expression, type Node, type Query } from "../../src/florql/ast.js";
import { QueryCatalog } from "../../src/florql/catalog.js";
import { FlorQLError } from "../../src/florql/florql-error.js";
import { parseQuery } from "../../src/florql/parse.js";

/** A tree as plain JSON without spans: what golden files hold and round trips compare. */
export function withoutSpans(node: Node): unknown {
  return JSON.parse(JSON.stringify(node, (key, value: unknown) => (key === "span" ? undefined : value)));
}

/** Every expression node in a query, roots first. */
export function expressionsOf(query: Query): Expression[] {
  const roots = [
    ...(query.select.kind === "select-list" ? query.select.items.map((item) => item.expression) : []),
    ...(query.where === null ? [] : [query.where]),
    ...query.groupBy,
    ...query.orderBy.map((item) => item.expression),
  ];
  const all: Expression[] = [];
  const visit = (e: Expression): void => {
    all.push(e);
    childrenOf(e).forEach(visit);
  };
  roots.forEach(visit);
  return all;
}

/** What an in-memory catalog holds: args, loops (true: a loop over items, with `<name>_value`), logs with their dims. */
export interface CatalogSpec {
  scripts?: string[];
  args?: string[];
  loops?: Record<string, boolean>;
  logs?: Record<string, string[]>;
  /** Names only the newest version of a script logs (replay can fill them), with their dims. */
  hindsight?: Record<string, string[]>;
}

/**
 * A catalog as QueryCatalog.load would read it from a store with these runs, args, loops and logs;
 * analysis and SQL compilation need nothing more. One run per script.
 */
export function catalogOf(spec: CatalogSpec): QueryCatalog {
  const runs = (spec.scripts ?? ["train.ts"]).map((filename, i) => ({
    id: i + 1,
    tstamp: new Date(Date.UTC(2026, 0, 1 + i)),
    filename,
    vid: `${i}`.repeat(40),
    status: "ok",
    args: new Map(),
  }));
  const catalog = new QueryCatalog(
    "project",
    "/nonexistent",
    runs,
    new Set(spec.args ?? []),
    new Map(Object.entries(spec.loops ?? {}).map(([name, valued]) => [name, { valued }])),
    new Map(Object.entries(spec.logs ?? {}).map(([name, dims]) => [name, { dims, hindsight: false }])),
  );
  // What the working tree's scripts log, as catalog.load would find it by reading them.
  catalog.newest = new Map(Object.entries(spec.hindsight ?? {}).map(([name, dims]) => [name, { dims, hindsight: true }]));
  return catalog;
}

/** The catalog most analysis tests use: per-step loss, per-epoch acc and note, a value after the loops, a loop over items. */
export const CATALOG: CatalogSpec = {
  scripts: ["train.ts", "eval.ts"],
  args: ["lr", "opt", "momentum"],
  loops: { epoch: false, step: false, fold: true },
  logs: {
    loss: ["epoch", "step"],
    acc: ["epoch"],
    note: ["epoch"],
    final: [],
    momentum: [],
    score: ["fold", "fold_value"],
    "val/acc": ["epoch"],
  },
  hindsight: { grad_norm: ["epoch", "step"] },
};

export function analyzeText(text: string, spec: CatalogSpec = CATALOG): AnalyzedQuery {
  return analyze(parseQuery(text), text, catalogOf(spec));
}

/** The FlorQLError `run` throws; fails the test when it throws nothing or something else. */
export function florqlError(run: () => unknown): FlorQLError {
  try {
    run();
  } catch (error) {
    if (error instanceof FlorQLError) return error;
    throw error;
  }
  throw new Error("expected a FlorQLError, got none");
}
