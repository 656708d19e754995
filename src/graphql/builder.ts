import SchemaBuilder from "@pothos/core";
import ComplexityPlugin from "@pothos/plugin-complexity";
import type { ProjectSession } from "../app/project-session.js";
import type { HeavyWork } from "./heavy-work.js";

/** What every resolver gets: the project's session, whose services resolvers adapt to GraphQL. */
export interface FlorContext {
  session: ProjectSession;
  /** Whether the request carried the configured bearer token (mutations require it). */
  authorized: boolean;
  /** How long florql(replay: WAIT) waits for its replay before answering with what is filled so far. */
  replayWaitSeconds?: number;
  /** Aborted when the server is stopping. */
  stopping?: AbortSignal;
  /** The server's slots for heavy fields (see heavy-work.ts); absent, heavy fields run at once. */
  heavy?: HeavyWork;
  /** Aborted when the operation timed out or its client went away: work not started yet is not started. */
  signal?: AbortSignal;
}

/** The cost of a field with no `complexity` of its own; a list of such fields counts this many items. */
export const DEFAULT_FIELD_COST = 1;
export const DEFAULT_LIST_SIZE = 10;

/**
 * The one SchemaBuilder. Fields are non-null unless they say otherwise: Pothos defaults to nullable,
 * which would make clients null-check values FlorDB always has. Fields declare what they cost with
 * `complexity` (the complexity plugin); limits.ts refuses operations that would cost too much.
 */
export const builder = new SchemaBuilder<{
  Context: FlorContext;
  DefaultFieldNullability: false;
  Scalars: { JSON: { Input: unknown; Output: unknown } };
}>({
  plugins: [ComplexityPlugin],
  defaultFieldNullability: false,
  complexity: { defaultComplexity: DEFAULT_FIELD_COST, defaultListMultiplier: DEFAULT_LIST_SIZE },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
