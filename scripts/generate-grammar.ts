// Writes grammar/diagrams.html from the FlorQL parser: npx tsx scripts/generate-grammar.ts
import { writeFileSync } from "node:fs";
import path from "node:path";
import { syntaxDiagramsHtml } from "../src/florql/grammar-diagrams.js";

const target = path.resolve(import.meta.dirname, "../grammar/diagrams.html");
writeFileSync(target, syntaxDiagramsHtml());
console.log(`wrote ${path.relative(process.cwd(), target)}`);
