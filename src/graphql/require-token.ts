import { GraphQLError } from "graphql/index.js";
import type { FlorContext } from "./builder.js";

/** Refuses a request without the configured bearer token (code UNAUTHENTICATED). */
export function requireToken(context: FlorContext, what: string): void {
  if (!context.authorized) {
    throw new GraphQLError(
      `${what} needs the bearer token (Authorization: Bearer <token>; see FLOR_GRAPHQL_TOKEN or .flor/graphql-token)`,
      { extensions: { code: "UNAUTHENTICATED" } },
    );
  }
}
