import type { Expression, NameRef, Query, ScriptPath } from "./ast.js";
import { quoteName } from "./florql-error.js";
import { KEYWORDS } from "./tokens.js";

/**
 * FlorQL text for a tree, with only the parentheses that precedence needs: parsing the text gives the
 * same tree back (apart from spans). For EXPLAIN output and messages that quote the query.
 */
export function printQuery(query: Query): string {
  const parts = [query.explain ? "EXPLAIN SELECT" : "SELECT"];
  parts.push(
    query.select.kind === "select-all"
      ? "*"
      : query.select.items
          .map((item) => printExpression(item.expression) + (item.alias === null ? "" : ` AS ${printName(item.alias.name)}`))
          .join(", "),
  );
  if (query.from !== null) parts.push(`FROM ${printPath(query.from)}`);
  if (query.where !== null) parts.push(`WHERE ${printExpression(query.where)}`);
  if (query.groupBy.length > 0) parts.push(`GROUP BY ${query.groupBy.map((e) => printExpression(e)).join(", ")}`);
  if (query.orderBy.length > 0) {
    parts.push(
      `ORDER BY ${query.orderBy.map((item) => printExpression(item.expression) + (item.direction === "desc" ? " DESC" : "")).join(", ")}`,
    );
  }
  if (query.limit !== null) parts.push(`LIMIT ${query.limit.count}${query.limit.offset === null ? "" : ` OFFSET ${query.limit.offset}`}`);
  return parts.join(" ");
}

/** Binding strength, loosest first; a sub-expression looser than its place needs parentheses. */
const Level = { Or: 1, And: 2, Not: 3, Comparison: 4, Additive: 5, Multiplicative: 6, Negate: 7, Primary: 8 } as const;
type Level = (typeof Level)[keyof typeof Level];

export function printExpression(expression: Expression): string {
  return printIn(expression, Level.Or);
}

/** `expression` where the context binds at `context`. */
function printIn(expression: Expression, context: Level): string {
  const [text, level] = printAt(expression);
  return level < context ? `(${text})` : text;
}

function printAt(e: Expression): [string, Level] {
  switch (e.kind) {
    case "name":
      return [printNameRef(e), Level.Primary];
    case "number":
      return [String(e.value), e.value < 0 ? Level.Negate : Level.Primary];
    case "string":
      return [`'${e.value.replaceAll("'", "''")}'`, Level.Primary];
    case "boolean":
      return [e.value ? "TRUE" : "FALSE", Level.Primary];
    case "null":
      return ["NULL", Level.Primary];
    case "timestamp":
      return [`TIMESTAMP '${e.value}'`, Level.Primary];
    case "aggregate": {
      const argument = e.argument === null ? "*" : printExpression(e.argument);
      return [`${e.function}(${e.distinct ? "DISTINCT " : ""}${argument})`, Level.Primary];
    }
    case "negate": {
      const operand = printIn(e.operand, Level.Negate);
      // `--` would start a comment.
      return [operand.startsWith("-") ? `-(${operand})` : `-${operand}`, Level.Negate];
    }
    case "not":
      return [`NOT ${printIn(e.operand, Level.Not)}`, Level.Not];
    case "and":
      return [e.operands.map((operand) => printIn(operand, Level.Not)).join(" AND "), Level.And];
    case "or":
      return [e.operands.map((operand) => printIn(operand, Level.And)).join(" OR "), Level.Or];
    case "comparison":
      return [`${printIn(e.left, Level.Additive)} ${e.operator} ${printIn(e.right, Level.Additive)}`, Level.Comparison];
    case "arithmetic": {
      // Left-associative: the right operand needs parentheses already at its own level (`a - (b - c)`).
      const [level, right] =
        e.operator === "+" || e.operator === "-" ? [Level.Additive, Level.Multiplicative] : [Level.Multiplicative, Level.Negate];
      return [`${printIn(e.left, level)} ${e.operator} ${printIn(e.right, right)}`, level];
    }
    case "in": {
      const list = e.list.map((item) => printExpression(item)).join(", ");
      return [`${printIn(e.operand, Level.Additive)} ${e.negated ? "NOT IN" : "IN"} (${list})`, Level.Comparison];
    }
    case "between": {
      const [operand, low, high] = [e.operand, e.low, e.high].map((part) => printIn(part, Level.Additive));
      return [`${operand} ${e.negated ? "NOT BETWEEN" : "BETWEEN"} ${low} AND ${high}`, Level.Comparison];
    }
    case "like":
      return [
        `${printIn(e.operand, Level.Additive)} ${e.negated ? "NOT LIKE" : "LIKE"} ${printIn(e.pattern, Level.Additive)}`,
        Level.Comparison,
      ];
    case "is-null":
      return [`${printIn(e.operand, Level.Additive)} ${e.negated ? "IS NOT NULL" : "IS NULL"}`, Level.Comparison];
  }
}

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLAIN_PATH = /^[A-Za-z0-9_./@+~][A-Za-z0-9_./@+~-]*$/;

/** A name bare when it lexes as one, in backquotes otherwise. */
export function printName(name: string): string {
  return PLAIN_NAME.test(name) && !KEYWORDS.has(name.toLowerCase()) ? name : quoteName(name);
}

function printNameRef(ref: NameRef): string {
  return ref.namespace === null ? printName(ref.name) : `${ref.namespace}.${printName(ref.name)}`;
}

function printPath(from: ScriptPath): string {
  return PLAIN_PATH.test(from.path) && !KEYWORDS.has(from.path.toLowerCase()) ? from.path : `'${from.path.replaceAll("'", "''")}'`;
}
