import type { CstChildrenDictionary, CstNode, IToken } from "chevrotain";
import {
  AGGREGATE_FUNCTIONS,
  NAMESPACES,
  node,
  type AggregateFunction,
  type ArithmeticOperator,
  type ComparisonOperator,
  type Expression,
  type Limit,
  type Namespace,
  type OrderItem,
  type Query,
  type ScriptPath,
  type SelectAll,
  type SelectItem,
  type SelectList,
  type Span,
} from "./ast.js";
import { closestNameHint, FlorQLError, FlorQLErrorCodes, shortText, type FlorQLErrorCode } from "./florql-error.js";
import { florqlParser } from "./parser.js";
import { joinSpans, spanBetween, tokenSpan } from "./span.js";
import { parseTimestamp } from "./timestamp.js";

const BaseVisitor = florqlParser.getBaseCstVisitorConstructor<void, unknown>();

/**
 * Turns the parser's concrete syntax tree into the typed AST, checking what the grammar leaves open:
 * namespaces, function names, LIMIT values and timestamps. One method per grammar rule.
 */
class AstBuilder extends BaseVisitor {
  /** The text being built from, for errors; set by `build`, which is the only way in. */
  private source = "";

  constructor() {
    super();
    this.validateVisitor();
  }

  build<T>(cst: CstNode, source: string): T {
    this.source = source;
    return this.visit(cst) as T;
  }

  private fail(code: FlorQLErrorCode, message: string, span: Span, hint?: string): never {
    throw new FlorQLError({ code, message, span, ...(hint === undefined ? {} : { hint }) }, this.source);
  }

  private expr(cst: CstNode): Expression {
    return this.visit(cst) as Expression;
  }

  query(ctx: CstChildrenDictionary): Query {
    const select = this.visit(only(nodes(ctx, "selectList"))) as SelectAll | SelectList;
    const from = optional(nodes(ctx, "fromClause"), (c) => this.visit(c) as ScriptPath);
    const where = optional(nodes(ctx, "whereClause"), (c) => this.expr(c));
    const groupBy = optional(nodes(ctx, "groupByClause"), (c) => this.visit(c) as Expression[]) ?? [];
    const orderBy = optional(nodes(ctx, "orderByClause"), (c) => this.visit(c) as OrderItem[]) ?? [];
    const limit = optional(nodes(ctx, "limitClause"), (c) => this.visit(c) as Limit);
    const explain = tokens(ctx, "Explain")[0];
    const first = tokenSpan(explain ?? only(tokens(ctx, "Select")));
    const last = limit ?? orderBy.at(-1) ?? groupBy.at(-1) ?? where ?? from ?? select;
    return node({
      kind: "query",
      explain: explain !== undefined,
      select,
      from,
      where,
      groupBy: Object.freeze(groupBy),
      orderBy: Object.freeze(orderBy),
      limit,
      span: joinSpans(first, last.span),
    });
  }

  selectList(ctx: CstChildrenDictionary): SelectAll | SelectList {
    const star = tokens(ctx, "Star")[0];
    if (star !== undefined) return node({ kind: "select-all", span: tokenSpan(star) });
    const items = nodes(ctx, "selectItem").map((c) => this.visit(c) as SelectItem);
    return node({ kind: "select-list", items: Object.freeze(items), span: joinSpans(items[0]!.span, items.at(-1)!.span) });
  }

  selectItem(ctx: CstChildrenDictionary): SelectItem {
    const expression = this.expr(only(nodes(ctx, "expression")));
    const aliasToken = tokens(ctx, "Identifier")[0] ?? tokens(ctx, "QuotedName")[0];
    if (aliasToken === undefined) return node({ kind: "select-item", expression, alias: null, span: expression.span });
    const alias = node({ kind: "alias", name: nameText(aliasToken), span: tokenSpan(aliasToken) });
    return node({ kind: "select-item", expression, alias, span: joinSpans(expression.span, alias.span) });
  }

  fromClause(ctx: CstChildrenDictionary): ScriptPath {
    const path = tokens(ctx, "ScriptPath")[0];
    if (path !== undefined) return node({ kind: "script-path", path: path.image, span: tokenSpan(path) });
    const quoted = only(tokens(ctx, "StringLiteral"));
    return node({ kind: "script-path", path: stringText(quoted), span: tokenSpan(quoted) });
  }

  whereClause(ctx: CstChildrenDictionary): Expression {
    return this.expr(only(nodes(ctx, "expression")));
  }

  groupByClause(ctx: CstChildrenDictionary): Expression[] {
    return nodes(ctx, "expression").map((c) => this.expr(c));
  }

  orderByClause(ctx: CstChildrenDictionary): OrderItem[] {
    return nodes(ctx, "orderItem").map((c) => this.visit(c) as OrderItem);
  }

  orderItem(ctx: CstChildrenDictionary): OrderItem {
    const expression = this.expr(only(nodes(ctx, "expression")));
    const direction = tokens(ctx, "Desc")[0] ?? tokens(ctx, "Asc")[0];
    return node({
      kind: "order-item",
      expression,
      direction: direction?.tokenType.name === "Desc" ? "desc" : "asc",
      span: direction === undefined ? expression.span : joinSpans(expression.span, tokenSpan(direction)),
    });
  }

  limitClause(ctx: CstChildrenDictionary): Limit {
    const [count, offset] = tokens(ctx, "NumberLiteral").map((t) => this.count(t));
    const last = tokens(ctx, "NumberLiteral").at(-1)!;
    return node({ kind: "limit", count: count!, offset: offset ?? null, span: spanBetween(only(tokens(ctx, "Limit")), last) });
  }

  private count(token: IToken): number {
    const value = Number(token.image);
    if (!Number.isSafeInteger(value) || value < 0) {
      this.fail(
        FlorQLErrorCodes.badLimit,
        `LIMIT and OFFSET need a non-negative integer, found ${shortText(token.image)}`,
        tokenSpan(token),
      );
    }
    return value;
  }

  expression(ctx: CstChildrenDictionary): Expression {
    const operands = nodes(ctx, "andExpression").map((c) => this.expr(c));
    if (operands.length === 1) return operands[0]!;
    return node({ kind: "or", operands: Object.freeze(operands), span: joinSpans(operands[0]!.span, operands.at(-1)!.span) });
  }

  andExpression(ctx: CstChildrenDictionary): Expression {
    const operands = nodes(ctx, "notExpression").map((c) => this.expr(c));
    if (operands.length === 1) return operands[0]!;
    return node({ kind: "and", operands: Object.freeze(operands), span: joinSpans(operands[0]!.span, operands.at(-1)!.span) });
  }

  notExpression(ctx: CstChildrenDictionary): Expression {
    let result = this.expr(only(nodes(ctx, "comparison")));
    for (const not of tokens(ctx, "Not").reverse()) {
      result = node({ kind: "not", operand: result, span: joinSpans(tokenSpan(not), result.span) });
    }
    return result;
  }

  comparison(ctx: CstChildrenDictionary): Expression {
    const [left, right, third] = nodes(ctx, "additive").map((c) => this.expr(c));
    const operand = left!;
    const negated = tokens(ctx, "Not").length > 0;
    const operator = tokens(ctx, "ComparisonOperator")[0];
    if (operator !== undefined) {
      return node({
        kind: "comparison",
        operator: comparisonOperator(operator),
        left: operand,
        right: right!,
        span: joinSpans(operand.span, right!.span),
      });
    }
    const inList = nodes(ctx, "inList")[0];
    if (inList !== undefined) {
      const list = this.visit(inList) as Expression[];
      const close = only(tokens(inList.children, "RightParen"));
      return node({ kind: "in", negated, operand, list: Object.freeze(list), span: joinSpans(operand.span, tokenSpan(close)) });
    }
    if (tokens(ctx, "Between").length > 0) {
      return node({ kind: "between", negated, operand, low: right!, high: third!, span: joinSpans(operand.span, third!.span) });
    }
    if (tokens(ctx, "Like").length > 0) {
      return node({ kind: "like", negated, operand, pattern: right!, span: joinSpans(operand.span, right!.span) });
    }
    const isNull = tokens(ctx, "Null")[0];
    if (isNull !== undefined) return node({ kind: "is-null", negated, operand, span: joinSpans(operand.span, tokenSpan(isNull)) });
    return operand;
  }

  inList(ctx: CstChildrenDictionary): Expression[] {
    return nodes(ctx, "expression").map((c) => this.expr(c));
  }

  additive(ctx: CstChildrenDictionary): Expression {
    return this.leftAssociative(nodes(ctx, "multiplicative"), tokens(ctx, "AdditiveOperator"));
  }

  multiplicative(ctx: CstChildrenDictionary): Expression {
    return this.leftAssociative(nodes(ctx, "unary"), tokens(ctx, "MultiplicativeOperator"));
  }

  private leftAssociative(operandNodes: CstNode[], operators: IToken[]): Expression {
    let result = this.expr(operandNodes[0]!);
    operators.forEach((operator, i) => {
      const right = this.expr(operandNodes[i + 1]!);
      result = node({
        kind: "arithmetic",
        operator: operator.image as ArithmeticOperator,
        left: result,
        right,
        span: joinSpans(result.span, right.span),
      });
    });
    return result;
  }

  unary(ctx: CstChildrenDictionary): Expression {
    let result = this.expr(only(nodes(ctx, "primary")));
    for (const minus of tokens(ctx, "Minus").reverse()) {
      const span = joinSpans(tokenSpan(minus), result.span);
      // `-1` is the number -1 (SQL parameters want values, not expressions); -0 is 0, as in SQL's numeric.
      result =
        result.kind === "number"
          ? node({ kind: "number", value: result.value === 0 ? 0 : -result.value, span })
          : node({ kind: "negate", operand: result, span });
    }
    return result;
  }

  primary(ctx: CstChildrenDictionary): Expression {
    const inner = nodes(ctx, "literal")[0] ?? nodes(ctx, "aggregateCall")[0] ?? nodes(ctx, "name")[0];
    if (inner !== undefined) return this.expr(inner);
    // A parenthesized expression: no node of its own, but its span takes in the parentheses.
    const expression = this.expr(only(nodes(ctx, "expression")));
    return node({ ...expression, span: spanBetween(only(tokens(ctx, "LeftParen")), only(tokens(ctx, "RightParen"))) });
  }

  literal(ctx: CstChildrenDictionary): Expression {
    const timestamp = tokens(ctx, "Timestamp")[0];
    if (timestamp !== undefined) {
      const text = only(tokens(ctx, "StringLiteral"));
      const value = parseTimestamp(stringText(text));
      if (value === null) {
        this.fail(
          FlorQLErrorCodes.badTimestamp,
          `${shortText(text.image)} is not a timestamp`,
          tokenSpan(text),
          "write an ISO-8601 instant, e.g. TIMESTAMP '2026-01-02T03:04:05Z' (no zone means UTC)",
        );
      }
      return node({ kind: "timestamp", value, span: spanBetween(timestamp, text) });
    }
    const token = only(Object.values(ctx).flat()) as IToken;
    const span = tokenSpan(token);
    switch (token.tokenType.name) {
      case "NumberLiteral":
        return node({ kind: "number", value: Number(token.image), span });
      case "StringLiteral":
        return node({ kind: "string", value: stringText(token), span });
      case "True":
        return node({ kind: "boolean", value: true, span });
      case "False":
        return node({ kind: "boolean", value: false, span });
      default:
        return node({ kind: "null", span });
    }
  }

  aggregateCall(ctx: CstChildrenDictionary): Expression {
    const nameToken = only(tokens(ctx, "Identifier"));
    const fn = nameToken.image.toLowerCase();
    if (!isAggregate(fn)) {
      this.fail(
        FlorQLErrorCodes.unknownFunction,
        `unknown function ${nameToken.image}`,
        tokenSpan(nameToken),
        closestNameHint(fn, AGGREGATE_FUNCTIONS) ?? `the functions are the aggregates ${AGGREGATE_FUNCTIONS.join(", ")}`,
      );
    }
    const span = spanBetween(nameToken, only(tokens(ctx, "RightParen")));
    const star = tokens(ctx, "Star")[0];
    const distinct = tokens(ctx, "Distinct")[0];
    if (fn !== "count" && star !== undefined) {
      this.fail(FlorQLErrorCodes.badAggregateCall, `only count takes *, not ${fn}`, tokenSpan(star));
    }
    if (fn !== "count" && distinct !== undefined) {
      this.fail(FlorQLErrorCodes.badAggregateCall, `DISTINCT works only in count(DISTINCT ...), not in ${fn}`, tokenSpan(distinct));
    }
    const argument = star === undefined ? this.expr(only(nodes(ctx, "expression"))) : null;
    return node({ kind: "aggregate", function: fn, distinct: distinct !== undefined, argument, span });
  }

  name(ctx: CstChildrenDictionary): Expression {
    const [first, second] = [...tokens(ctx, "Identifier"), ...tokens(ctx, "QuotedName"), ...tokens(ctx, "Keyword")].sort(
      (a, b) => a.startOffset - b.startOffset,
    );
    if (second === undefined) return node({ kind: "name", namespace: null, name: nameText(first!), span: tokenSpan(first!) });
    const namespace = first!.image.toLowerCase();
    if (!isNamespace(namespace)) {
      this.fail(
        FlorQLErrorCodes.unknownNamespace,
        `unknown namespace ${first!.image}`,
        tokenSpan(first!),
        closestNameHint(namespace, NAMESPACES) ?? `the namespaces are ${NAMESPACES.join(", ")}`,
      );
    }
    return node({ kind: "name", namespace, name: nameText(second), span: spanBetween(first!, second) });
  }
}

function isAggregate(name: string): name is AggregateFunction {
  return (AGGREGATE_FUNCTIONS as readonly string[]).includes(name);
}

function isNamespace(name: string): name is Namespace {
  return (NAMESPACES as readonly string[]).includes(name);
}

function comparisonOperator(token: IToken): ComparisonOperator {
  return token.image === "<>" ? "!=" : (token.image as ComparisonOperator);
}

/** A name token's name: backquotes removed and doubled backquotes undone. */
function nameText(token: IToken): string {
  return token.tokenType.name === "QuotedName" ? token.image.slice(1, -1).replaceAll("``", "`") : token.image;
}

function stringText(token: IToken): string {
  return token.image.slice(1, -1).replaceAll("''", "'");
}

function tokens(ctx: CstChildrenDictionary, name: string): IToken[] {
  return (ctx[name] ?? []) as IToken[];
}

function nodes(ctx: CstChildrenDictionary, name: string): CstNode[] {
  return (ctx[name] ?? []) as CstNode[];
}

/** The single element the grammar guarantees. */
function only<T>(elements: readonly T[]): T {
  return elements[0]!;
}

function optional<T>(elements: readonly CstNode[], build: (cst: CstNode) => T): T | null {
  const first = elements[0];
  return first === undefined ? null : build(first);
}

export const astBuilder = new AstBuilder();
