import { ProjectSession } from "../../src/app/project-session.js";
import { createFlorYoga, type FlorYogaOptions } from "../../src/graphql/server.js";
import { layoutFor, type ProjectLayout } from "../../src/project-layout.js";
import { ingest } from "../../src/store/ingest.js";
import { openStore, type Store } from "../../src/store/open-store.js";
import type { TestRepo } from "./repo.js";

/**
 * The repository's embedded store, ingested, a server's session over it, and the GraphQL endpoint over
 * that (in process; `yoga.fetch`).
 */
export async function openGraphql(
  repo: TestRepo,
  { workers = 1, ...options }: Omit<FlorYogaOptions, "session"> & { workers?: number } = {},
): Promise<{ layout: ProjectLayout; store: Store; session: ProjectSession; yoga: ReturnType<typeof createFlorYoga> }> {
  const layout = layoutFor(repo.dir);
  const store = await openStore(layout, { databaseUrl: "" });
  await ingest(store, layout);
  const session = await ProjectSession.over(store, layout, { workers, lifetime: "server" });
  return { layout, store, session, yoga: createFlorYoga({ session, ...options }) };
}
