import type { IToken } from "chevrotain";
import type { Position, Span } from "./ast.js";

/** The position of `offset` in `source`; lines end at `\n`, `\r\n` or `\r`, as the lexer counts them. */
export function positionAt(source: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    const c = source.charCodeAt(i);
    if (c === 10 || (c === 13 && source.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return Object.freeze({ offset, line, column: offset - lineStart + 1 });
}

export function spanAt(source: string, offset: number, length: number): Span {
  return Object.freeze({ start: positionAt(source, offset), end: positionAt(source, offset + length) });
}

export function tokenSpan(token: IToken): Span {
  return spanBetween(token, token);
}

/** From the start of `first` to the end of `last`. No token in FlorQL ends with a line break, so the end stays on the last line. */
export function spanBetween(first: IToken, last: IToken): Span {
  return Object.freeze({
    start: Object.freeze({ offset: first.startOffset, line: first.startLine ?? 1, column: first.startColumn ?? 1 }),
    end: Object.freeze({ offset: (last.endOffset ?? last.startOffset) + 1, line: last.endLine ?? 1, column: (last.endColumn ?? 0) + 1 }),
  });
}

export function joinSpans(first: Span, last: Span): Span {
  return Object.freeze({ start: first.start, end: last.end });
}
