import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Chevrotain's runtime, from the single-file bundle its package ships (`lib/chevrotain.min.mjs`, the
 * same version and API) rather than its entry point, which loads some 700 ES modules (lodash-es's among
 * them) and took 0.3–0.5 s of every query command's start. Every value import of chevrotain goes
 * through here, so tokens, parser and errors share one copy; types still come from "chevrotain".
 */
const entry = createRequire(import.meta.url).resolve("chevrotain");
const bundle = pathToFileURL(path.join(path.dirname(entry), "../chevrotain.min.mjs")).href;

export const { createSyntaxDiagramsCode, createToken, createTokenInstance, CstParser, EOF, Lexer, tokenMatcher } = (await import(
  bundle
)) as typeof import("chevrotain");
