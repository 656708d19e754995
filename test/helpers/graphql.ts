import { createFlorYoga, type FlorYogaOptions } from "../../src/graphql/server.js";
import { layoutFor, type ProjectLayout } from "../../src/project-layout.js";
import { ingest } from "../../src/store/ingest.js";
import { openStore, type Store } from "../../src/store/open-store.js";
import type { TestRepo } from "./repo.js";

/** The repository's embedded store, ingested, and the GraphQL endpoint over it (in process; `yoga.fetch`). */
export async function openGraphql(
  repo: TestRepo,
  options: Omit<FlorYogaOptions, "store" | "layout"> = {},
): Promise<{ layout: ProjectLayout; store: Store; yoga: ReturnType<typeof createFlorYoga> }> {
  const layout = layoutFor(repo.dir);
  const store = await openStore(layout, { databaseUrl: "" });
  await ingest(store, layout);
  return { layout, store, yoga: createFlorYoga({ store, layout, ...options }) };
}
