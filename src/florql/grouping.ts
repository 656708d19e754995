import type { Aggregate, Expression, NameRef, OrderItem, Query } from "./ast.js";
import { childrenOf } from "./ast.js";
import type { Output, Resolved } from "./analyze.js";
import { namesIn } from "./evaluate.js";
import { FlorQLError, FlorQLErrorCodes, quoteName, shortText } from "./florql-error.js";
import { printExpression } from "./print.js";

export interface GroupingInput {
  readonly query: Query;
  readonly source: string;
  readonly outputs: readonly Output[];
  readonly resolved: ReadonlyMap<NameRef, Resolved>;
  readonly orderAliases: ReadonlyMap<OrderItem, number>;
}

export interface Grouping {
  /** A GROUP BY, or an aggregate in SELECT or ORDER BY (as in SQL, ORDER BY count(*) groups too). */
  readonly aggregated: boolean;
  /** In a grouped query, the expressions of SELECT and ORDER BY that are a GROUP BY item: that item's index. */
  readonly grouping: ReadonlyMap<Expression, number>;
}

/**
 * SQL's rules for aggregates, checked before any SQL exists: no aggregate in WHERE (FQL023) or GROUP BY
 * (FQL023), none inside another (FQL012), no constant GROUP BY or ORDER BY key (FQL027: FlorQL has no
 * column numbers, so `ORDER BY 1` would silently sort by nothing), and in a grouped query every selected
 * or sorted name is aggregated or a GROUP BY item, or inside an expression that is one (FQL024).
 */
export function checkGrouping(input: GroupingInput): Grouping {
  const { query, source, outputs, resolved, orderAliases } = input;
  const fail = (code: FlorQLError["code"], message: string, at: Expression, hint: string): never => {
    throw new FlorQLError({ code, message, span: at.span, hint }, source);
  };
  if (query.where !== null) {
    const aggregate = findAggregate(query.where);
    if (aggregate !== null)
      fail(
        FlorQLErrorCodes.aggregateInWhere,
        `${aggregate.function}(...) cannot be used in WHERE`,
        aggregate,
        "WHERE filters rows before they are aggregated",
      );
  }
  for (const expression of query.groupBy) {
    const aggregate = findAggregate(expression);
    if (aggregate !== null)
      fail(
        FlorQLErrorCodes.aggregateInWhere,
        `${aggregate.function}(...) cannot be used in GROUP BY`,
        aggregate,
        "GROUP BY says which rows are aggregated together; aggregate in SELECT or ORDER BY",
      );
  }
  // Where aggregates may be: outputs and ORDER BY keys (an alias stands for an output, checked there).
  const aggregating = [
    ...outputs.map((o) => o.expression),
    ...query.orderBy.filter((item) => !orderAliases.has(item)).map((item) => item.expression),
  ];
  for (const root of aggregating) {
    const nested = nestedAggregate(root);
    if (nested !== null)
      fail(
        FlorQLErrorCodes.badAggregateCall,
        `${nested.inner.function}(...) cannot be used inside ${nested.outer.function}(...)`,
        nested.inner,
        "aggregates do not nest",
      );
  }
  for (const [clause, keys] of [
    ["GROUP BY", query.groupBy],
    ["ORDER BY", query.orderBy.map((item) => item.expression)],
  ] as const) {
    const constant = keys.find((e) => namesIn(e).length === 0 && findAggregate(e) === null);
    if (constant !== undefined)
      fail(
        FlorQLErrorCodes.constantKey,
        `${clause} ${shortText(printExpression(constant))} ${clause === "GROUP BY" ? "groups" : "sorts"} by a constant`,
        constant,
        `FlorQL has no column numbers: ${clause} a name or expression, or an output's alias${clause === "ORDER BY" ? " (SELECT max(acc) AS best ... ORDER BY best)" : ""}`,
      );
  }

  const aggregated = query.groupBy.length > 0 || aggregating.some((e) => findAggregate(e) !== null);
  const grouping = new Map<Expression, number>();
  if (!aggregated) return { aggregated, grouping };
  // GROUP BY items by what they mean: `arg.lr` and `lr` are the same item when `lr` is that arg.
  const key = (expression: Expression): string =>
    JSON.stringify(expression, (field, value: unknown) => {
      if (field === "span") return undefined;
      const meaning = isNameRef(value) ? resolved.get(value) : undefined;
      return meaning === undefined ? value : { name: meaning };
    });
  const items = new Map(query.groupBy.map((e, i) => [key(e), i]));
  const check = (expression: Expression): void => {
    if (expression.kind === "aggregate") return;
    const item = items.get(key(expression));
    if (item !== undefined) {
      grouping.set(expression, item);
      return;
    }
    if (expression.kind === "name") {
      fail(
        FlorQLErrorCodes.notGrouped,
        `${quoteName(expression.name)} is neither aggregated nor in GROUP BY`,
        expression,
        `add it to GROUP BY, or aggregate it: max(${expression.name})`,
      );
    }
    childrenOf(expression).forEach(check);
  };
  aggregating.forEach(check);
  return { aggregated, grouping };
}

function isNameRef(value: unknown): value is NameRef {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "name";
}

/** An aggregate inside another one's argument, with that other one. */
function nestedAggregate(expression: Expression): { outer: Aggregate; inner: Aggregate } | null {
  if (expression.kind === "aggregate" && expression.argument !== null) {
    const inner = findAggregate(expression.argument);
    if (inner !== null) return { outer: expression, inner };
  }
  for (const child of childrenOf(expression)) {
    const found = nestedAggregate(child);
    if (found !== null) return found;
  }
  return null;
}

function findAggregate(expression: Expression): Aggregate | null {
  if (expression.kind === "aggregate") return expression;
  for (const child of childrenOf(expression)) {
    const found = findAggregate(child);
    if (found !== null) return found;
  }
  return null;
}
