import { createSyntaxDiagramsCode } from "./chevrotain.js";
import { florqlParser } from "./parser.js";

/**
 * The railroad diagrams of FlorQL's grammar as an HTML page, drawn from the parser itself so they
 * cannot drift from it. grammar/diagrams.html holds the output (scripts/generate-grammar.ts writes it;
 * a test fails when it is stale). The page loads Chevrotain's diagram renderer from unpkg.
 */
export function syntaxDiagramsHtml(): string {
  return createSyntaxDiagramsCode(florqlParser.getSerializedGastProductions());
}
