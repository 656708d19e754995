// Writes schema.graphql at the repository root from the Pothos schema; test/graphql/schema.test.ts fails when it is stale.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { printFlorSchema } from "../src/graphql/schema.js";

const target = fileURLToPath(new URL("../schema.graphql", import.meta.url));
writeFileSync(target, printFlorSchema());
process.stdout.write(`wrote ${target}\n`);
