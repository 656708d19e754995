/**
 * FlorQL's abstract syntax tree: frozen plain objects, one interface per node, discriminated by
 * `kind` (in the style of Kysely's operation nodes). Every node carries the span of text it came from,
 * so later stages (name resolution, planning) can point at the user's text in their errors.
 */

/** A place in the query text. `line` and `column` are 1-based; columns count UTF-16 code units. */
export interface Position {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

/** A range of the query text; `end` is just past the last character. */
export interface Span {
  readonly start: Position;
  readonly end: Position;
}

export interface Query {
  readonly kind: "query";
  readonly explain: boolean;
  readonly select: SelectAll | SelectList;
  /** null: every script. */
  readonly from: ScriptPath | null;
  readonly where: Expression | null;
  readonly groupBy: readonly Expression[];
  readonly orderBy: readonly OrderItem[];
  readonly limit: Limit | null;
  readonly span: Span;
}

/** `SELECT *` */
export interface SelectAll {
  readonly kind: "select-all";
  readonly span: Span;
}

export interface SelectList {
  readonly kind: "select-list";
  readonly items: readonly SelectItem[];
  readonly span: Span;
}

export interface SelectItem {
  readonly kind: "select-item";
  readonly expression: Expression;
  readonly alias: Alias | null;
  readonly span: Span;
}

/** The name after AS. */
export interface Alias {
  readonly kind: "alias";
  readonly name: string;
  readonly span: Span;
}

/** The script after FROM, as written (quoted or not): relative to the repository root or a directory in it. */
export interface ScriptPath {
  readonly kind: "script-path";
  readonly path: string;
  readonly span: Span;
}

export interface OrderItem {
  readonly kind: "order-item";
  readonly expression: Expression;
  readonly direction: "asc" | "desc";
  readonly span: Span;
}

/** `LIMIT count [OFFSET offset]`; both are non-negative safe integers. */
export interface Limit {
  readonly kind: "limit";
  readonly count: number;
  readonly offset: number | null;
  readonly span: Span;
}

export type Expression =
  | NameRef
  | NumberLiteral
  | StringLiteral
  | BooleanLiteral
  | NullLiteral
  | TimestampLiteral
  | Negate
  | Not
  | And
  | Or
  | Comparison
  | Arithmetic
  | In
  | Between
  | Like
  | IsNull
  | Aggregate;

/** The namespaces that say which kind of name is meant when names clash (`arg.lr`, `log.loss`). */
export const NAMESPACES = ["arg", "log", "run", "loop"] as const;
export type Namespace = (typeof NAMESPACES)[number];

/** A name: a run dimension, loop dimension, argument or log name; `namespace` is null when none was written. */
export interface NameRef {
  readonly kind: "name";
  readonly namespace: Namespace | null;
  readonly name: string;
  readonly span: Span;
}

/** A number; a minus sign written right before a number literal is folded into its value. */
export interface NumberLiteral {
  readonly kind: "number";
  readonly value: number;
  readonly span: Span;
}

export interface StringLiteral {
  readonly kind: "string";
  readonly value: string;
  readonly span: Span;
}

export interface BooleanLiteral {
  readonly kind: "boolean";
  readonly value: boolean;
  readonly span: Span;
}

export interface NullLiteral {
  readonly kind: "null";
  readonly span: Span;
}

/** `TIMESTAMP '2026-01-02T03:04:05Z'`; `value` is the instant in ISO-8601 UTC with milliseconds. */
export interface TimestampLiteral {
  readonly kind: "timestamp";
  readonly value: string;
  readonly span: Span;
}

/** Unary minus. */
export interface Negate {
  readonly kind: "negate";
  readonly operand: Expression;
  readonly span: Span;
}

export interface Not {
  readonly kind: "not";
  readonly operand: Expression;
  readonly span: Span;
}

/** `a AND b AND c` as one node with at least two operands, so long chains stay shallow. */
export interface And {
  readonly kind: "and";
  readonly operands: readonly Expression[];
  readonly span: Span;
}

/** `a OR b OR c` as one node with at least two operands. */
export interface Or {
  readonly kind: "or";
  readonly operands: readonly Expression[];
  readonly span: Span;
}

/** `<>` is written `!=` in the tree. */
export type ComparisonOperator = "=" | "!=" | "<" | "<=" | ">" | ">=";

export interface Comparison {
  readonly kind: "comparison";
  readonly operator: ComparisonOperator;
  readonly left: Expression;
  readonly right: Expression;
  readonly span: Span;
}

export type ArithmeticOperator = "+" | "-" | "*" | "/" | "%";

export interface Arithmetic {
  readonly kind: "arithmetic";
  readonly operator: ArithmeticOperator;
  readonly left: Expression;
  readonly right: Expression;
  readonly span: Span;
}

/** `operand [NOT] IN (list)` */
export interface In {
  readonly kind: "in";
  readonly negated: boolean;
  readonly operand: Expression;
  readonly list: readonly Expression[];
  readonly span: Span;
}

/** `operand [NOT] BETWEEN low AND high` (inclusive). */
export interface Between {
  readonly kind: "between";
  readonly negated: boolean;
  readonly operand: Expression;
  readonly low: Expression;
  readonly high: Expression;
  readonly span: Span;
}

/** `operand [NOT] LIKE pattern`: `%` any run of characters, `_` one character, `\` escapes the next. */
export interface Like {
  readonly kind: "like";
  readonly negated: boolean;
  readonly operand: Expression;
  readonly pattern: Expression;
  readonly span: Span;
}

/** `operand IS [NOT] NULL` */
export interface IsNull {
  readonly kind: "is-null";
  readonly negated: boolean;
  readonly operand: Expression;
  readonly span: Span;
}

export const AGGREGATE_FUNCTIONS = ["count", "min", "max", "avg", "sum", "first", "last"] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** An aggregate call; `argument` is null for `count(*)`, and only `count` may be DISTINCT. */
export interface Aggregate {
  readonly kind: "aggregate";
  readonly function: AggregateFunction;
  readonly distinct: boolean;
  readonly argument: Expression | null;
  readonly span: Span;
}

export type Node = Query | SelectAll | SelectList | SelectItem | Alias | ScriptPath | OrderItem | Limit | Expression;

/** Freezes a new node; its children are frozen already, because nodes are built bottom-up. */
export function node<N extends Node>(fields: N): N {
  return Object.freeze(fields);
}

/** The direct sub-expressions of `expression`, in source order. */
export function childrenOf(expression: Expression): readonly Expression[] {
  switch (expression.kind) {
    case "name":
    case "number":
    case "string":
    case "boolean":
    case "null":
    case "timestamp":
      return [];
    case "negate":
    case "not":
    case "is-null":
      return [expression.operand];
    case "and":
    case "or":
      return expression.operands;
    case "comparison":
    case "arithmetic":
      return [expression.left, expression.right];
    case "in":
      return [expression.operand, ...expression.list];
    case "between":
      return [expression.operand, expression.low, expression.high];
    case "like":
      return [expression.operand, expression.pattern];
    case "aggregate":
      return expression.argument === null ? [] : [expression.argument];
  }
}
