import { availableParallelism } from "node:os";
import { createYoga } from "graphql-yoga";
import type { ProjectLayout } from "../project-layout.js";
import type { Store } from "../store/open-store.js";
import { schema } from "./schema.js";

export interface FlorYogaOptions {
  store: Store;
  layout: ProjectLayout;
  /** Replay workers assumed when planning (default: the cores). */
  workers?: number;
  /** GraphiQL on GET /graphql from a browser (default true). */
  graphiql?: boolean;
}

/**
 * The GraphQL endpoint at /graphql over one open store. Unexpected errors are masked (yoga's default):
 * clients see "Unexpected error." while GraphQLErrors raised on purpose and FlorQL errors-as-data pass.
 */
export function createFlorYoga({ store, layout, workers = availableParallelism(), graphiql = true }: FlorYogaOptions) {
  return createYoga({
    schema,
    graphqlEndpoint: "/graphql",
    graphiql,
    landingPage: false,
    context: () => ({ store, layout, workers }),
  });
}
