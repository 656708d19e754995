import type { IToken, TokenType } from "chevrotain";
import { createToken, Lexer } from "./chevrotain.js";

/**
 * FlorQL's tokens. Keywords are case-insensitive and use `longer_alt: Identifier`, so `selection` or
 * `order_id` still lex as names. Names themselves are case-sensitive: log names are JavaScript strings.
 * Each token's `LABEL` is how error messages describe it ("expected a name, found ')'").
 */

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\f\v]+/, group: Lexer.SKIPPED, line_breaks: true });
/** SQL's line comment. It comes before Minus, so `a--b` is `a` and a comment, as in SQL. */
export const Comment = createToken({ name: "Comment", pattern: /--[^\n\r]*/, group: Lexer.SKIPPED, line_breaks: false });

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: "a name" });

/** Every keyword, so that a keyword can stand for a name after a namespace (`log.order`). */
export const Keyword = createToken({ name: "Keyword", pattern: Lexer.NA, label: "a keyword" });

const keywords: TokenType[] = [];
function keyword(word: string, label = word.toUpperCase()): TokenType {
  const token = createToken({ name: word, pattern: new RegExp(word, "i"), longer_alt: Identifier, categories: Keyword, label });
  keywords.push(token);
  return token;
}

// The first pattern that matches wins, so a keyword that begins another (OR and ORDER, AS and ASC)
// comes after it; otherwise `order` would lex as OR, then longer_alt would make it a name.
export const Explain = keyword("Explain");
export const Select = keyword("Select");
export const From = keyword("From");
export const Where = keyword("Where");
// GROUP and ORDER are always followed by BY, so errors name the pair.
export const Group = keyword("Group", "GROUP BY");
export const Order = keyword("Order", "ORDER BY");
export const By = keyword("By");
export const Asc = keyword("Asc");
export const Desc = keyword("Desc");
export const Limit = keyword("Limit");
export const Offset = keyword("Offset");
export const As = keyword("As");
export const And = keyword("And");
export const Or = keyword("Or");
export const Not = keyword("Not");
export const In = keyword("In");
export const Between = keyword("Between");
export const Like = keyword("Like");
export const Is = keyword("Is");
export const Null = keyword("Null");
export const True = keyword("True");
export const False = keyword("False");
export const Distinct = keyword("Distinct");
export const Timestamp = keyword("Timestamp");

/** The keywords, lower-case: a word that is one of them needs backquotes to be used as a name. */
export const KEYWORDS: ReadonlySet<string> = new Set(keywords.map((token) => token.name.toLowerCase()));

// A path cannot start with '-', which keeps `FROM -- comment` a comment.
const pathPattern = /[A-Za-z0-9_./@+~][A-Za-z0-9_./@+~-]*/y;
const PATH_START = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./@+~"];

/**
 * An unquoted script path (`train.ts`, `examples/iris/train.ts`). It lexes only right after FROM,
 * where a path is the only thing allowed; everywhere else the same characters are names, numbers and
 * operators. A keyword is not a path, so `FROM WHERE` reports a missing path rather than swallowing WHERE.
 */
export const ScriptPath = createToken({
  name: "ScriptPath",
  label: "a script path",
  line_breaks: false,
  start_chars_hint: PATH_START,
  pattern: {
    exec(text: string, offset: number, matchedTokens: IToken[]): RegExpExecArray | null {
      // After a dot, FROM is a name (`log.from + 1`), not the clause.
      if (matchedTokens.at(-1)?.tokenType !== From || matchedTokens.at(-2)?.tokenType === Dot) return null;
      pathPattern.lastIndex = offset;
      const match = pathPattern.exec(text);
      if (match !== null && KEYWORDS.has(match[0].toLowerCase())) return null;
      return match;
    },
  },
});

/**
 * A number. The pattern is deliberately broad (`1e`, `1.2.3`, `12abc` are one token) so that a
 * malformed number is reported as one bad number (FQL005), not as a number followed by a stray name.
 */
export const NumberLiteral = createToken({
  name: "NumberLiteral",
  pattern: /(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]*)?[A-Za-z0-9_.]*/,
  label: "a number",
});
export const StringLiteral = createToken({ name: "StringLiteral", pattern: /'(?:[^']|'')*'/, line_breaks: true, label: "a string" });
/** A backquoted name: `` `odd name` ``, with a doubled backquote for a backquote. */
export const QuotedName = createToken({ name: "QuotedName", pattern: /`(?:[^`]|``)*`/, line_breaks: true, label: "a `quoted name`" });
/** An opening quote that is never closed; it takes the rest of the input so that lexing stops there (FQL002). */
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: /'[\s\S]*/, line_breaks: true, label: "a string" });
export const UnterminatedQuotedName = createToken({
  name: "UnterminatedQuotedName",
  pattern: /`[\s\S]*/,
  line_breaks: true,
  label: "a `quoted name`",
});

// Operator categories: the grammar consumes a category, the tree reads the actual token's image.
export const ComparisonOperator = createToken({ name: "ComparisonOperator", pattern: Lexer.NA, label: "an operator" });
export const AdditiveOperator = createToken({ name: "AdditiveOperator", pattern: Lexer.NA, label: "an operator" });
export const MultiplicativeOperator = createToken({ name: "MultiplicativeOperator", pattern: Lexer.NA, label: "an operator" });

const comparison = (name: string, pattern: RegExp, label: string): TokenType =>
  createToken({ name, pattern, label, categories: ComparisonOperator });
export const LessOrEqual = comparison("LessOrEqual", /<=/, "'<='");
export const NotEqual = comparison("NotEqual", /!=|<>/, "'!='");
export const Less = comparison("Less", /</, "'<'");
export const GreaterOrEqual = comparison("GreaterOrEqual", />=/, "'>='");
export const Greater = comparison("Greater", />/, "'>'");
export const Equal = comparison("Equal", /=/, "'='");
export const Plus = createToken({ name: "Plus", pattern: /\+/, label: "'+'", categories: AdditiveOperator });
export const Minus = createToken({ name: "Minus", pattern: /-/, label: "'-'", categories: AdditiveOperator });
export const Star = createToken({ name: "Star", pattern: /\*/, label: "'*'", categories: MultiplicativeOperator });
export const Slash = createToken({ name: "Slash", pattern: /\//, label: "'/'", categories: MultiplicativeOperator });
export const Percent = createToken({ name: "Percent", pattern: /%/, label: "'%'", categories: MultiplicativeOperator });
export const LeftParen = createToken({ name: "LeftParen", pattern: /\(/, label: "'('" });
export const RightParen = createToken({ name: "RightParen", pattern: /\)/, label: "')'" });
export const Comma = createToken({ name: "Comma", pattern: /,/, label: "','" });
export const Dot = createToken({ name: "Dot", pattern: /\./, label: "'.'" });

/** Lexing order matters where patterns overlap: the first match wins, not the longest. */
export const ALL_TOKENS: readonly TokenType[] = [
  WhiteSpace,
  Comment,
  ScriptPath,
  Keyword,
  ComparisonOperator,
  AdditiveOperator,
  MultiplicativeOperator,
  ...keywords,
  Identifier,
  NumberLiteral,
  StringLiteral,
  UnterminatedString,
  QuotedName,
  UnterminatedQuotedName,
  LessOrEqual,
  NotEqual,
  Less,
  GreaterOrEqual,
  Greater,
  Equal,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  LeftParen,
  RightParen,
  Comma,
  Dot,
];

export const florqlLexer = new Lexer([...ALL_TOKENS], { ensureOptimizations: true, positionTracking: "full" });
