import { childrenOf, type Expression, type Node, type Query } from "../../src/florql/ast.js";

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
