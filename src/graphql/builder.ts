import SchemaBuilder from "@pothos/core";
import type { ProjectSession } from "../app/project-session.js";

/** What every resolver gets: the project's session, whose services resolvers adapt to GraphQL. */
export interface FlorContext {
  session: ProjectSession;
  /** Whether the request carried the configured bearer token (mutations require it). */
  authorized: boolean;
  /** How long florql(replay: WAIT) waits for its replay before answering with what is filled so far. */
  replayWaitSeconds?: number;
  /** Aborted when the server is stopping. */
  stopping?: AbortSignal;
}

/**
 * The one SchemaBuilder. Fields are non-null unless they say otherwise: Pothos defaults to nullable,
 * which would make clients null-check values FlorDB always has.
 */
export const builder = new SchemaBuilder<{
  Context: FlorContext;
  DefaultFieldNullability: false;
  Scalars: { JSON: { Input: unknown; Output: unknown } };
}>({ defaultFieldNullability: false });

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
