import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { printFlorSchema } from "../../src/graphql/schema.js";
import { PACKAGE_ROOT } from "../helpers/repo.js";

it("schema.graphql is the schema the code builds (regenerate with npx tsx scripts/print-schema.ts)", () => {
  expect(readFileSync(path.join(PACKAGE_ROOT, "schema.graphql"), "utf8")).toBe(printFlorSchema());
});
