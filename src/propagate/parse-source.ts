import { createHash } from "node:crypto";
import * as babelParser from "recast/parsers/babel.js";
import * as babelTsParser from "recast/parsers/babel-ts.js";
import * as typescriptParser from "recast/parsers/typescript.js";
import type { File } from "@babel/types";
import { FlorError } from "../errors.js";

const cache = new Map<string, File>();
const CACHE_LIMIT = 256;

/**
 * Parses a script with recast's Babel configurations, chosen by extension: `typescript` for .ts/.mts/.cts
 * (babel-ts would reject `<T>x` assertions), `babel-ts` for .tsx (JSX and types), `babel` for JavaScript.
 * Parses are cached by content and parser, since replay propagates into the same versions repeatedly.
 * The returned tree is shared: callers must not change it.
 */
export function parseSource(code: string, filename: string): File {
  const parser = /\.[mc]?ts$/.test(filename) ? typescriptParser : filename.endsWith(".tsx") ? babelTsParser : babelParser;
  const key = `${parser === typescriptParser ? "ts" : parser === babelTsParser ? "tsx" : "js"}:${createHash("sha256").update(code).digest("hex")}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  let ast: File;
  try {
    // The parser recast configures, called directly: recast.parse parses a copy with tabs expanded and
    // line ends rewritten, so its offsets do not point into the text we splice.
    ast = parser.parse(code) as File;
  } catch (error) {
    const { message, loc } = error as { message: string; loc?: { line: number; column: number } };
    throw new FlorError(
      `cannot parse ${filename}${loc ? ` at line ${loc.line}, column ${loc.column + 1}` : ""}: ${message.replace(/ \(\d+:\d+\)$/, "")}`,
    );
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, ast);
  return ast;
}
