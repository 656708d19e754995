import { createYoga } from "graphql-yoga";
import type { ProjectSession } from "../app/project-session.js";
import { type HostFilter, hostCheck } from "./allowed-hosts.js";
import { jsonBodiesOnly, originGuard, queriesOnlyOverGet } from "./browser-guards.js";
import { dashboardPage } from "./dashboard-page.js";
import { graphiqlPage } from "./graphiql-page.js";
import { HeavyWork } from "./heavy-work.js";
import { checkedTimeout, configuredTimeoutSeconds, costLimit, documentLimits, MAX_BODY_BYTES, MAX_COST, requestTimeout } from "./limits.js";
import { bearerMatches, tokenForEveryRequest } from "./require-token.js";
import { schema } from "./schema.js";
import { DEFAULT_REPLAY_WAIT_SECONDS } from "./types/florql.js";

export const GRAPHQL_ENDPOINT = "/graphql";

export interface FlorYogaOptions {
  /** The project's session: a server's (lifetime "server"), whose executor runs the replays the API starts. */
  session: ProjectSession;
  /** GraphiQL on GET /graphql from a browser (default true). */
  graphiql?: boolean;
  /** The dashboard at / (default true). */
  dashboard?: boolean;
  /** The bearer token mutations (and replay: ASYNC) require; null or absent refuses them all. */
  token?: string | null;
  /** Runs before each request's operation, e.g. to ingest journals written since the last request. */
  refresh?: () => Promise<void>;
  /** How long florql(replay: WAIT) waits for its replay before answering with what is filled (default 20 s). */
  replayWaitSeconds?: number;
  /** Whether reads are served without the token (default true: right on loopback only, see readsAreOpenOn). */
  openReads?: boolean;
  /** Aborted when the server stops: event streams end with SERVER_STOPPING instead of reading a closing store. */
  stopping?: AbortSignal;
  /** Queries and mutations running longer are answered with REQUEST_TIMEOUT (default FLOR_GRAPHQL_TIMEOUT_SECONDS, else 30). */
  timeoutSeconds?: number;
  /** The Host values served, against DNS rebinding (flor serve always gives them); absent, any Host is. */
  allowedHosts?: HostFilter;
  /** Origins other than the server's own that may send requests and read answers (CORS); default none. */
  corsOrigins?: readonly string[];
  /** Origins that are the server's own besides the request's Host (a reverse proxy's https origin). */
  ownOrigins?: readonly string[];
  /** The slots heavy fields take turns in (default: HEAVY_SLOTS at once, HEAVY_QUEUE waiting). */
  heavy?: HeavyWork;
}

/**
 * The GraphQL endpoint at /graphql over one project's session. Unexpected errors are masked (yoga's default):
 * clients see "Unexpected error." while GraphQLErrors raised on purpose and FlorQL errors-as-data pass.
 * Reads are open; mutations need `Authorization: Bearer <token>`. Requests pass, in order: the Host check,
 * the Origin check (and CORS for named origins), GraphiQL's and the dashboard's pages and files, the token check when reads
 * are not open, JSON-only POST bodies, then the operation's limits in size, depth, aliases, estimated
 * cost, heavy-field slots and (except subscriptions) running time: see limits.ts and heavy-work.ts.
 */
export function createFlorYoga({
  session,
  graphiql = true,
  dashboard = true,
  token = null,
  refresh,
  replayWaitSeconds,
  timeoutSeconds,
  stopping,
  openReads = true,
  allowedHosts,
  corsOrigins = [],
  ownOrigins = [],
  heavy = new HeavyWork(),
}: FlorYogaOptions) {
  const timeout = timeoutSeconds === undefined ? configuredTimeoutSeconds() : checkedTimeout(timeoutSeconds);
  // WAIT answers (with what is filled so far) well before the request would time out.
  const waitSeconds = replayWaitSeconds ?? Math.min(DEFAULT_REPLAY_WAIT_SECONDS, (timeout * 2) / 3);
  return createYoga({
    schema,
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    // yoga's GraphiQL (from a CDN), CORS (any origin, with credentials) and multipart bodies are replaced or refused.
    graphiql: false,
    cors: false,
    multipart: false,
    landingPage: false,
    maxRequestBodySize: MAX_BODY_BYTES,
    plugins: [
      ...(allowedHosts === undefined ? [] : [hostCheck(allowedHosts)]),
      ...originGuard(corsOrigins, ownOrigins),
      ...(graphiql ? graphiqlPage(GRAPHQL_ENDPOINT) : []),
      ...(dashboard ? dashboardPage() : []),
      ...(openReads ? [] : [tokenForEveryRequest(GRAPHQL_ENDPOINT, token)]),
      jsonBodiesOnly(GRAPHQL_ENDPOINT),
      queriesOnlyOverGet,
      documentLimits(),
      costLimit(MAX_COST),
      requestTimeout(timeout),
    ],
    context: async ({ request }) => {
      await refresh?.();
      return {
        session,
        authorized: bearerMatches(request.headers.get("authorization"), token),
        replayWaitSeconds: waitSeconds,
        heavy,
        ...(stopping === undefined ? {} : { stopping }),
      };
    },
  });
}

/** Loopback addresses, where reads may go without the token: only this machine's users reach them. */
export function readsAreOpenOn(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}
