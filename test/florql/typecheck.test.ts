import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AnalyzedQuery } from "../../src/florql/analyze.js";
import { childrenOf, type Expression } from "../../src/florql/ast.js";
import { FlorQLError } from "../../src/florql/florql-error.js";
import { printExpression, printQuery } from "../../src/florql/print.js";
import { analyzeText, florqlError } from "./florql-helpers.js";
import { queryArbitrary, untypedQueries } from "./florql-arbitraries.js";

/** The first output's nodes in preorder as `text: type`, or `text: type as type` where its context converts it. */
function typesOf(expression: string): string[] {
  const analyzed = analyzeText(`SELECT ${expression}`);
  return nodes(analyzed.outputs[0]!.expression).map((e) => described(analyzed, e));
}

function described(analyzed: AnalyzedQuery, e: Expression): string {
  const { type, as } = analyzed.types.of(e);
  return `${printExpression(e)}: ${type}${as === type ? "" : ` as ${as}`}`;
}

function nodes(expression: Expression): Expression[] {
  return [expression, ...childrenOf(expression).flatMap(nodes)];
}

/** Every expression node of an analysed query: outputs (SELECT * included), WHERE, GROUP BY, ORDER BY. */
function allNodes(analyzed: AnalyzedQuery): Expression[] {
  const { query } = analyzed;
  return [
    ...analyzed.outputs.map((o) => o.expression),
    ...(query.where === null ? [] : [query.where]),
    ...query.groupBy,
    ...query.orderBy.map((item) => item.expression),
  ].flatMap(nodes);
}

describe("types", () => {
  it("of names: run dimensions, loop indexes, and values known only per row", () => {
    expect(typesOf("vid")).toEqual(["vid: string"]);
    expect(typesOf("projid")).toEqual(["projid: string"]);
    expect(typesOf("tstamp")).toEqual(["tstamp: timestamp"]);
    const pivot = analyzeText("SELECT loss, epoch, score, fold_value, lr");
    expect(pivot.outputs.map((o) => described(pivot, o.expression))).toEqual([
      "loss: json",
      "epoch: number",
      "score: json",
      "fold_value: json",
      "lr: json",
    ]);
  });

  it("of literals", () => {
    expect(["1.5", "'x'", "TRUE", "NULL", "TIMESTAMP '2026-01-02'"].flatMap(typesOf)).toEqual([
      "1.5: number",
      "'x': string",
      "TRUE: boolean",
      "NULL: null",
      "TIMESTAMP '2026-01-02T00:00:00.000Z': timestamp",
    ]);
  });

  it("of arithmetic and unary minus: numbers, reading values and NULL as numbers", () => {
    expect(typesOf("-lr")).toEqual(["-lr: number", "lr: json as number"]);
    expect(typesOf("loss * 2 + NULL")).toEqual([
      "loss * 2 + NULL: number",
      "loss * 2: number",
      "loss: json as number",
      "2: number",
      "NULL: null as number",
    ]);
    for (const operator of ["+", "-", "*", "/", "%"]) expect(typesOf(`1 ${operator} 2`)[0]).toBe(`1 ${operator} 2: number`);
  });

  it("of NOT, AND, OR: conditions, reading values as booleans", () => {
    expect(typesOf("NOT lr")).toEqual(["NOT lr: boolean", "lr: json as boolean"]);
    expect(typesOf("lr AND loss > 1 OR NULL")).toEqual([
      "lr AND loss > 1 OR NULL: boolean",
      "lr AND loss > 1: boolean",
      "lr: json as boolean",
      "loss > 1: boolean",
      "loss: json as number",
      "1: number",
      "NULL: null as boolean",
    ]);
  });

  it("of comparisons, IN and BETWEEN: operands read as their common type", () => {
    expect(typesOf("vid = 'abc'")).toEqual(["vid = 'abc': boolean", "vid: string", "'abc': string"]);
    for (const operator of ["=", "!=", "<", "<=", ">", ">="]) expect(typesOf(`lr ${operator} 1`)[1]).toBe("lr: json as number");
    // A string literal compared with a timestamp is read as one.
    expect(typesOf("tstamp > '2026-01-01'")).toEqual([
      "tstamp > '2026-01-01': boolean",
      "tstamp: timestamp",
      "'2026-01-01': string as timestamp",
    ]);
    expect(typesOf("opt IN ('adam', NULL)")).toEqual([
      "opt IN ('adam', NULL): boolean",
      "opt: json as string",
      "'adam': string",
      "NULL: null as string",
    ]);
    expect(typesOf("lr = TRUE")).toEqual(["lr = TRUE: boolean", "lr: json as boolean", "TRUE: boolean"]);
    expect(typesOf("tstamp NOT BETWEEN '2026-01-01' AND TIMESTAMP '2027-01-01'")).toEqual([
      "tstamp NOT BETWEEN '2026-01-01' AND TIMESTAMP '2027-01-01T00:00:00.000Z': boolean",
      "tstamp: timestamp",
      "'2026-01-01': string as timestamp",
      "TIMESTAMP '2027-01-01T00:00:00.000Z': timestamp",
    ]);
    // Nothing typed on either side: compared as numbers.
    expect(typesOf("opt = final")).toEqual(["opt = final: boolean", "opt: json as number", "final: json as number"]);
    expect(typesOf("NULL = NULL")).toEqual(["NULL = NULL: boolean", "NULL: null as number", "NULL: null as number"]);
    expect(typesOf("(lr > 1) = TRUE")).toEqual([
      "(lr > 1) = TRUE: boolean",
      "lr > 1: boolean",
      "lr: json as number",
      "1: number",
      "TRUE: boolean",
    ]);
  });

  it("of LIKE: strings, reading numbers and timestamps as their text", () => {
    expect(typesOf("vid LIKE 'a%'")).toEqual(["vid LIKE 'a%': boolean", "vid: string", "'a%': string"]);
    expect(typesOf("note NOT LIKE NULL")).toEqual(["note NOT LIKE NULL: boolean", "note: json as string", "NULL: null as string"]);
    expect(typesOf("tstamp LIKE '2026-%'")[1]).toBe("tstamp: timestamp as string");
    const analyzed = analyzeText("SELECT loss, epoch + 1 LIKE '1%'");
    expect(nodes(analyzed.outputs[1]!.expression).map((e) => described(analyzed, e))).toEqual([
      "epoch + 1 LIKE '1%': boolean",
      "epoch + 1: number as string",
      "epoch: number",
      "1: number",
      "'1%': string",
    ]);
  });

  it("of IS NULL: any operand, read as it is", () => {
    expect(typesOf("lr IS NULL")).toEqual(["lr IS NULL: boolean", "lr: json"]);
    expect(typesOf("tstamp IS NOT NULL")).toEqual(["tstamp IS NOT NULL: boolean", "tstamp: timestamp"]);
  });

  it("of aggregates", () => {
    const cases: [string, string[]][] = [
      ["count(*)", ["count(*): number"]],
      ["count(lr)", ["count(lr): number", "lr: json"]],
      ["count(DISTINCT vid)", ["count(DISTINCT vid): number", "vid: string"]],
      ["avg(lr)", ["avg(lr): number", "lr: json as number"]],
      ["sum(loss)", ["sum(loss): number", "loss: json as number"]],
      ["min(vid)", ["min(vid): string", "vid: string"]],
      ["max(tstamp)", ["max(tstamp): timestamp", "tstamp: timestamp"]],
      ["max(acc)", ["max(acc): number", "acc: json as number"]],
      ["first(note)", ["first(note): number", "note: json as number"]],
      ["last(lr > 1)", ["last(lr > 1): boolean", "lr > 1: boolean", "lr: json as number", "1: number"]],
      ["first(NULL)", ["first(NULL): number", "NULL: null as number"]],
      ["sum(NULL)", ["sum(NULL): number", "NULL: null as number"]],
    ];
    for (const [expression, expected] of cases) expect(typesOf(expression), expression).toEqual(expected);
  });

  it("of WHERE (a condition), GROUP BY and ORDER BY keys, and ORDER BY aliases (their output's type)", () => {
    const analyzed = analyzeText("SELECT opt, max(tstamp) AS latest WHERE lr GROUP BY opt ORDER BY latest, opt");
    expect(described(analyzed, analyzed.query.where!)).toBe("lr: json as boolean");
    expect(analyzed.query.groupBy.map((e) => described(analyzed, e))).toEqual(["opt: json"]);
    expect(analyzed.query.orderBy.map((item) => described(analyzed, item.expression))).toEqual(["latest: timestamp", "opt: json"]);
  });

  it("of every expression of every query that passes analysis; conversions are only those codegen knows", () => {
    const names = {
      number: ["epoch", "step"],
      string: ["vid", "status", "projid"],
      timestamp: ["tstamp"],
      json: ["lr", "opt", "loss", "acc", "note"],
    };
    const conversions = new Set(["number>string", "timestamp>string", "string>timestamp"]);
    let typed = 0;
    fc.assert(
      fc.property(queryArbitrary(names), (tree) => {
        const text = printQuery(tree);
        let analyzed: AnalyzedQuery;
        try {
          analyzed = analyzeText(text);
        } catch (error) {
          if (error instanceof FlorQLError) return;
          throw error;
        }
        typed++;
        for (const e of allNodes(analyzed)) {
          const { type, as } = analyzed.types.of(e);
          if (type === as || type === "json" || type === "null") continue;
          expect(conversions.has(`${type}>${as}`), `${text}: ${described(analyzed, e)}`).toBe(true);
          if (type === "string") expect(e.kind, text).toBe("string");
        }
      }),
      { numRuns: 500 },
    );
    // The property says something only if many queries pass analysis.
    expect(typed).toBeGreaterThan(100);
  });

  it("answers queries of any shape with types or a FlorQLError, never another error", () => {
    const names = ["lr", "opt", "loss", "acc", "epoch", "step", "vid", "tstamp", "fold_value"];
    fc.assert(
      fc.property(untypedQueries(names), (tree) => {
        const text = printQuery(tree);
        try {
          analyzeText(text);
        } catch (error) {
          if (!(error instanceof FlorQLError)) throw error;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

interface TypeErrorCase {
  query: string;
  /** The text the error points at (its first occurrence, or the `nth`). */
  at: string;
  nth?: number;
  code?: string;
  says: string;
  hint?: string;
}

describe("type errors", () => {
  const cases: TypeErrorCase[] = [
    { query: "SELECT acc WHERE tstamp = 5", at: "5", says: "cannot compare a timestamp with a number", hint: "tstamp is a timestamp" },
    { query: "SELECT vid > TRUE", at: "TRUE", says: "cannot compare a string with a boolean", hint: "vid is a string" },
    { query: "SELECT 5 = 'x'", at: "'x'", says: "cannot compare a number with a string", hint: "5 is a number" },
    { query: "SELECT opt IN (1, 'a')", at: "'a'", says: "cannot compare a number with a string", hint: "1 is a number" },
    { query: "SELECT 'x' IN (tstamp, 5)", at: "5", says: "cannot compare a string with a number", hint: "'x' is a string" },
    { query: "SELECT vid < tstamp", at: "tstamp", says: "cannot compare a string with a timestamp", hint: "vid is a string" },
    {
      query: "SELECT '2026-01-01' IN (tstamp, vid)",
      at: "vid",
      says: "cannot compare a timestamp with a string",
      hint: "tstamp is a timestamp",
    },
    { query: "SELECT acc BETWEEN 0 AND 'x'", at: "'x'", says: "cannot compare a number with a string" },
    { query: "SELECT (lr > 1) = 1", at: "1", nth: 2, says: "cannot compare a boolean with a number", hint: "lr > 1 is a boolean" },
    {
      query: "SELECT tstamp > 'yesterday'",
      at: "'yesterday'",
      code: "FQL010",
      says: "'yesterday' is not a timestamp",
      hint: "compare timestamps with an ISO-8601 instant, e.g. '2026-01-02T03:04:05Z' (no zone means UTC)",
    },
    { query: "SELECT tstamp IN ('2026-01-01', '0000-01-01')", at: "'0000-01-01'", code: "FQL010", says: "'0000-01-01' is not a timestamp" },
    { query: "SELECT -vid", at: "vid", says: "`-` needs a number, not a string", hint: "vid is a string" },
    { query: "SELECT -(lr > 1)", at: "(lr > 1)", says: "`-` needs a number, not a boolean" },
    { query: "SELECT tstamp - TIMESTAMP '2026-01-01'", at: "tstamp", says: "`-` needs numbers, not a timestamp" },
    { query: "SELECT loss * 'x'", at: "'x'", says: "`*` needs numbers, not a string", hint: "'x' is a string" },
    { query: "SELECT loss WHERE 1", at: "1", says: "WHERE needs a condition, not a number" },
    { query: "SELECT loss WHERE vid", at: "vid", nth: 1, says: "WHERE needs a condition, not a string" },
    { query: "SELECT NOT vid", at: "vid", says: "NOT needs a condition, not a string" },
    { query: "SELECT lr > 1 AND tstamp", at: "tstamp", says: "AND needs conditions, not a timestamp" },
    { query: "SELECT lr OR 0", at: "0", says: "OR needs conditions, not a number" },
    { query: "SELECT (lr > 1) LIKE 'x'", at: "(lr > 1)", says: "LIKE needs strings, not a boolean" },
    { query: "SELECT vid NOT LIKE FALSE", at: "FALSE", says: "LIKE needs strings, not a boolean" },
    { query: "SELECT avg(vid)", at: "vid", says: "avg needs numbers, not a string" },
    { query: "SELECT sum(tstamp)", at: "tstamp", says: "sum needs numbers, not a timestamp" },
    { query: "SELECT max(lr > 1)", at: "lr > 1", says: "max needs numbers, strings or timestamps, not a boolean" },
    { query: "SELECT min(TRUE)", at: "TRUE", says: "min needs numbers, strings or timestamps, not a boolean" },
    { query: "SELECT count(*) + vid GROUP BY vid", at: "vid", says: "`+` needs numbers, not a string" },
    { query: "SELECT count(*) ORDER BY -max(vid)", at: "max(vid)", says: "`-` needs a number, not a string" },
    { query: "SELECT loss\nWHERE epoch > 1\n  AND vid = 1", at: "1", nth: 2, says: "cannot compare a string with a number" },
    // Inner operands are checked before the operators that use them.
    { query: "SELECT (vid + 1) = 'x'", at: "vid", says: "`+` needs numbers, not a string" },
  ];

  it.each(cases)("$query", ({ query, at, nth = 1, code = "FQL026", says, hint }) => {
    let offset = -1;
    for (let i = 0; i < nth; i++) offset = query.indexOf(at, offset + 1);
    const error = florqlError(() => analyzeText(query));
    expect(error.code).toBe(code);
    expect(error.summary).toBe(says);
    expect(error.span).toMatchObject({ offset, length: at.length });
    if (hint !== undefined) expect(error.hint).toBe(hint);
    expect(error.message.split("\n")[0]).toBe(`${code} at line ${error.span.line}, column ${error.span.column}: ${says}`);
  });

  it("reports the first mistake in the order of the text: SELECT, WHERE, GROUP BY, ORDER BY", () => {
    expect(florqlError(() => analyzeText("SELECT -vid, loss WHERE 1 ORDER BY -status")).span.column).toBe(9);
    expect(florqlError(() => analyzeText("SELECT loss WHERE 1 ORDER BY -status")).span.column).toBe(19);
    expect(florqlError(() => analyzeText("SELECT loss ORDER BY -status")).span.column).toBe(23);
  });

  it("comes after name, dimension, grouping and script errors", () => {
    expect(florqlError(() => analyzeText("SELECT -vid, nope")).code).toBe("FQL020");
    expect(florqlError(() => analyzeText("SELECT -vid, acc WHERE step = 1")).code).toBe("FQL022");
    expect(florqlError(() => analyzeText("SELECT -vid, acc GROUP BY opt")).code).toBe("FQL024");
    expect(florqlError(() => analyzeText("SELECT -vid FROM nope.ts")).code).toBe("FQL025");
  });
});
