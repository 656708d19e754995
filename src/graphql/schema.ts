// The CommonJS entry, as in types/page-info.ts: the one Pothos builds the schema with.
import { lexicographicSortSchema, printSchema } from "graphql/index.js";
import { builder } from "./builder.js";
// Each module adds its types and fields to the builder when imported.
import "./types/json.js";
import "./types/project.js";
import "./types/run.js";
import "./types/version.js";
import "./types/florql.js";
import "./types/replay-job.js";
import "./types/replay.js";
import "./types/replay-events.js";

export const schema = builder.toSchema();

/** The SDL checked in as schema.graphql, sorted so that moving code around does not reorder it. */
export function printFlorSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
