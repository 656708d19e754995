import type { JsonValue } from "../journal/records.js";
import { childrenOf, type ArithmeticOperator, type ComparisonOperator, type Expression, type NameRef } from "./ast.js";
import { instantOf } from "./timestamp.js";

/**
 * Evaluates predicates before any SQL runs, to push them down: which runs, versions and iterations can
 * match at all. The logic is SQL's three-valued logic with one more state, "not known here", for names
 * that the caller cannot resolve yet (a loop dimension, at the run level).
 */

/** The value of a name, or `undefined` when it is not known here. JSON `null` is SQL NULL. */
export type NameLookup = (name: NameRef) => JsonValue | undefined;

/**
 * Would `WHERE expression` keep a row with the values `lookup` gives? `true`: it would. `false`: it
 * would not: the predicate is false or SQL NULL, which WHERE rejects too. `null`: it depends on names
 * that `lookup` does not know, or on what only the database can decide (a type mismatch, a division
 * by zero, an aggregate). Because NULL and false both give `false`, negate a predicate by wrapping it
 * in a `not` node, never by negating this result.
 *
 * Semantics, as PostgreSQL's: comparisons and arithmetic with NULL are NULL; AND, OR and NOT follow
 * Kleene logic; numbers compare with numbers, strings with strings (by code point, as `COLLATE "C"`),
 * booleans with booleans, and timestamps as instants (with strings that are ISO-8601 timestamps, such
 * as `tstamp`); arithmetic is on double-precision numbers; arrays and objects compare with nothing.
 */
export function evaluatePredicate(expression: Expression, lookup: NameLookup): boolean | null {
  const value = evaluate(expression, lookup);
  if (value === true) return true;
  if (value === false || value === null) return false;
  return null;
}

/** Every name in `expression`, once per occurrence, in the order they appear in the text. */
export function namesIn(expression: Expression): NameRef[] {
  if (expression.kind === "name") return [expression];
  return childrenOf(expression).flatMap(namesIn);
}

/** A timestamp during evaluation, as milliseconds since the epoch. */
class Instant {
  constructor(readonly millis: number) {}
}

/** A known array or object: not NULL, but comparable with nothing. */
const COMPOSITE = Symbol("composite");

/** `undefined`: not known here. `null`: SQL NULL. */
type Value = null | boolean | number | string | Instant | typeof COMPOSITE | undefined;
/** A truth value: `null` is SQL NULL, `undefined` is not known here. */
type Truth = boolean | null | undefined;

function evaluate(expression: Expression, lookup: NameLookup): Value {
  const value = (e: Expression): Value => evaluate(e, lookup);
  switch (expression.kind) {
    case "name":
      return fromJson(lookup(expression));
    case "number":
    case "string":
    case "boolean":
      return expression.value;
    case "null":
      return null;
    case "timestamp":
      return new Instant(Date.parse(expression.value));
    case "negate": {
      const operand = value(expression.operand);
      return operand === null ? null : typeof operand === "number" ? -operand : undefined;
    }
    case "not":
      return not(truth(value(expression.operand)));
    case "and":
      return and(expression.operands.map((operand) => truth(value(operand))));
    case "or":
      return or(expression.operands.map((operand) => truth(value(operand))));
    case "comparison":
      return compare(value(expression.left), expression.operator, value(expression.right));
    case "arithmetic":
      return arithmetic(value(expression.left), expression.operator, value(expression.right));
    case "in": {
      const operand = value(expression.operand);
      const found = or(expression.list.map((item) => compare(operand, "=", value(item))));
      return expression.negated ? not(found) : found;
    }
    case "between": {
      const operand = value(expression.operand);
      const within = and([compare(operand, ">=", value(expression.low)), compare(operand, "<=", value(expression.high))]);
      return expression.negated ? not(within) : within;
    }
    case "like": {
      const matches = like(value(expression.operand), value(expression.pattern));
      return expression.negated ? not(matches) : matches;
    }
    case "is-null": {
      const operand = value(expression.operand);
      if (operand === undefined) return undefined;
      return (operand === null) !== expression.negated;
    }
    case "aggregate":
      return undefined;
  }
}

function fromJson(json: JsonValue | undefined): Value {
  return json !== null && typeof json === "object" ? COMPOSITE : json;
}

/** A value used as a condition; anything but a boolean or NULL is a type error that only the database reports. */
function truth(value: Value): Truth {
  return value === null || typeof value === "boolean" ? value : undefined;
}

function not(value: Truth): Truth {
  return typeof value === "boolean" ? !value : value;
}

function and(values: readonly Truth[]): Truth {
  if (values.includes(false)) return false;
  if (values.includes(undefined)) return undefined;
  return values.includes(null) ? null : true;
}

function or(values: readonly Truth[]): Truth {
  if (values.includes(true)) return true;
  if (values.includes(undefined)) return undefined;
  return values.includes(null) ? null : false;
}

function compare(left: Value, operator: ComparisonOperator, right: Value): Truth {
  // NULL wins over "not known": whatever the unknown side is, comparing with NULL gives NULL.
  if (left === null || right === null) return null;
  const order = ordering(left, right);
  if (order === undefined) return undefined;
  switch (operator) {
    case "=":
      return order === 0;
    case "!=":
      return order !== 0;
    case "<":
      return order < 0;
    case "<=":
      return order <= 0;
    case ">":
      return order > 0;
    case ">=":
      return order >= 0;
  }
}

/** Negative, zero or positive as `left` sorts before, with or after `right`; undefined when they do not compare here. */
function ordering(left: Value, right: Value): number | undefined {
  if (left instanceof Instant || right instanceof Instant) {
    const [a, b] = [instantValue(left), instantValue(right)];
    return a === undefined || b === undefined ? undefined : Math.sign(a - b);
  }
  if (typeof left === "number" && typeof right === "number") return Math.sign(left - right);
  if (typeof left === "boolean" && typeof right === "boolean") return Number(left) - Number(right);
  if (typeof left === "string" && typeof right === "string") return compareCodePoints(left, right);
  return undefined;
}

function instantValue(value: Value): number | undefined {
  if (value instanceof Instant) return value.millis;
  return typeof value === "string" ? (instantOf(value) ?? undefined) : undefined;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** UTF-16 order is code point order except around surrogates, which are rare enough to take the slow path. */
function compareCodePoints(a: string, b: string): number {
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const [x, y] = [[...a], [...b]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const difference = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (difference !== 0) return Math.sign(difference);
  }
  return Math.sign(x.length - y.length);
}

function arithmetic(left: Value, operator: ArithmeticOperator, right: Value): Value {
  if (left === null || right === null) return null;
  if (typeof left !== "number" || typeof right !== "number") return undefined;
  const result =
    operator === "+"
      ? left + right
      : operator === "-"
        ? left - right
        : operator === "*"
          ? left * right
          : operator === "/"
            ? left / right
            : left % right;
  // Division by zero and overflow are errors in SQL; leave them to the database.
  return Number.isFinite(result) ? result : undefined;
}

function like(value: Value, pattern: Value): Truth {
  if (value === null || pattern === null) return null;
  if (typeof value !== "string" || typeof pattern !== "string") return undefined;
  return matchLike([...value], [...pattern]);
}

/**
 * SQL LIKE without regular expressions (a user's pattern must not be able to make matching slow):
 * the classic wildcard match that backtracks only to the last `%`, so O(text × pattern) at worst.
 * `\` escapes the next character, as in PostgreSQL; a pattern ending in a lone `\` is an error there,
 * so it is left undecided here.
 */
function matchLike(text: readonly string[], pattern: readonly string[]): Truth {
  const tokens: { any: boolean; one: boolean; char: string }[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") {
      if (i + 1 === pattern.length) return undefined;
      tokens.push({ any: false, one: false, char: pattern[++i]! });
    } else {
      tokens.push({ any: c === "%", one: c === "_", char: c });
    }
  }
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const token = tokens[p];
    if (token !== undefined && !token.any && (token.one || token.char === text[t])) {
      t++;
      p++;
    } else if (token?.any) {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (tokens[p]?.any) p++;
  return p === tokens.length;
}
