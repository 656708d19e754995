import SchemaBuilder from "@pothos/core";
import type { ProjectLayout } from "../project-layout.js";
import type { Store } from "../store/open-store.js";

/** What every resolver gets: the open store and the project it belongs to. */
export interface FlorContext {
  store: Store;
  layout: ProjectLayout;
  /** Replay workers for planning (the estimate in EXPLAIN depends on it). */
  workers: number;
  /** Whether the request carried the configured bearer token (mutations require it). */
  authorized: boolean;
  /** How long florql(replay: WAIT) waits for its replay before answering with what is filled so far. */
  replayWaitSeconds?: number;
  /** Aborted when the server is stopping. */
  stopping?: AbortSignal;
  /** Hands a new job's tasks to the replay queue (a PostgreSQL store with workers); absent: this process runs them. */
  dispatch?: (jobId: number) => Promise<void>;
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
