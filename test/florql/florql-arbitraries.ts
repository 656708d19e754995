import fc from "fast-check";
import type { Aggregate, AggregateFunction, Expression, Query, Span } from "../../src/florql/ast.js";

/**
 * Random FlorQL trees over a project's names, mostly well typed (operands of the types their operators
 * take), for property tests of analysis and SQL compilation. Grouped queries select their GROUP BY
 * items and aggregates, so that most of them pass analysis and reach the SQL.
 */

const NO_SPAN: Span = { start: { offset: 0, line: 1, column: 1 }, end: { offset: 0, line: 1, column: 1 } };

/** The names to use, by type; `json` are logged values and args, which read as any type. */
export interface TypedNames {
  number: readonly string[];
  string: readonly string[];
  timestamp: readonly string[];
  json: readonly string[];
}

interface Typed {
  number: Expression;
  string: Expression;
  boolean: Expression;
  timestamp: Expression;
  any: Expression;
}

const name = (names: readonly string[]) =>
  fc.constantFrom(...names).map((n): Expression => ({ kind: "name", namespace: null, name: n, span: NO_SPAN }));
const literalNull = fc.constant<Expression>({ kind: "null", span: NO_SPAN });

/** Expressions without aggregates, by type. */
export function plainExpressions(names: TypedNames): { [K in keyof Typed]: fc.Arbitrary<Expression> } {
  return fc.letrec<Typed>((tie) => {
    const number = tie("number") as fc.Arbitrary<Expression>;
    const string = tie("string") as fc.Arbitrary<Expression>;
    const boolean = tie("boolean") as fc.Arbitrary<Expression>;
    const timestamp = tie("timestamp") as fc.Arbitrary<Expression>;
    const negated = fc.boolean();
    const comparison = (left: fc.Arbitrary<Expression>, right: fc.Arbitrary<Expression>) =>
      fc.record({
        kind: fc.constant("comparison" as const),
        operator: fc.constantFrom(...(["=", "!=", "<", "<=", ">", ">="] as const)),
        left,
        right,
        span: fc.constant(NO_SPAN),
      });
    return {
      any: fc.oneof(number, string, boolean, timestamp),
      number: fc.oneof(
        { depthSize: "xsmall", withCrossShrink: true },
        name([...names.number, ...names.json]),
        fc.constantFrom(0, 1, 2, 0.5, -3).map((value): Expression => ({ kind: "number", value, span: NO_SPAN })),
        literalNull,
        number.filter((e) => e.kind !== "number").map((operand): Expression => ({ kind: "negate", operand, span: NO_SPAN })),
        fc.record({
          kind: fc.constant("arithmetic" as const),
          operator: fc.constantFrom(...(["+", "-", "*", "/", "%"] as const)),
          left: number,
          right: number,
          span: fc.constant(NO_SPAN),
        }),
      ),
      string: fc.oneof(
        { depthSize: "xsmall" },
        name([...names.string, ...names.json]),
        fc.constantFrom("sgd", "adam", "ep%", "x'y", "").map((value): Expression => ({ kind: "string", value, span: NO_SPAN })),
        literalNull,
      ),
      timestamp: fc.oneof(
        { depthSize: "xsmall" },
        name(names.timestamp),
        fc.constant<Expression>({ kind: "timestamp", value: "2026-01-01T00:00:00.000Z", span: NO_SPAN }),
      ),
      boolean: fc.oneof(
        { depthSize: "xsmall", withCrossShrink: true },
        name(names.json),
        fc.boolean().map((value): Expression => ({ kind: "boolean", value, span: NO_SPAN })),
        boolean.map((operand): Expression => ({ kind: "not", operand, span: NO_SPAN })),
        fc.array(boolean, { minLength: 2, maxLength: 3 }).map((operands): Expression => ({ kind: "and", operands, span: NO_SPAN })),
        fc.array(boolean, { minLength: 2, maxLength: 3 }).map((operands): Expression => ({ kind: "or", operands, span: NO_SPAN })),
        comparison(number, number),
        comparison(string, string),
        comparison(timestamp, fc.oneof(timestamp, fc.constant<Expression>({ kind: "string", value: "2026-01-02", span: NO_SPAN }))),
        comparison(boolean, boolean),
        fc.record({
          kind: fc.constant("in" as const),
          negated,
          operand: number,
          list: fc.array(number, { minLength: 1, maxLength: 3 }),
          span: fc.constant(NO_SPAN),
        }),
        fc.record({
          kind: fc.constant("in" as const),
          negated,
          operand: string,
          list: fc.array(string, { minLength: 1, maxLength: 3 }),
          span: fc.constant(NO_SPAN),
        }),
        fc.record({
          kind: fc.constant("between" as const),
          negated,
          operand: number,
          low: number,
          high: number,
          span: fc.constant(NO_SPAN),
        }),
        fc.record({
          kind: fc.constant("like" as const),
          negated,
          operand: fc.oneof(string, number, timestamp),
          pattern: string,
          span: fc.constant(NO_SPAN),
        }),
        fc.record({
          kind: fc.constant("is-null" as const),
          negated,
          operand: tie("any") as fc.Arbitrary<Expression>,
          span: fc.constant(NO_SPAN),
        }),
      ),
    };
  });
}

function aggregate(fn: AggregateFunction, argument: fc.Arbitrary<Expression>, distinct = false): fc.Arbitrary<Expression> {
  return argument.map((a): Aggregate => ({ kind: "aggregate", function: fn, distinct, argument: a, span: NO_SPAN }));
}

/** Aggregates of plain expressions, and arithmetic on them: what a grouped query selects. */
export function aggregateExpressions(names: TypedNames): fc.Arbitrary<Expression> {
  const plain = plainExpressions(names);
  const single = fc.oneof(
    fc.constant<Expression>({ kind: "aggregate", function: "count", distinct: false, argument: null, span: NO_SPAN }),
    aggregate("count", plain.any),
    aggregate("count", plain.any, true),
    aggregate("avg", plain.number),
    aggregate("sum", plain.number),
    ...(["min", "max"] as const).map((fn) => aggregate(fn, fc.oneof(plain.number, plain.string, plain.timestamp))),
    ...(["first", "last"] as const).map((fn) => aggregate(fn, plain.any)),
  );
  return fc.oneof(
    { weight: 3, arbitrary: single },
    fc.record({
      kind: fc.constant("arithmetic" as const),
      operator: fc.constantFrom(...(["+", "/"] as const)),
      left: single,
      right: plain.number,
      span: fc.constant(NO_SPAN),
    }),
  );
}

function select(
  items: readonly { expression: Expression; alias: string | null }[],
  rest: Omit<Query, "kind" | "explain" | "select" | "from" | "span">,
): Query {
  return {
    kind: "query",
    explain: false,
    select: {
      kind: "select-list",
      items: items.map((item) => ({
        kind: "select-item",
        expression: item.expression,
        alias: item.alias === null ? null : { kind: "alias", name: item.alias, span: NO_SPAN },
        span: NO_SPAN,
      })),
      span: NO_SPAN,
    },
    from: null,
    span: NO_SPAN,
    ...rest,
  };
}

/** Plain and grouped queries over `names`. */
export function queryArbitrary(names: TypedNames): fc.Arbitrary<Query> {
  const plain = plainExpressions(names);
  const aggregates = aggregateExpressions(names);
  const limit = fc.option(
    fc.record({ kind: fc.constant("limit" as const), count: fc.nat(5), offset: fc.option(fc.nat(3)), span: fc.constant(NO_SPAN) }),
  );
  const order = (keys: fc.Arbitrary<Expression>) =>
    fc.array(
      fc.record({
        kind: fc.constant("order-item" as const),
        expression: keys,
        direction: fc.constantFrom(...(["asc", "desc"] as const)),
        span: fc.constant(NO_SPAN),
      }),
      { maxLength: 2 },
    );
  const alias = fc.option(fc.constantFrom("a", "b"), { freq: 3 });
  const ungrouped = fc
    .record({
      items: fc.array(fc.record({ expression: plain.any, alias }), { minLength: 1, maxLength: 3 }),
      where: fc.option(plain.boolean),
      orderBy: order(plain.any),
      limit,
    })
    .map(({ items, ...rest }) => select(items, { ...rest, groupBy: [] }));
  const grouped = fc.array(plain.any, { maxLength: 2 }).chain((groupBy) => {
    // Outputs and ORDER BY keys that are GROUP BY items are copies of them, as a user would write them.
    const keys =
      groupBy.length === 0
        ? aggregates
        : fc.oneof(
            aggregates,
            fc.constantFrom(...groupBy).map((e) => structuredClone(e)),
          );
    return fc
      .record({
        items: fc.array(fc.record({ expression: keys, alias }), { minLength: 1, maxLength: 3 }),
        where: fc.option(plain.boolean),
        orderBy: order(keys),
        limit,
      })
      .map(({ items, ...rest }) => select(items, { ...rest, groupBy }));
  });
  return fc.oneof(ungrouped, grouped);
}

/** Expressions of any shape over `names`, well typed or not: what a careless user might write. */
export function untypedExpressions(names: readonly string[]): fc.Arbitrary<Expression> {
  const leaf = fc.oneof(
    { weight: 3, arbitrary: name(names) },
    fc.constantFrom(0, 1, 0.5).map((value): Expression => ({ kind: "number", value, span: NO_SPAN })),
    fc.constantFrom("sgd", "2026-01-01", "x'y").map((value): Expression => ({ kind: "string", value, span: NO_SPAN })),
    fc.boolean().map((value): Expression => ({ kind: "boolean", value, span: NO_SPAN })),
    literalNull,
    fc.constant<Expression>({ kind: "timestamp", value: "2026-01-01T00:00:00.000Z", span: NO_SPAN }),
  );
  return fc.letrec<{ e: Expression }>((tie) => {
    const e = tie("e") as fc.Arbitrary<Expression>;
    const two = fc.tuple(e, e);
    return {
      e: fc.oneof(
        { depthSize: "xsmall", withCrossShrink: true },
        leaf,
        e.filter((x) => x.kind !== "number").map((operand): Expression => ({ kind: "negate", operand, span: NO_SPAN })),
        e.map((operand): Expression => ({ kind: "not", operand, span: NO_SPAN })),
        two.map(([a, b]): Expression => ({ kind: "and", operands: [a, b], span: NO_SPAN })),
        two.map(([left, right]): Expression => ({ kind: "comparison", operator: "<", left, right, span: NO_SPAN })),
        two.map(([left, right]): Expression => ({ kind: "arithmetic", operator: "*", left, right, span: NO_SPAN })),
        two.map(([operand, item]): Expression => ({ kind: "in", negated: false, operand, list: [item], span: NO_SPAN })),
        two.map(([operand, pattern]): Expression => ({ kind: "like", negated: true, operand, pattern, span: NO_SPAN })),
        e.map((operand): Expression => ({ kind: "is-null", negated: false, operand, span: NO_SPAN })),
        fc
          .tuple(fc.constantFrom(...(["count", "avg", "min", "first"] as const)), e)
          .map(([fn, argument]): Expression => ({ kind: "aggregate", function: fn, distinct: false, argument, span: NO_SPAN })),
      ),
    };
  }).e;
}

/** Queries of any shape over `names`. */
export function untypedQueries(names: readonly string[]): fc.Arbitrary<Query> {
  const e = untypedExpressions(names);
  return fc
    .record({
      items: fc.array(fc.record({ expression: e, alias: fc.constant(null) }), { minLength: 1, maxLength: 2 }),
      where: fc.option(e),
      groupBy: fc.array(e, { maxLength: 1 }),
      orderBy: fc.array(
        fc.record({
          kind: fc.constant("order-item" as const),
          expression: e,
          direction: fc.constant("asc" as const),
          span: fc.constant(NO_SPAN),
        }),
        {
          maxLength: 1,
        },
      ),
    })
    .map(({ items, ...rest }) => select(items, { ...rest, limit: null }));
}
