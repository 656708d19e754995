import { readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { AGGREGATE_FUNCTIONS, childrenOf, NAMESPACES, type Expression, type Query, type Span } from "../../src/florql/ast.js";
import { FLORQL_ERROR_TITLES, FlorQLError } from "../../src/florql/florql-error.js";
import { parseExpression, parseQuery } from "../../src/florql/parse.js";
import { printExpression, printQuery } from "../../src/florql/print.js";
import { positionAt } from "../../src/florql/span.js";
import { withoutSpans } from "./florql-helpers.js";

const VALID = Object.keys(
  JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../fixtures/florql/valid.json"), "utf8")) as Record<string, unknown>,
);

/** Pieces of FlorQL text, valid and not, for token soups and mutations. */
const LEXEMES = [
  "SELECT",
  "select",
  "FROM",
  "WHERE",
  "GROUP",
  "ORDER",
  "BY",
  "ASC",
  "DESC",
  "LIMIT",
  "OFFSET",
  "EXPLAIN",
  "AS",
  "AND",
  "OR",
  "NOT",
  "IN",
  "BETWEEN",
  "LIKE",
  "IS",
  "NULL",
  "TRUE",
  "FALSE",
  "DISTINCT",
  "TIMESTAMP",
  "count",
  "max",
  "first",
  "cnt",
  "loss",
  "epoch",
  "arg",
  "log",
  "run",
  "loop",
  "foo",
  "arg.lr",
  "log.loss",
  "x.y",
  "`odd name`",
  "`",
  "``",
  "'a''b'",
  "'",
  "''",
  "'2026-01-02T03:04:05Z'",
  "'2026-02-30'",
  '"',
  "0",
  "1",
  "-1",
  "1.5",
  ".5",
  "1e3",
  "1e",
  "1.2.3",
  "12abc",
  "1e999",
  "99999999999999999999",
  "(",
  ")",
  ",",
  ".",
  "*",
  "+",
  "-",
  "/",
  "%",
  "=",
  "!=",
  "<>",
  "<",
  "<=",
  ">",
  ">=",
  ";",
  "#",
  "--",
  "\n",
  "\t",
  "train.ts",
  "examples/iris/train.ts",
  "./x-y.mjs",
  "\u0000",
  "\u001b",
  "é",
  "😀",
  "\uD800",
];

interface Outcome {
  error: FlorQLError | null;
  millis: number;
}

/** Parses `text`; anything thrown but a FlorQLError fails the test, and so does a parse that (nearly) hangs. */
function attempt(text: string, parse: (text: string) => unknown = parseQuery): Outcome {
  const started = performance.now();
  let error: FlorQLError | null = null;
  try {
    parse(text);
  } catch (thrown) {
    if (!(thrown instanceof FlorQLError)) throw thrown;
    error = thrown;
    checkError(text, thrown);
  }
  const millis = performance.now() - started;
  // A hang guard, not a benchmark: generous, so a busy machine (CI, parallel test files) does not fail it.
  expect(millis, JSON.stringify(text)).toBeLessThan(1000);
  return { error, millis };
}

function checkError(text: string, error: FlorQLError): void {
  expect(Object.keys(FLORQL_ERROR_TITLES)).toContain(error.code);
  const { offset, length, line, column } = error.span;
  expect(offset + length).toBeLessThanOrEqual(text.length);
  expect(positionAt(text, offset)).toEqual({ offset, line, column });
  expect(error.message.startsWith(`${error.code} at line ${line}, column ${column}: `)).toBe(true);
  // Nothing from the query reaches a terminal as a control character.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters.
  expect(error.message).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
}

const soup = fc.array(fc.constantFrom(...LEXEMES), { maxLength: 30 }).chain((parts) => fc.constantFrom(parts.join(" "), parts.join("")));

/** Splits a query into lexemes roughly as the lexer would, so that mutations swap whole tokens. */
function pieces(query: string): string[] {
  return query.match(/'(?:[^']|'')*'|`(?:[^`]|``)*`|[A-Za-z_][\w./-]*|\d[\w.]*|\s+|[<>!]=|<>|./gs) ?? [];
}

const mutation = fc.record({
  kind: fc.constantFrom("insert", "delete", "replace", "duplicate", "swap"),
  at: fc.nat(),
  other: fc.nat(),
  lexeme: fc.constantFrom(...LEXEMES),
});

const mutatedQuery = fc.tuple(fc.constantFrom(...VALID), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([query, mutations]) => {
  const parts = pieces(query);
  for (const m of mutations) {
    const i = parts.length === 0 ? 0 : m.at % parts.length;
    const j = parts.length === 0 ? 0 : m.other % parts.length;
    if (m.kind === "insert") parts.splice(i, 0, ` ${m.lexeme} `);
    else if (m.kind === "delete") parts.splice(i, 1);
    else if (m.kind === "replace") parts.splice(i, 1, m.lexeme);
    else if (m.kind === "duplicate") parts.splice(i, 0, parts[j] ?? "");
    else [parts[i], parts[j]] = [parts[j] ?? "", parts[i] ?? ""];
  }
  return parts.join("");
});

// Trees in the parser's normal form: what parsing can produce (no minus node over a number literal,
// -0 read as 0), so that printing and parsing again must give the same tree back.
const NO_SPAN: Span = { start: { offset: 0, line: 1, column: 1 }, end: { offset: 0, line: 1, column: 1 } };
const nameText = fc.oneof(
  fc.constantFrom("loss", "epoch", "order", "count", "a b", "x`y", "", "select"),
  fc.string({ unit: "binary", maxLength: 8 }),
);
const leaf: fc.Arbitrary<Expression> = fc.oneof(
  fc.record({
    kind: fc.constant("name" as const),
    namespace: fc.constantFrom(null, ...NAMESPACES),
    name: nameText,
    span: fc.constant(NO_SPAN),
  }),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .map((value) => ({ kind: "number" as const, value: value === 0 ? 0 : value, span: NO_SPAN })),
  fc.string({ unit: "binary", maxLength: 8 }).map((value) => ({ kind: "string" as const, value, span: NO_SPAN })),
  fc.boolean().map((value) => ({ kind: "boolean" as const, value, span: NO_SPAN })),
  fc.constant({ kind: "null" as const, span: NO_SPAN }),
  fc
    .date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true })
    .map((date) => ({ kind: "timestamp" as const, value: date.toISOString(), span: NO_SPAN })),
);

const { expression } = fc.letrec<{ expression: Expression }>((tie) => {
  const sub = tie("expression");
  const list = fc.array(sub, { minLength: 1, maxLength: 3 });
  const many = fc.array(sub, { minLength: 2, maxLength: 3 });
  const negated = fc.boolean();
  return {
    expression: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      sub.filter((e) => e.kind !== "number").map((operand) => ({ kind: "negate" as const, operand, span: NO_SPAN })),
      sub.map((operand) => ({ kind: "not" as const, operand, span: NO_SPAN })),
      many.map((operands) => ({ kind: "and" as const, operands, span: NO_SPAN })),
      many.map((operands) => ({ kind: "or" as const, operands, span: NO_SPAN })),
      fc.record({
        kind: fc.constant("comparison" as const),
        operator: fc.constantFrom(...(["=", "!=", "<", "<=", ">", ">="] as const)),
        left: sub,
        right: sub,
        span: fc.constant(NO_SPAN),
      }),
      fc.record({
        kind: fc.constant("arithmetic" as const),
        operator: fc.constantFrom(...(["+", "-", "*", "/", "%"] as const)),
        left: sub,
        right: sub,
        span: fc.constant(NO_SPAN),
      }),
      fc.record({ kind: fc.constant("in" as const), negated, operand: sub, list, span: fc.constant(NO_SPAN) }),
      fc.record({ kind: fc.constant("between" as const), negated, operand: sub, low: sub, high: sub, span: fc.constant(NO_SPAN) }),
      fc.record({ kind: fc.constant("like" as const), negated, operand: sub, pattern: sub, span: fc.constant(NO_SPAN) }),
      fc.record({ kind: fc.constant("is-null" as const), negated, operand: sub, span: fc.constant(NO_SPAN) }),
      fc.record({
        kind: fc.constant("aggregate" as const),
        function: fc.constantFrom(...AGGREGATE_FUNCTIONS),
        distinct: fc.constant(false),
        argument: sub,
        span: fc.constant(NO_SPAN),
      }),
      fc.record({
        kind: fc.constant("aggregate" as const),
        function: fc.constant("count" as const),
        distinct: fc.boolean(),
        argument: sub,
        span: fc.constant(NO_SPAN),
      }),
      fc.constant({ kind: "aggregate" as const, function: "count" as const, distinct: false, argument: null, span: NO_SPAN }),
    ),
  };
});

const query: fc.Arbitrary<Query> = fc
  .record({
    explain: fc.boolean(),
    items: fc.option(fc.array(fc.record({ expression, alias: fc.option(nameText) }), { minLength: 1, maxLength: 3 })),
    from: fc.option(
      fc.oneof(fc.constantFrom("train.ts", "examples/iris/train.ts", "where", "a b.ts", "it's.ts"), fc.string({ maxLength: 10 })),
    ),
    where: fc.option(expression),
    groupBy: fc.array(expression, { maxLength: 2 }),
    orderBy: fc.array(fc.record({ expression, direction: fc.constantFrom(...(["asc", "desc"] as const)) }), { maxLength: 2 }),
    limit: fc.option(fc.record({ count: fc.nat(), offset: fc.option(fc.nat()) })),
  })
  .map(
    (q): Query => ({
      kind: "query",
      explain: q.explain,
      select:
        q.items === null
          ? { kind: "select-all", span: NO_SPAN }
          : {
              kind: "select-list",
              items: q.items.map((item) => ({
                kind: "select-item",
                expression: item.expression,
                alias: item.alias === null ? null : { kind: "alias", name: item.alias, span: NO_SPAN },
                span: NO_SPAN,
              })),
              span: NO_SPAN,
            },
      from: q.from === null ? null : { kind: "script-path", path: q.from, span: NO_SPAN },
      where: q.where,
      groupBy: q.groupBy,
      orderBy: q.orderBy.map((item) => ({ kind: "order-item", ...item, span: NO_SPAN })),
      limit: q.limit === null ? null : { kind: "limit", ...q.limit, span: NO_SPAN },
      span: NO_SPAN,
    }),
  );

/** Trees deeper than the parser's limit are legitimately refused; the round trip is for the rest. */
function depth(e: Expression): number {
  return 1 + Math.max(0, ...childrenOf(e).map(depth));
}

function queryDepth(q: Query): number {
  const roots = [
    ...(q.select.kind === "select-list" ? q.select.items.map((i) => i.expression) : []),
    ...(q.where === null ? [] : [q.where]),
    ...q.groupBy,
    ...q.orderBy.map((i) => i.expression),
  ];
  return Math.max(0, ...roots.map(depth));
}

describe("FlorQL parser under fuzzing", () => {
  beforeAll(() => {
    // The first parses compile the parser's code paths; time them apart from the property runs.
    for (const text of VALID) parseQuery(text);
    for (let i = 0; i < 20; i++) attempt("SELECT a b c WHERE");
  });

  it("answers random text with a tree or a FlorQLError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 200 }),
          fc.string({ maxLength: 200 }),
          fc.string({ unit: "grapheme", maxLength: 50 }),
        ),
        (text) => {
          attempt(text);
          attempt(text, parseExpression);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("answers token soups with a tree or a FlorQLError", () => {
    fc.assert(
      fc.property(soup, (text) => {
        attempt(text);
        attempt(`SELECT ${text}`);
        attempt(text, parseExpression);
      }),
      { numRuns: 1000 },
    );
  });

  it("answers mutated valid queries with a tree or a FlorQLError", () => {
    fc.assert(
      fc.property(mutatedQuery, (text) => {
        attempt(text);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads printed trees back as the same trees", () => {
    fc.assert(
      fc.property(expression, (tree) => {
        fc.pre(depth(tree) <= 30);
        const text = printExpression(tree);
        expect(withoutSpans(parseExpression(text)), text).toEqual(withoutSpans(tree));
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(query, (tree) => {
        fc.pre(queryDepth(tree) <= 30);
        const text = printQuery(tree);
        expect(withoutSpans(parseQuery(text)), text).toEqual(withoutSpans(tree));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses huge and deeply nested input quickly, with a code", () => {
    const cases: [string, string][] = [
      ["(".repeat(100_001), "FQL008"],
      [`SELECT ${"(".repeat(50_000)}`, "FQL009"],
      [`SELECT ${"- ".repeat(20_000)}x`, "FQL009"],
      [`SELECT x WHERE ${"NOT ".repeat(20_000)}x`, "FQL009"],
      [`SELECT ${"1+".repeat(30_000)}1`, "FQL009"],
      [`SELECT ${"'".repeat(99_991)}`, "FQL002"],
      ["\uD800".repeat(1000), "FQL001"],
    ];
    for (const [text, code] of cases) {
      let error: unknown;
      try {
        parseQuery(text);
      } catch (thrown) {
        error = thrown;
      }
      expect(error, text.slice(0, 20)).toBeInstanceOf(FlorQLError);
      expect((error as FlorQLError).code).toBe(code);
    }
  });
});
