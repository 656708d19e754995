import { createHash, timingSafeEqual } from "node:crypto";
import { createYoga, type Plugin } from "graphql-yoga";
import { GraphQLError, type ExecutionResult } from "graphql/index.js";
import type { ProjectSession } from "../app/project-session.js";
import type { FlorContext } from "./builder.js";
import { checkedTimeout, configuredTimeoutSeconds, costLimit, documentLimits, MAX_BODY_BYTES, MAX_COST, requestTimeout } from "./limits.js";
import { schema } from "./schema.js";
import { DEFAULT_REPLAY_WAIT_SECONDS } from "./types/florql.js";

export interface FlorYogaOptions {
  /** The project's session: a server's (lifetime "server"), whose executor runs the replays the API starts. */
  session: ProjectSession;
  /** GraphiQL on GET /graphql from a browser (default true). */
  graphiql?: boolean;
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
}

/** Whether an Authorization header carries `Bearer <token>`, compared in constant time. */
export function bearerMatches(header: string | null, token: string | null | undefined): boolean {
  if (token === null || token === undefined || header === null) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) return false;
  // Digests have one length, so the comparison does not reveal the token's.
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

/**
 * The GraphQL endpoint at /graphql over one project's session. Unexpected errors are masked (yoga's default):
 * clients see "Unexpected error." while GraphQLErrors raised on purpose and FlorQL errors-as-data pass.
 * Reads are open; mutations need `Authorization: Bearer <token>`. Operations are limited in size, depth,
 * aliases, estimated cost and (except subscriptions) running time: see limits.ts.
 */
export function createFlorYoga({
  session,
  graphiql = true,
  token = null,
  refresh,
  replayWaitSeconds,
  timeoutSeconds,
  stopping,
  openReads = true,
}: FlorYogaOptions) {
  const timeout = timeoutSeconds === undefined ? configuredTimeoutSeconds() : checkedTimeout(timeoutSeconds);
  // WAIT answers (with what is filled so far) well before the request would time out.
  const waitSeconds = replayWaitSeconds ?? Math.min(DEFAULT_REPLAY_WAIT_SECONDS, (timeout * 2) / 3);
  return createYoga({
    schema,
    graphqlEndpoint: "/graphql",
    graphiql,
    landingPage: false,
    maxRequestBodySize: MAX_BODY_BYTES,
    plugins: [...(openReads ? [] : [tokenForEverything]), documentLimits(), costLimit(MAX_COST), requestTimeout(timeout)],
    context: async ({ request }) => {
      await refresh?.();
      return {
        session,
        authorized: bearerMatches(request.headers.get("authorization"), token),
        replayWaitSeconds: waitSeconds,
        ...(stopping === undefined ? {} : { stopping }),
      };
    },
  });
}

/** Loopback addresses, where reads may go without the token: only this machine's users reach them. */
export function readsAreOpenOn(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

function unauthenticated(): ExecutionResult {
  return {
    errors: [
      new GraphQLError(
        "this server needs the bearer token for every request (it is not bound to loopback): Authorization: Bearer <token>",
        { extensions: { code: "UNAUTHENTICATED" } },
      ),
    ],
  };
}

/** Reads show runs, logs and source code: off loopback, they need the token as mutations do. */
const tokenForEverything: Plugin<FlorContext> = {
  onExecute({ args, setResultAndStopExecution }) {
    if (!(args.contextValue as FlorContext).authorized) setResultAndStopExecution(unauthenticated());
  },
  onSubscribe({ args, setResultAndStopExecution }) {
    if (!(args.contextValue as FlorContext).authorized) setResultAndStopExecution(unauthenticated());
  },
};
