import type { Aggregate, Expression, NameRef, OrderItem, Query } from "./ast.js";
import type { Output, Resolved } from "./analyze.js";
import { FlorQLError, FlorQLErrorCodes, shortText } from "./florql-error.js";
import { printExpression } from "./print.js";
import { parseTimestamp } from "./timestamp.js";

/**
 * FlorQL's value types. `json`: a logged value, an arg or a loop item, whose type is known only per row
 * (a number, string, boolean or JSON); `null`: the NULL literal, whose type is that of its context.
 */
export type ValueType = "number" | "string" | "boolean" | "timestamp" | "json" | "null";

/**
 * What an expression is (`type`) and what its context reads it as (`as`). They differ where the context
 * converts: a JSON value read as a number (other values are NULL there), a NULL literal given a type, a
 * string literal compared with a timestamp, a number or timestamp matched with LIKE as its text.
 */
export interface ExpressionType {
  readonly type: ValueType;
  readonly as: ValueType;
}

/** The type of every expression of a query: a side table keyed by the (immutable) nodes, itself immutable. */
export class ExpressionTypes {
  private readonly table: ReadonlyMap<Expression, ExpressionType>;

  constructor(entries: Iterable<readonly [Expression, ExpressionType]>) {
    this.table = new Map([...entries].map(([expression, type]) => [expression, Object.freeze({ ...type })]));
    Object.freeze(this);
  }

  /** The type of a node of the analysed query; any other node is a bug in the caller. */
  of(expression: Expression): ExpressionType {
    const type = this.table.get(expression);
    if (type === undefined) throw new Error(`internal error: no type for ${printExpression(expression)}`);
    return type;
  }
}

/** How types read in messages. */
const WORDS: { readonly [T in ValueType]: string } = {
  number: "a number",
  string: "a string",
  boolean: "a boolean",
  timestamp: "a timestamp",
  json: "a value",
  null: "NULL",
};

export interface TypecheckInput {
  readonly query: Query;
  readonly source: string;
  readonly outputs: readonly Output[];
  readonly resolved: ReadonlyMap<NameRef, Resolved>;
  /** ORDER BY items that name an output alias: the output's index. */
  readonly orderAliases: ReadonlyMap<OrderItem, number>;
}

/**
 * Types every expression of an analysed query (outputs, WHERE, GROUP BY, ORDER BY, in that order) and
 * checks that each operator gets operands it can work on; the first mismatch is a FlorQLError
 * (FQL026, or FQL010 for a string that is compared with a timestamp but is not one) at the operand.
 *
 * - Comparisons, IN and BETWEEN need operands of one type; a JSON value or NULL takes the others' type,
 *   and a string literal compared with a timestamp is read as one.
 * - Arithmetic and unary minus need numbers, NOT/AND/OR and WHERE conditions (booleans), LIKE strings
 *   (a number or timestamp is matched as its text), avg and sum numbers, min and max anything but booleans.
 * - JSON values read as whatever their context needs; aggregates of them read numbers.
 */
export function typecheck(input: TypecheckInput): ExpressionTypes {
  return new Typer(input).run();
}

class Typer {
  private readonly types = new Map<Expression, ValueType>();
  private readonly reads = new Map<Expression, ValueType>();

  constructor(private readonly input: TypecheckInput) {}

  run(): ExpressionTypes {
    const { query, outputs, orderAliases } = this.input;
    for (const output of outputs) this.root(output.expression);
    if (query.where !== null) {
      this.condition(query.where, "WHERE needs a condition");
    }
    for (const expression of query.groupBy) this.root(expression);
    for (const item of query.orderBy) {
      const alias = orderAliases.get(item);
      if (alias === undefined) {
        this.root(item.expression);
      } else {
        // ORDER BY an alias sorts by that output: same type, nothing of its own to emit.
        const type = this.types.get(outputs[alias]!.expression)!;
        this.types.set(item.expression, type);
        this.reads.set(item.expression, type);
      }
    }
    return new ExpressionTypes([...this.types].map(([expression, type]) => [expression, { type, as: this.reads.get(expression)! }]));
  }

  /** An expression whose value is the result itself (an output, a sort key): read as what it is. */
  private root(expression: Expression): void {
    this.reads.set(expression, this.infer(expression));
  }

  private infer(e: Expression): ValueType {
    const type = this.typeOf(e);
    this.types.set(e, type);
    return type;
  }

  private typeOf(e: Expression): ValueType {
    switch (e.kind) {
      case "name":
        return nameType(this.input.resolved.get(e));
      case "number":
        return "number";
      case "string":
        return "string";
      case "boolean":
        return "boolean";
      case "null":
        return "null";
      case "timestamp":
        return "timestamp";
      case "negate":
        this.numeric(e.operand, "`-` needs a number");
        return "number";
      case "arithmetic":
        this.numeric(e.left, `\`${e.operator}\` needs numbers`);
        this.numeric(e.right, `\`${e.operator}\` needs numbers`);
        return "number";
      case "not":
        this.condition(e.operand, "NOT needs a condition");
        return "boolean";
      case "and":
      case "or":
        for (const operand of e.operands) this.condition(operand, `${e.kind.toUpperCase()} needs conditions`);
        return "boolean";
      case "comparison":
        this.compared([e.left, e.right]);
        return "boolean";
      case "in":
        this.compared([e.operand, ...e.list]);
        return "boolean";
      case "between":
        this.compared([e.operand, e.low, e.high]);
        return "boolean";
      case "like":
        this.text(e.operand, "LIKE needs strings");
        this.text(e.pattern, "LIKE needs strings");
        return "boolean";
      case "is-null":
        this.root(e.operand);
        return "boolean";
      case "aggregate":
        return this.aggregate(e);
      default:
        return unreachable(e);
    }
  }

  private aggregate(e: Aggregate): ValueType {
    const argument = e.argument;
    if (argument === null) return "number";
    switch (e.function) {
      case "count":
        // count(DISTINCT x) of a JSON value counts distinct JSON values, so x is read as it is.
        this.root(argument);
        return "number";
      case "avg":
      case "sum":
        this.numeric(argument, `${e.function} needs numbers`);
        return "number";
      case "min":
      case "max": {
        const type = this.infer(argument);
        if (type === "boolean") this.mismatch(argument, `${e.function} needs numbers, strings or timestamps`, type);
        return this.readAggregated(argument, type);
      }
      case "first":
      case "last":
        return this.readAggregated(argument, this.infer(argument));
      default:
        return unreachable(e.function);
    }
  }

  /** Aggregates of JSON values (and of NULL) aggregate their numbers. */
  private readAggregated(argument: Expression, type: ValueType): ValueType {
    const as = type === "json" || type === "null" ? "number" : type;
    this.reads.set(argument, as);
    return as;
  }

  private numeric(e: Expression, needs: string): void {
    const type = this.infer(e);
    if (type !== "number" && type !== "json" && type !== "null") this.mismatch(e, needs, type);
    this.reads.set(e, "number");
  }

  private condition(e: Expression, needs: string): void {
    const type = this.infer(e);
    if (type !== "boolean" && type !== "json" && type !== "null") this.mismatch(e, needs, type);
    this.reads.set(e, "boolean");
  }

  private text(e: Expression, needs: string): void {
    const type = this.infer(e);
    if (type === "boolean") this.mismatch(e, needs, type);
    this.reads.set(e, "string");
  }

  /**
   * Operands compared with each other: all of one type, except that JSON values and NULL take the
   * type of the others (a number when there is none) and string literals compare with timestamps.
   * The culprit is the first operand that cannot be compared with an earlier one, as that earlier one
   * set the expectation.
   */
  private compared(operands: readonly Expression[]): void {
    const typed: [Expression, ValueType][] = [];
    // The first operand of each kind seen, to name the earlier operand that a later one clashes with.
    const firstOf = new Map<ComparisonClass, [Expression, ValueType]>();
    for (const operand of operands) {
      const type = this.infer(operand);
      if (type === "json" || type === "null") continue;
      const kind = classOf(operand, type);
      // Kinds in the order they first appeared: the first that clashes is the earliest operand.
      const clash = [...firstOf].find(([other]) => !COMPARABLE[kind].includes(other));
      if (clash !== undefined) {
        const [earlier, earlierType] = clash[1];
        throw this.error(
          FlorQLErrorCodes.typeMismatch,
          `cannot compare ${WORDS[earlierType]} with ${WORDS[type]}`,
          operand,
          isA(earlier, earlierType),
        );
      }
      if (!firstOf.has(kind)) firstOf.set(kind, [operand, type]);
      typed.push([operand, type]);
    }
    const common: ValueType = typed.some(([, t]) => t === "timestamp") ? "timestamp" : (typed[0]?.[1] ?? "number");
    for (const operand of operands) {
      if (common === "timestamp" && operand.kind === "string" && parseTimestamp(operand.value) === null) {
        throw this.error(
          FlorQLErrorCodes.badTimestamp,
          `${shortText(printExpression(operand))} is not a timestamp`,
          operand,
          "compare timestamps with an ISO-8601 instant, e.g. '2026-01-02T03:04:05Z' (no zone means UTC)",
        );
      }
      this.reads.set(operand, common);
    }
  }

  private mismatch(e: Expression, needs: string, type: ValueType): never {
    throw this.error(FlorQLErrorCodes.typeMismatch, `${needs}, not ${WORDS[type]}`, e, isA(e, type));
  }

  private error(
    code: typeof FlorQLErrorCodes.typeMismatch | typeof FlorQLErrorCodes.badTimestamp,
    message: string,
    at: Expression,
    hint: string,
  ): FlorQLError {
    return new FlorQLError({ code, message, span: at.span, hint }, this.input.source);
  }
}

/** For comparisons: a string literal is the one string that also compares with a timestamp. */
type ComparisonClass = "number" | "string" | "string-literal" | "boolean" | "timestamp";

const COMPARABLE: { readonly [K in ComparisonClass]: readonly ComparisonClass[] } = {
  number: ["number"],
  string: ["string", "string-literal"],
  "string-literal": ["string", "string-literal", "timestamp"],
  boolean: ["boolean"],
  timestamp: ["timestamp", "string-literal"],
};

function classOf(e: Expression, type: Exclude<ValueType, "json" | "null">): ComparisonClass {
  return type === "string" && e.kind === "string" ? "string-literal" : type;
}

function nameType(meaning: Resolved | undefined): ValueType {
  if (meaning === undefined) throw new Error("internal error: an unresolved name reached type checking");
  switch (meaning.kind) {
    case "run":
      return meaning.name === "tstamp" ? "timestamp" : "string";
    case "loop":
      // A loop's iteration index is a number; the item of a loop over items can be any JSON scalar.
      return meaning.valueOf === null ? "number" : "json";
    case "arg":
    case "log":
      return "json";
    case "verified":
      return "boolean";
    default:
      return unreachable(meaning);
  }
}

function isA(e: Expression, type: ValueType): string {
  return `${printExpression(e)} is ${WORDS[type]}`;
}

/** The `default` of an exhaustive switch: a compile error when a case is missing, a bug report if reached. */
export function unreachable(value: never): never {
  throw new Error(`internal error: unexpected ${JSON.stringify(value)}`);
}
