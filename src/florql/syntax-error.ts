import type { ILexingError, IRecognitionException, IToken, TokenType } from "chevrotain";
import { createTokenInstance, EOF, tokenMatcher } from "./chevrotain.js";
import { closestName } from "../text/closest-name.js";
import { FlorQLError, FlorQLErrorCodes, shortText } from "./florql-error.js";
import { florqlParser, tokenLabel, type StartRule } from "./parser.js";
import { spanAt, tokenSpan } from "./span.js";
import {
  Asc,
  By,
  Comma,
  Desc,
  Dot,
  From,
  Group,
  Identifier,
  Keyword,
  LeftParen,
  Limit,
  NumberLiteral,
  Offset,
  Order,
  QuotedName,
  RightParen,
  Select,
  StringLiteral,
  Timestamp,
  UnterminatedQuotedName,
  UnterminatedString,
  Where,
} from "./tokens.js";

/**
 * Turns the lexer's and parser's complaints into FlorQLErrors that say, in words, what was expected
 * where, and what was found instead.
 */

const VALID_NUMBER = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** The first lexical problem (stray character, unclosed quote, malformed number), or null. */
export function lexicalError(source: string, tokens: readonly IToken[], errors: readonly ILexingError[]): FlorQLError | null {
  const stray = errors[0];
  const bad = tokens.find(
    (t) =>
      t.tokenType === UnterminatedString || t.tokenType === UnterminatedQuotedName || (t.tokenType === NumberLiteral && !isNumber(t.image)),
  );
  if (stray !== undefined && (bad === undefined || stray.offset < bad.startOffset)) {
    const character = String.fromCodePoint(source.codePointAt(stray.offset)!);
    return new FlorQLError(
      {
        code: FlorQLErrorCodes.unexpectedCharacter,
        message: `unexpected character ${describeCharacter(character)}`,
        span: spanAt(source, stray.offset, character.length),
        ...characterHint(character),
      },
      source,
    );
  }
  if (bad === undefined) return null;
  if (bad.tokenType === NumberLiteral) {
    const tooLarge = VALID_NUMBER.test(bad.image) ? " (too large)" : "";
    return new FlorQLError(
      { code: FlorQLErrorCodes.badNumber, message: `${shortText(bad.image)} is not a number${tooLarge}`, span: tokenSpan(bad) },
      source,
    );
  }
  const what = bad.tokenType === UnterminatedString ? "string" : "quoted name";
  return new FlorQLError(
    {
      code: FlorQLErrorCodes.unterminatedString,
      message: `unterminated ${what}: this ${bad.image[0]} is never closed`,
      span: spanAt(source, bad.startOffset, 1),
    },
    source,
  );
}

function isNumber(text: string): boolean {
  return VALID_NUMBER.test(text) && Number.isFinite(Number(text));
}

function describeCharacter(character: string): string {
  return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(character)
    ? `'${character}'`
    : `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

function characterHint(character: string): { hint?: string } {
  if (character === '"') return { hint: "strings take single quotes ('text'); names with odd characters take backquotes (`odd name`)" };
  if (character === ";") return { hint: "leave out the ';': FlorQL takes one query at a time" };
  return {};
}

/** The parser's first error as a FlorQLError. `tokens` is the whole input the parser was given. */
export function parseError(source: string, tokens: readonly IToken[], error: IRecognitionException, rule: StartRule): FlorQLError {
  const found = error.token;
  const atEnd = tokenMatcher(found, EOF);
  const index = atEnd ? tokens.length : tokens.indexOf(found);
  const previous = tokens[index - 1];
  const leftover = error.name === "NotAllInputParsedException";
  const inLimit = error.context.ruleStack.at(-1) === "limitClause";
  let expected = leftover ? [...followingTokens(tokens.slice(0, index), rule), tokenLabel(EOF)] : (JSON.parse(error.message) as string[]);
  if (inLimit) expected = expected.map((label) => (label === tokenLabel(NumberLiteral) ? "a non-negative integer" : label));
  expected = summarize(expected);

  const code = atEnd ? FlorQLErrorCodes.unexpectedEnd : inLimit ? FlorQLErrorCodes.badLimit : FlorQLErrorCodes.unexpectedToken;
  const after = previous === undefined ? "" : ` after ${describeToken(previous)}`;
  // At the end of the input, point just past the last token rather than at trailing blank lines.
  const span = !atEnd ? tokenSpan(found) : previous === undefined ? spanAt(source, 0, 0) : spanAt(source, previous.endOffset! + 1, 0);
  const hint = tokenHint(found, tokens[index + 1], expected, leftover);
  return new FlorQLError(
    {
      code,
      message: `expected ${words(expected)}${after}, found ${describeToken(found)}`,
      span,
      expected,
      ...(hint === undefined ? {} : { hint }),
    },
    source,
  );
}

/**
 * Keywords that are also likely names (a log called `order` or `timestamp`), each with the token that
 * follows it when it is used as a keyword: then the user meant the keyword, and the hint would mislead.
 */
const NAME_LIKE_KEYWORDS: ReadonlyMap<TokenType, TokenType | null> = new Map([
  [Order, By],
  [Group, By],
  [Limit, NumberLiteral],
  [Offset, NumberLiteral],
  [Timestamp, StringLiteral],
  [Asc, null],
  [Desc, null],
]);

function tokenHint(found: IToken, next: IToken | undefined, expected: readonly string[], leftover: boolean): string | undefined {
  const keywordUse = NAME_LIKE_KEYWORDS.get(found.tokenType);
  const wantsName = expected.includes(EXPRESSION) || expected.includes(tokenLabel(Identifier));
  if (keywordUse !== undefined && wantsName && (keywordUse === null || next === undefined || !tokenMatcher(next, keywordUse))) {
    return `${found.image.toUpperCase()} is a keyword; to use it as a name, write it in backquotes: \`${found.image}\``;
  }
  if (tokenMatcher(found, Identifier) && found.image.length >= 4) {
    // A misspelled keyword (`FORM`, `WHER`) lexes as a name. Short names and other initials are
    // too often real names to second-guess.
    const initial = found.image[0]!.toUpperCase();
    const keywords = expected.filter((label) => /^[A-Z]+( BY)?$/.test(label) && label.startsWith(initial));
    const closest = closestName(
      found.image,
      keywords.map((label) => label.split(" ")[0]!),
    );
    if (closest !== undefined) return `did you mean ${keywords.find((label) => label.startsWith(closest))}?`;
  }
  const startsExpression = [Identifier, QuotedName, NumberLiteral, StringLiteral].some((type) => tokenMatcher(found, type));
  if (leftover && startsExpression && expected.includes(tokenLabel(Comma))) return "is a ',' missing before it?";
  return undefined;
}

const EXPRESSION = "an expression";
/** The labels of the tokens that start a primary expression: when all are expected, "an expression" says it. */
const PRIMARY_STARTS = ["a number", "a string", "TRUE", "FALSE", "NULL", "TIMESTAMP", "'('", "a name", "a `quoted name`"];
/** Labels that "an operator" covers, when any operator is expected. */
const OPERATOR_WORDS = ["an operator", "'-'", "'*'", "AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "IS"];

/** Deduplicates labels and folds the long alternatives into "an expression" and "an operator". */
function summarize(labels: readonly string[]): string[] {
  let result = [...new Set(labels)];
  if (PRIMARY_STARTS.every((label) => result.includes(label))) {
    const at = result.findIndex((label) => PRIMARY_STARTS.includes(label) || label === "NOT" || label === "'-'");
    result = result.filter((label) => !PRIMARY_STARTS.includes(label) && label !== "NOT" && label !== "'-'");
    result.splice(at, 0, EXPRESSION);
  }
  if (result.includes("an operator")) {
    const at = result.findIndex((label) => OPERATOR_WORDS.includes(label));
    result = result.filter((label) => !OPERATOR_WORDS.includes(label));
    result.splice(at, 0, "an operator");
  }
  return result;
}

/** "a, b or c" */
function words(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "nothing") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

/** A token as error messages name it: keywords in capitals, names in backquotes, punctuation in quotes. */
export function describeToken(token: IToken): string {
  if (tokenMatcher(token, EOF)) return tokenLabel(EOF);
  if (tokenMatcher(token, Keyword)) return token.image.toUpperCase();
  if (tokenMatcher(token, Identifier)) return `\`${shortText(token.image)}\``;
  if (token.tokenType.LABEL?.startsWith("'")) return `'${token.image}'`;
  return shortText(token.image);
}

/** Content assist is slow on long prefixes; past this many tokens (after shortening) the suggestions are left out. */
const MAX_ASSIST_TOKENS = 200;
const CLAUSE_KEYWORDS: readonly TokenType[] = [Select, From, Where, Group, Order, Limit];

/**
 * What could have come after `prefix`, a complete query or expression that the parser accepted but
 * that was followed by more input. Chevrotain's content assist answers this, but its cost grows with
 * the prefix, so the prefix is first shortened to one that allows the same continuations: the
 * contents of each parenthesized group become one number, earlier clauses become `SELECT 1`, and
 * earlier comma-separated items of the last clause are dropped.
 */
function followingTokens(prefix: readonly IToken[], rule: StartRule): string[] {
  const flat: IToken[] = [];
  let depth = 0;
  for (const token of prefix) {
    if (tokenMatcher(token, RightParen)) depth--;
    if (depth === 0) flat.push(token);
    if (tokenMatcher(token, LeftParen)) {
      if (depth === 0) flat.push(standIn(NumberLiteral, "1"));
      depth++;
    }
  }
  // A keyword right after a dot is a name (`log.order`), not a clause.
  const clause = lastIndex(
    flat,
    (token, i) => CLAUSE_KEYWORDS.some((type) => tokenMatcher(token, type)) && !(i > 0 && tokenMatcher(flat[i - 1]!, Dot)),
  );
  let shortened = flat;
  if (clause >= 0) {
    const head = tokenMatcher(flat[clause]!, Select) ? flat.slice(0, clause) : [standIn(Select, "SELECT"), standIn(NumberLiteral, "1")];
    const keywordCount = tokenMatcher(flat[clause]!, Group) || tokenMatcher(flat[clause]!, Order) ? 2 : 1;
    const keywords = flat.slice(clause, clause + keywordCount);
    const body = flat.slice(clause + keywordCount);
    const lastComma = lastIndex(body, (token) => tokenMatcher(token, Comma));
    shortened = [...head, ...keywords, ...body.slice(lastComma + 1)];
  }
  if (shortened.length > MAX_ASSIST_TOKENS) return [];
  const labels = florqlParser.computeContentAssist(rule, shortened).map((path) => tokenLabel(path.nextTokenType));
  // '(' and '.' would only continue a name into a call or `namespace.name`; a stray token after a
  // complete query is rarely that, and listing them buries the useful suggestions.
  return labels.filter((label) => label !== tokenLabel(LeftParen) && label !== tokenLabel(Dot));
}

function lastIndex<T>(items: readonly T[], test: (item: T, index: number) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!, i)) return i;
  return -1;
}

function standIn(type: TokenType, image: string): IToken {
  return createTokenInstance(type, image, NaN, NaN, NaN, NaN, NaN, NaN);
}
