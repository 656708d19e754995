import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/**
 * A query's view of one project: the database (or a transaction on it) and the project's id, looked up
 * once when the project is opened, so no query joins `projects` to find it again by name.
 */
export interface ProjectScope {
  db: Kysely<Database>;
  projectId: number;
}
