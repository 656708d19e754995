import { FlorUsageError } from "../errors.js";
import { closestName } from "../text/closest-name.js";
import type { Span } from "./ast.js";

/**
 * Every FlorQL error code, in one place. Codes are stable: tools and tests match on them, and
 * grammar/README.md documents each one (a test keeps that table complete).
 */
export const FlorQLErrorCodes = {
  unexpectedCharacter: "FQL001",
  unterminatedString: "FQL002",
  unexpectedToken: "FQL003",
  unexpectedEnd: "FQL004",
  badNumber: "FQL005",
  unknownNamespace: "FQL006",
  badLimit: "FQL007",
  queryTooLong: "FQL008",
  nestedTooDeeply: "FQL009",
  badTimestamp: "FQL010",
  unknownFunction: "FQL011",
  badAggregateCall: "FQL012",
  // Raised by analysis (name resolution against the store's catalog, grouping, types), after parsing.
  unknownName: "FQL020",
  ambiguousName: "FQL021",
  dimensionNotAvailable: "FQL022",
  aggregateInWhere: "FQL023",
  notGrouped: "FQL024",
  unknownScript: "FQL025",
  typeMismatch: "FQL026",
  constantKey: "FQL027",
} as const;

export type FlorQLErrorCode = (typeof FlorQLErrorCodes)[keyof typeof FlorQLErrorCodes];

/** What each code means, in a few words. */
export const FLORQL_ERROR_TITLES: { readonly [C in FlorQLErrorCode]: string } = {
  FQL001: "unexpected character",
  FQL002: "unterminated string or quoted name",
  FQL003: "unexpected token",
  FQL004: "unexpected end of query",
  FQL005: "bad number",
  FQL006: "unknown namespace",
  FQL007: "LIMIT and OFFSET need a non-negative integer",
  FQL008: "query too long",
  FQL009: "nested too deeply",
  FQL010: "bad timestamp",
  FQL011: "unknown function",
  FQL012: "bad aggregate call",
  FQL020: "unknown name",
  FQL021: "ambiguous name",
  FQL022: "dimension not available",
  FQL023: "aggregate in WHERE or GROUP BY",
  FQL024: "not grouped",
  FQL025: "unknown script",
  FQL026: "type mismatch",
  FQL027: "GROUP BY or ORDER BY a constant",
};

/** Where an error is: 1-based line and column (UTF-16 code units), offset and length in the query text. */
export interface ErrorSpan {
  readonly offset: number;
  readonly length: number;
  readonly line: number;
  readonly column: number;
}

export interface FlorQLErrorInit {
  readonly code: FlorQLErrorCode;
  /** What is wrong, without the code or location: "expected an expression after WHERE, found ORDER". */
  readonly message: string;
  /** The text to point at, e.g. a node's `span`. */
  readonly span: Span;
  /** What would have been valid there, in words ("an expression", "FROM", "')'"). */
  readonly expected?: readonly string[];
  /** A suggestion shown on its own line, e.g. from `closestNameHint`. */
  readonly hint?: string;
}

/**
 * A mistake in a FlorQL query (exit code 2). `message` is rendered for people: the code, where, what
 * went wrong, and the query line with carets under the culprit; the parts are also fields for tools.
 */
export class FlorQLError extends FlorUsageError {
  readonly code: FlorQLErrorCode;
  /** The message without code, location or excerpt. */
  readonly summary: string;
  readonly span: ErrorSpan;
  readonly expected: readonly string[];

  /** `source` is the whole query text that `init.span` points into. */
  constructor(init: FlorQLErrorInit, source: string) {
    const { start, end } = init.span;
    const span = { offset: start.offset, length: end.offset - start.offset, line: start.line, column: start.column };
    super(`${init.code} at line ${span.line}, column ${span.column}: ${init.message}\n${excerpt(source, span)}`, init.hint);
    this.name = "FlorQLError";
    this.code = init.code;
    this.summary = init.message;
    this.span = Object.freeze(span);
    this.expected = Object.freeze([...(init.expected ?? [])]);
  }
}

/** "did you mean `loss`?" when a candidate is close enough to `name` to be a likely typo. */
export function closestNameHint(name: string, candidates: readonly string[]): string | undefined {
  const closest = closestName(name, candidates);
  return closest === undefined ? undefined : `did you mean ${quoteName(closest)}?`;
}

/** A name as FlorQL writes it in backquotes. */
export function quoteName(name: string): string {
  return `\`${name.replaceAll("`", "``")}\``;
}

const EXCERPT_WIDTH = 100;
const MAX_SHOWN = 40;
/** Characters that would move the cursor, hide text or reorder it on a terminal: shown as U+FFFD instead. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => "\uFFFD".repeat(c.length));
}

/** Query text to quote in a message: one line, at most MAX_SHOWN characters, nothing a terminal would act on. */
export function shortText(text: string): string {
  const shown = printable(text);
  return shown.length > MAX_SHOWN ? `${shown.slice(0, MAX_SHOWN)}…` : shown;
}

/** The line of `source` that `span` starts on, with carets under the span, indented by two spaces. */
function excerpt(source: string, span: ErrorSpan): string {
  const lineStart = span.offset - (span.column - 1);
  const lineEnd = source.slice(lineStart).search(/\r|\n/);
  let text = lineEnd === -1 ? source.slice(lineStart) : source.slice(lineStart, lineStart + lineEnd);
  let column = span.column - 1;
  const width = Math.max(1, Math.min(span.length, text.length - column));
  // Long lines (a generated query can be one 100k-character line) show a window around the span.
  let prefix = "";
  if (text.length > EXCERPT_WIDTH) {
    const from = Math.max(0, Math.min(column - EXCERPT_WIDTH / 2, text.length - EXCERPT_WIDTH));
    prefix = from > 0 ? "…" : "";
    text = prefix + text.slice(from, from + EXCERPT_WIDTH) + (from + EXCERPT_WIDTH < text.length ? "…" : "");
    column = column - from + prefix.length;
  }
  const shown = printable(text.replaceAll("\t", " "));
  return `  ${shown}\n  ${" ".repeat(column)}${"^".repeat(Math.min(width, EXCERPT_WIDTH))}`;
}
