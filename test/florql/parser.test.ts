import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FlorUsageError } from "../../src/errors.js";
import { closestNameHint, FLORQL_ERROR_TITLES, FlorQLError, FlorQLErrorCodes } from "../../src/florql/florql-error.js";
import { syntaxDiagramsHtml } from "../../src/florql/grammar-diagrams.js";
import { MAX_QUERY_LENGTH, parseExpression, parseQuery } from "../../src/florql/parse.js";
import { florqlParser } from "../../src/florql/parser.js";
import { printExpression, printQuery } from "../../src/florql/print.js";
import { positionAt } from "../../src/florql/span.js";
import { expressionsOf, withoutSpans } from "./florql-helpers.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const GOLDEN = path.join(ROOT, "test/fixtures/florql/valid.json");

/** Each query's tree is in the golden file; UPDATE_GOLDEN=1 rewrites it (review the diff by eye). */
const VALID_QUERIES = [
  "SELECT *",
  "select * from train.ts",
  "SELECT loss",
  "SELECT loss, acc",
  "SELECT epoch, loss FROM train.ts WHERE epoch > 3",
  "SELECT arg.lr, log.loss, run.vid, loop.epoch",
  "SELECT `odd name`, `back``tick`",
  "SELECT log.`grad norm` FROM examples/iris/train.ts",
  "SELECT x FROM 'my scripts/train v2.ts'",
  "SELECT x FROM ./train.ts",
  "SELECT x FROM src/train-model.mjs",
  "SELECT x FROM a/b/c.test.ts LIMIT 3",
  "SELECT x FROM @scope/pkg/train.ts",
  "EXPLAIN SELECT loss FROM train.ts",
  "SELECT loss AS l, acc AS `accuracy %`",
  "SELECT count(*)",
  "SELECT count(DISTINCT vid), count(loss)",
  "SELECT min(loss), max(loss), avg(loss), sum(loss), first(loss), last(loss)",
  "SELECT MAX(loss) AS best GROUP BY arg.lr",
  "SELECT epoch, avg(loss) GROUP BY epoch ORDER BY epoch",
  "SELECT loss ORDER BY loss DESC, epoch ASC",
  "SELECT loss LIMIT 10",
  "SELECT loss LIMIT 10 OFFSET 20",
  "SELECT loss LIMIT 0",
  "SELECT 1, 1.5, .5, 3., 1e3, 2.5E-3, 1e+2",
  "SELECT -1, - 2.5, -x, - -3, -0",
  "SELECT 12345678901234567890",
  "SELECT 'it''s', '', 'two\nlines'",
  "SELECT TRUE, false, NULL",
  "SELECT TIMESTAMP '2026-01-02T03:04:05Z', timestamp '2026-01-02'",
  "SELECT TIMESTAMP '2026-01-02 03:04:05.123+02:00'",
  "SELECT a + b * c",
  "SELECT (a + b) * c",
  "SELECT a - b - c",
  "SELECT a - (b - c)",
  "SELECT a / b % c",
  "SELECT -a * b",
  "SELECT -(a + b)",
  "SELECT count(*) * 2 + 1",
  "SELECT sum(loss) / count(loss)",
  "SELECT a AND b, a OR b",
  "SELECT x WHERE a = 1 AND b != 2 OR c <> 3",
  "SELECT x WHERE a OR b AND c",
  "SELECT x WHERE (a OR b) AND c",
  "SELECT x WHERE a = 1 OR (b = 2 OR c = 3)",
  "SELECT x WHERE NOT a = 1",
  "SELECT x WHERE NOT NOT a",
  "SELECT x WHERE NOT a AND b",
  "SELECT x WHERE NOT (a OR b)",
  "SELECT x WHERE a < 1 AND b <= 2 AND c > 3 AND d >= 4",
  "SELECT x WHERE epoch IN (1, 2, 3)",
  "SELECT x WHERE epoch NOT IN (1)",
  "SELECT x WHERE a IN (b + 1, -2, 'x', NULL)",
  "SELECT x WHERE vid IN ('abc', 'def') AND projid = 'flor'",
  "SELECT x WHERE epoch BETWEEN 2 AND 8",
  "SELECT x WHERE epoch NOT BETWEEN 2 AND 8 AND y",
  "SELECT x WHERE epoch BETWEEN a + 1 AND b * 2",
  "SELECT x WHERE filename LIKE 'train%'",
  "SELECT x WHERE filename NOT LIKE '%\\_v2%'",
  "SELECT x WHERE loss IS NULL",
  "SELECT x WHERE loss IS NOT NULL OR acc IS NULL",
  "SELECT x WHERE tstamp >= TIMESTAMP '2026-01-01' AND tstamp < TIMESTAMP '2026-02-01'",
  "SELECT x WHERE a + 1 > b * 2",
  "SELECT x WHERE (a = 1) = TRUE",
  "SELECT x WHERE a = -1",
  "SELECT x WHERE ((((a))))",
  "SELECT epoch, loss -- the loss\nFROM train.ts\nWHERE epoch >= 18 -- late epochs\n",
  "SELECT\tx\r\nFROM train.ts\r\nWHERE y = 1",
  "SELECT Loss, LOSS",
  "sElEcT x FrOm train.ts WhErE y",
  "SELECT log.order, log.from, arg.select, log.`odd name`",
  "SELECT log.from + 1, log.from / 2 FROM train.ts",
  "SELECT ARG.lr, Log.loss",
  "SELECT selection, orders, limits, asc_x, notes, nullable",
  "SELECT count, first AS last",
  "SELECT first(loss) AS first",
  "EXPLAIN SELECT epoch, max(loss) FROM examples/iris/train.ts WHERE arg.lr IN (0.1, 0.01) AND epoch BETWEEN 2 AND 8 GROUP BY epoch ORDER BY max(loss) DESC LIMIT 5 OFFSET 1",
];

interface InvalidCase {
  query: string;
  code: string;
  line: number;
  column: number;
  /** Also check the error says this. */
  says?: string;
  hint?: string;
}

const INVALID: InvalidCase[] = [
  { query: "", code: "FQL004", line: 1, column: 1, says: "expected SELECT" },
  { query: "   \n  ", code: "FQL004", line: 1, column: 1 },
  { query: "EXPLAIN", code: "FQL004", line: 1, column: 8 },
  { query: "SELEC x", code: "FQL003", line: 1, column: 1, says: "expected SELECT, found `SELEC`" },
  { query: "SELECT", code: "FQL004", line: 1, column: 7, says: "expected '*' or an expression after SELECT, found the end of the query" },
  { query: "SELECT x FROM", code: "FQL004", line: 1, column: 14, says: "expected a script path or a string after FROM" },
  {
    query: "SELECT loss WHERE ORDER BY epoch",
    code: "FQL003",
    line: 1,
    column: 19,
    says: "expected an expression after WHERE, found ORDER",
  },
  { query: "SELECT a b", code: "FQL003", line: 1, column: 10, says: "found `b`", hint: "is a ',' missing before it?" },
  { query: "SELECT x FORM t", code: "FQL003", line: 1, column: 10, hint: "did you mean FROM?" },
  { query: "SELECT x FROM t.ts WHER y", code: "FQL003", line: 1, column: 20, hint: "did you mean WHERE?" },
  { query: "SELECT a,, b", code: "FQL003", line: 1, column: 10 },
  { query: "SELECT a, FROM t", code: "FQL003", line: 1, column: 11 },
  { query: "SELECT count(x FROM t", code: "FQL003", line: 1, column: 16, says: "expected ')' after `x`, found FROM" },
  { query: "SELECT count(*", code: "FQL004", line: 1, column: 15 },
  { query: "SELECT (a + b", code: "FQL004", line: 1, column: 14 },
  { query: "SELECT a + b)", code: "FQL003", line: 1, column: 13 },
  { query: "SELECT *, x", code: "FQL003", line: 1, column: 9 },
  { query: "SELECT DISTINCT x", code: "FQL003", line: 1, column: 8 },
  { query: "SELECT x AS", code: "FQL004", line: 1, column: 12 },
  { query: "SELECT x AS 1", code: "FQL003", line: 1, column: 13 },
  { query: "SELECT a.", code: "FQL004", line: 1, column: 10 },
  { query: "SELECT a.b.c", code: "FQL003", line: 1, column: 11 },
  { query: "SELECT x WHERE", code: "FQL004", line: 1, column: 15 },
  { query: "SELECT x WHERE a AND", code: "FQL004", line: 1, column: 21 },
  { query: "SELECT x WHERE a IS", code: "FQL004", line: 1, column: 20, says: "expected NULL after IS" },
  { query: "SELECT x WHERE a IS 1", code: "FQL003", line: 1, column: 21 },
  { query: "SELECT x WHERE a = 1 = 2", code: "FQL003", line: 1, column: 22 },
  { query: "SELECT x WHERE a BETWEEN 1", code: "FQL004", line: 1, column: 27 },
  { query: "SELECT x WHERE a IN ()", code: "FQL003", line: 1, column: 22, says: "expected an expression after '(', found ')'" },
  { query: "SELECT x WHERE a IN 1, 2", code: "FQL003", line: 1, column: 21 },
  { query: "SELECT x WHERE a NOT = 1", code: "FQL003", line: 1, column: 22 },
  { query: "SELECT x FROM WHERE y", code: "FQL003", line: 1, column: 15 },
  { query: "SELECT x FROM train.ts FROM b.ts", code: "FQL003", line: 1, column: 24 },
  { query: "SELECT x GROUP epoch", code: "FQL003", line: 1, column: 16, says: "expected BY after GROUP, found `epoch`" },
  { query: "SELECT x ORDER BY", code: "FQL004", line: 1, column: 18 },
  {
    query: "select x where order = 1",
    code: "FQL003",
    line: 1,
    column: 16,
    hint: "ORDER is a keyword; to use it as a name, write it in backquotes: `order`",
  },
  { query: "SELECT x LIMIT", code: "FQL004", line: 1, column: 15, says: "expected a non-negative integer after LIMIT" },
  { query: "SELECT x LIMIT -1", code: "FQL007", line: 1, column: 16 },
  { query: "SELECT x LIMIT 1.5", code: "FQL007", line: 1, column: 16 },
  { query: "SELECT x LIMIT 1e20", code: "FQL007", line: 1, column: 16 },
  { query: "SELECT x LIMIT 10 OFFSET x", code: "FQL007", line: 1, column: 26 },
  { query: "SELECT x WHERE y = 'abc", code: "FQL002", line: 1, column: 20, says: "unterminated string" },
  { query: "SELECT `abc", code: "FQL002", line: 1, column: 8, says: "unterminated quoted name" },
  {
    query: 'SELECT "x"',
    code: "FQL001",
    line: 1,
    column: 8,
    hint: "strings take single quotes ('text'); names with odd characters take backquotes (`odd name`)",
  },
  { query: "SELECT x;", code: "FQL001", line: 1, column: 9 },
  { query: "SELECT x # y", code: "FQL001", line: 1, column: 10, says: "unexpected character '#'" },
  { query: "SELECT \u0007", code: "FQL001", line: 1, column: 8, says: "unexpected character U+0007" },
  { query: "SELECT 1.2.3", code: "FQL005", line: 1, column: 8 },
  { query: "SELECT 12abc", code: "FQL005", line: 1, column: 8 },
  { query: "SELECT 1e", code: "FQL005", line: 1, column: 8 },
  { query: "SELECT 1e999", code: "FQL005", line: 1, column: 8, says: "too large" },
  { query: "SELECT lg.loss", code: "FQL006", line: 1, column: 8, hint: "did you mean `log`?" },
  { query: "SELECT metrics.loss", code: "FQL006", line: 1, column: 8, hint: "the namespaces are arg, log, run, loop" },
  { query: "SELECT cnt(x)", code: "FQL011", line: 1, column: 8, hint: "did you mean `count`?" },
  { query: "SELECT median(x)", code: "FQL011", line: 1, column: 8 },
  { query: "SELECT sum(*)", code: "FQL012", line: 1, column: 12 },
  { query: "SELECT max(DISTINCT x)", code: "FQL012", line: 1, column: 12 },
  { query: "SELECT x WHERE t > TIMESTAMP '2026-02-30'", code: "FQL010", line: 1, column: 30 },
  { query: "SELECT x WHERE t > TIMESTAMP 'yesterday'", code: "FQL010", line: 1, column: 30 },
  { query: "SELECT x WHERE t > TIMESTAMP 5", code: "FQL003", line: 1, column: 30 },
  { query: "SELECT x\nFROM train.ts\nWHERE y >", code: "FQL004", line: 3, column: 10 },
  { query: "SELECT x\n  WHERE y = = 2", code: "FQL003", line: 2, column: 13 },
  { query: "SELECT x\r\nFROM t.ts\r\nLIMIT x", code: "FQL007", line: 3, column: 7 },
  { query: `SELECT ${"(".repeat(65)}x${")".repeat(65)}`, code: "FQL009", line: 1, column: 72 },
  { query: `SELECT ${"count(".repeat(70)}x${")".repeat(70)}`, code: "FQL009", line: 1, column: 392 },
  { query: `SELECT ${"NOT ".repeat(70)}x`, code: "FQL009", line: 1, column: 264 },
  { query: `SELECT ${Array.from({ length: 70 }, (_, i) => `a${i}`).join(" + ")}`, code: "FQL009", line: 1, column: 8 },
  { query: `SELECT x -- ${"a".repeat(MAX_QUERY_LENGTH)}`, code: "FQL008", line: 1, column: MAX_QUERY_LENGTH + 1 },
];

function parseError(query: string): FlorQLError {
  try {
    parseQuery(query);
  } catch (error) {
    if (error instanceof FlorQLError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(query)} not to parse`);
}

describe("FlorQL parser", () => {
  it("parses valid queries into the golden trees", () => {
    const actual = Object.fromEntries(VALID_QUERIES.map((query) => [query, withoutSpans(parseQuery(query))]));
    if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(GOLDEN, `${JSON.stringify(actual, null, 2)}\n`);
    const golden = JSON.parse(readFileSync(GOLDEN, "utf8")) as Record<string, unknown>;
    for (const query of VALID_QUERIES) {
      expect(golden[query], `${JSON.stringify(query)} is missing from the golden file; run with UPDATE_GOLDEN=1`).toBeDefined();
      expect(actual[query], query).toEqual(golden[query]);
    }
    expect(Object.keys(golden).sort()).toEqual([...VALID_QUERIES].sort());
    expect(VALID_QUERIES.length).toBeGreaterThanOrEqual(60);
  });

  it("gives every node a span whose text parses back to the node", () => {
    for (const query of VALID_QUERIES) {
      const ast = parseQuery(query);
      expect(ast.span.start).toEqual(positionAt(query, ast.span.start.offset));
      for (const expression of expressionsOf(ast)) {
        const { start, end } = expression.span;
        expect(start, query).toEqual(positionAt(query, start.offset));
        expect(end, query).toEqual(positionAt(query, end.offset));
        expect(withoutSpans(parseExpression(query.slice(start.offset, end.offset))), query).toEqual(withoutSpans(expression));
      }
    }
  });

  it("puts spans where the text is, across lines", () => {
    const query = "SELECT epoch, loss AS l\nFROM train.ts\nWHERE arg.lr IN (0.1, 0.01)\n  AND epoch >= 18\nLIMIT 5";
    const ast = parseQuery(query);
    const text = (span: { start: { offset: number }; end: { offset: number } }): string => query.slice(span.start.offset, span.end.offset);
    expect(text(ast.span)).toBe(query);
    expect(ast.from && text(ast.from.span)).toBe("train.ts");
    expect(ast.where && text(ast.where.span)).toBe("arg.lr IN (0.1, 0.01)\n  AND epoch >= 18");
    expect(ast.where?.span.start).toEqual({ offset: 44, line: 3, column: 7 });
    expect(ast.where?.span.end).toEqual({ offset: 83, line: 4, column: 18 });
    const item = ast.select.kind === "select-list" ? ast.select.items[1] : undefined;
    expect(item && text(item.span)).toBe("loss AS l");
    expect(item?.alias && text(item.alias.span)).toBe("l");
    expect(ast.limit && text(ast.limit.span)).toBe("LIMIT 5");
  });

  it("prints trees as text that parses back to the same tree", () => {
    for (const query of VALID_QUERIES) {
      const ast = parseQuery(query);
      expect(withoutSpans(parseQuery(printQuery(ast))), query).toEqual(withoutSpans(ast));
    }
    expect(printExpression(parseExpression("(a - (b - c)) * -(d + 1) AND NOT (x OR y)"))).toBe("(a - (b - c)) * -(d + 1) AND NOT (x OR y)");
    expect(printExpression(parseExpression("a OR (b OR c)"))).toBe("a OR (b OR c)");
    expect(
      printQuery(parseQuery("select `order`, log.`a b` from 'my dir/x.ts' where x not between 1 and 2 order by y desc limit 1 offset 2")),
    ).toBe("SELECT `order`, log.`a b` FROM 'my dir/x.ts' WHERE x NOT BETWEEN 1 AND 2 ORDER BY y DESC LIMIT 1 OFFSET 2");
  });

  it("parses lone expressions for --where", () => {
    expect(withoutSpans(parseExpression("epoch >= 18 AND arg.lr = 0.1"))).toEqual({
      kind: "and",
      operands: [
        {
          kind: "comparison",
          operator: ">=",
          left: { kind: "name", namespace: null, name: "epoch" },
          right: { kind: "number", value: 18 },
        },
        { kind: "comparison", operator: "=", left: { kind: "name", namespace: "arg", name: "lr" }, right: { kind: "number", value: 0.1 } },
      ],
    });
    expect(() => parseExpression("")).toThrow(FlorQLError);
    expect(() => parseExpression("epoch >= 18 LIMIT 1")).toThrow(
      "FQL003 at line 1, column 13: expected an operator or the end of the query after 18, found LIMIT",
    );
  });

  it("makes immutable trees", () => {
    const ast = parseQuery("SELECT a WHERE b IN (1, 2)");
    expect(Object.isFrozen(ast)).toBe(true);
    expect(Object.isFrozen(ast.where)).toBe(true);
    expect(Object.isFrozen(ast.where?.kind === "in" ? ast.where.list : null)).toBe(true);
    expect(Object.isFrozen(ast.span.start)).toBe(true);
  });
});

describe("FlorQL errors", () => {
  it.each(INVALID.map((c) => [c.query.length > 60 ? `${c.query.slice(0, 60)}…` : c.query, c] as const))("%j", (_, c) => {
    const error = parseError(c.query);
    expect({ code: error.code, line: error.span.line, column: error.span.column }).toEqual({
      code: c.code,
      line: c.line,
      column: c.column,
    });
    expect(error.message.startsWith(`${c.code} at line ${c.line}, column ${c.column}: `)).toBe(true);
    expect(error.span.offset + error.span.length).toBeLessThanOrEqual(c.query.length);
    expect(positionAt(c.query, error.span.offset)).toMatchObject({ line: c.line, column: c.column });
    if (c.says !== undefined) expect(error.summary).toContain(c.says);
    if (c.hint !== undefined) expect(error.hint).toBe(c.hint);
  });

  it("has at least 40 invalid cases", () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(40);
  });

  it("renders the line with carets under the culprit", () => {
    const error = parseError("SELECT loss WHERE ORDER BY epoch");
    expect(error.message).toBe(
      [
        "FQL003 at line 1, column 19: expected an expression after WHERE, found ORDER",
        "  SELECT loss WHERE ORDER BY epoch",
        "                    ^^^^^",
      ].join("\n"),
    );
    expect(error.expected).toEqual(["an expression"]);
    expect(error.span).toEqual({ offset: 18, length: 5, line: 1, column: 19 });
    expect(error.hint).toBeUndefined();

    const multiline = parseError("SELECT x\nFROM train.ts\nWHERE\ty = = 2");
    expect(multiline.message.split("\n").slice(1)).toEqual(["  WHERE y = = 2", "            ^"]);
  });

  it("lists what was expected after a complete query", () => {
    const error = parseError("SELECT a b");
    expect(error.expected).toEqual(["an operator", "AS", "','", "FROM", "WHERE", "GROUP BY", "ORDER BY", "LIMIT", "the end of the query"]);
    expect(parseError("SELECT a FROM t.ts WHERE x = 1 2").expected).toEqual([
      "an operator",
      "GROUP BY",
      "ORDER BY",
      "LIMIT",
      "the end of the query",
    ]);
    expect(parseError(`SELECT (${"(".repeat(50)}a${")".repeat(50)}) b`).expected).toContain("AS");
  });

  it("shows no terminal control characters from the query", () => {
    const error = parseError("SELECT \u001b[31m x");
    expect(error.message).not.toMatch(new RegExp(String.fromCharCode(0x1b)));
    expect(error.message).toContain("U+001B");
  });

  it("windows a long line around the error", () => {
    const error = parseError(`SELECT ${Array.from({ length: 40 }, (_, i) => `name${i}`).join(", ")} ??`);
    const [, line, carets] = error.message.split("\n");
    expect(line!.length).toBeLessThan(110);
    expect(line![carets!.indexOf("^")]).toBe("?");
  });

  it("is a usage error (exit code 2) that name resolution can raise too", () => {
    const error = parseError("SELECT x FROM");
    expect(error).toBeInstanceOf(FlorUsageError);
    expect(error.exitCode).toBe(2);

    const source = "SELECT los FROM train.ts";
    const name = parseQuery(source).select;
    const span = name.kind === "select-list" ? name.items[0]!.expression.span : name.span;
    const resolved = new FlorQLError(
      { code: FlorQLErrorCodes.unknownName, message: "unknown name `los`", span, hint: closestNameHint("los", ["loss", "epoch"]) },
      source,
    );
    expect(resolved.message).toBe("FQL020 at line 1, column 8: unknown name `los`\n  SELECT los FROM train.ts\n         ^^^");
    expect(resolved.hint).toBe("did you mean `loss`?");
    expect(resolved.expected).toEqual([]);
    expect(closestNameHint("zzz", ["loss"])).toBeUndefined();
    expect(closestNameHint("ab`c", ["ab`cd"])).toBe("did you mean `ab``cd`?");
  });
});

describe("FlorQL grammar documents", () => {
  it("keeps grammar/diagrams.html current (npx tsx scripts/generate-grammar.ts rewrites it)", () => {
    expect(readFileSync(path.join(ROOT, "grammar/diagrams.html"), "utf8")).toBe(syntaxDiagramsHtml());
  });

  it("documents every error code in grammar/README.md", () => {
    const readme = readFileSync(path.join(ROOT, "grammar/README.md"), "utf8");
    for (const [code, title] of Object.entries(FLORQL_ERROR_TITLES)) expect(readme).toContain(`| ${code} | ${title} |`);
    expect(new Set(Object.values(FlorQLErrorCodes))).toEqual(new Set(Object.keys(FLORQL_ERROR_TITLES)));
  });

  it("names every grammar rule in grammar/florql.ebnf", () => {
    const ebnf = readFileSync(path.join(ROOT, "grammar/florql.ebnf"), "utf8");
    for (const rule of Object.keys(florqlParser.getGAstProductions())) expect(ebnf).toMatch(new RegExp(`^${rule}\\s*=`, "m"));
  });
});
