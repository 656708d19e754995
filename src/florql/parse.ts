import type { CstNode } from "chevrotain";
import { childrenOf, type Expression, type Query, type Span } from "./ast.js";
import { astBuilder } from "./build-ast.js";
import { FlorQLError, FlorQLErrorCodes } from "./florql-error.js";
import { florqlParser, MAX_NESTING, NestingTooDeep, type StartRule } from "./parser.js";
import { spanAt, tokenSpan } from "./span.js";
import { lexicalError, parseError } from "./syntax-error.js";
import { florqlLexer } from "./tokens.js";

/** Longer queries are refused before lexing, so that no input can make parsing slow. */
export const MAX_QUERY_LENGTH = 100_000;

/** Parses a FlorQL query. Throws FlorQLError, and nothing else, for any text that is not one. */
export function parseQuery(text: string): Query {
  const query = astBuilder.build<Query>(concreteSyntaxTree(text, "query"), text);
  const select = query.select.kind === "select-list" ? query.select.items.map((item) => item.expression) : [];
  for (const root of [
    ...select,
    ...(query.where === null ? [] : [query.where]),
    ...query.groupBy,
    ...query.orderBy.map((item) => item.expression),
  ]) {
    checkDepth(root, text);
  }
  return query;
}

/** Parses a lone predicate or expression, e.g. for `flor replay --where <predicate>`. Throws FlorQLError. */
export function parseExpression(text: string): Expression {
  const expression = astBuilder.build<Expression>(concreteSyntaxTree(text, "expression"), text);
  checkDepth(expression, text);
  return expression;
}

function concreteSyntaxTree(text: string, rule: StartRule): CstNode {
  if (text.length > MAX_QUERY_LENGTH) {
    throw new FlorQLError(
      {
        code: FlorQLErrorCodes.queryTooLong,
        message: `the query is ${text.length} characters long; the limit is ${MAX_QUERY_LENGTH}`,
        span: spanAt(text, MAX_QUERY_LENGTH, text.length - MAX_QUERY_LENGTH),
      },
      text,
    );
  }
  const { tokens, errors } = florqlLexer.tokenize(text);
  const lexical = lexicalError(text, tokens, errors);
  if (lexical !== null) throw lexical;

  florqlParser.input = tokens;
  let cst: CstNode;
  try {
    cst = rule === "query" ? florqlParser.query() : florqlParser.expression();
  } catch (error) {
    if (error instanceof NestingTooDeep) throw tooDeep(text, tokenSpan(error.token));
    throw error;
  }
  const first = florqlParser.errors[0];
  if (first !== undefined) throw parseError(text, tokens, first, rule);
  return cst;
}

/**
 * Long operator chains (`a + b + c + ...`) nest in the tree without nesting in the text; refusing
 * trees deeper than MAX_NESTING lets every later stage walk them recursively. The walk itself is
 * iterative, so it cannot overflow on the trees it refuses.
 */
function checkDepth(root: Expression, text: string): void {
  const stack: [Expression, number][] = [[root, 1]];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [expression, depth] = entry;
    if (depth > MAX_NESTING) throw tooDeep(text, expression.span);
    // Children go on the stack last-first, so the leftmost too-deep node is the one reported.
    for (const child of [...childrenOf(expression)].reverse()) stack.push([child, depth + 1]);
  }
}

function tooDeep(text: string, span: Span): FlorQLError {
  return new FlorQLError(
    {
      code: FlorQLErrorCodes.nestedTooDeeply,
      message: `the expression nests more than ${MAX_NESTING} levels deep`,
      span,
      hint: "parentheses, operators and function calls each add a level; IN (...) lists and AND/OR chains do not",
    },
    text,
  );
}
