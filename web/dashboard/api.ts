// The dashboard's only way to the data: the GraphQL API of the server that served the page, over fetch
// for queries and mutations and over SSE (graphql-sse) for a replay job's events.
import { createClient } from "graphql-sse";

const ENDPOINT = "/graphql";
/** The token lives in this tab's session only: entered once, gone when the tab closes. */
const TOKEN_KEY = "flor.token";

export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string | null): void {
  if (token === null || token.trim() === "") sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token.trim());
}

function headers(): Record<string, string> {
  const token = savedToken();
  return {
    "content-type": "application/json",
    accept: "application/graphql-response+json, application/json",
    ...(token === null ? {} : { authorization: `Bearer ${token}` }),
  };
}

/** A GraphQL error the server sent, with its code (UNAUTHENTICATED, BAD_USER_INPUT, ...). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

interface GraphqlResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** Runs a query or mutation; any GraphQL error rejects with the first one's message and code. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers: headers(),
    body: JSON.stringify({ query, variables }),
    ...(signal === undefined ? {} : { signal }),
  });
  let body: GraphqlResponse<T>;
  try {
    body = (await response.json()) as GraphqlResponse<T>;
  } catch {
    throw new ApiError(`the server answered ${response.status} ${response.statusText}`, null);
  }
  const error = body.errors?.[0];
  if (error !== undefined) throw new ApiError(error.message, error.extensions?.code ?? null);
  if (body.data === undefined || body.data === null) throw new ApiError(`the server answered ${response.status} without data`, null);
  return body.data;
}

export interface JobState {
  id: number;
  status: "QUEUED" | "RUNNING" | "DONE" | "FAILED" | "CANCELLED";
  error: string | null;
  values: number;
  unverified: number;
  redone: number;
  divergenceCount: number;
  estimatedSeconds: number | null;
  tasks: { total: number; done: number; failed: number; running: number; queued: number; cancelled: number };
  divergedRuns: { tstamp: string; filename: string; cause: string; redone: boolean; unverified: number }[];
}

export const JOB_FIELDS = `id status error values unverified redone divergenceCount estimatedSeconds
  tasks { total done failed running queued cancelled }
  divergedRuns { tstamp filename cause redone unverified }`;

export interface JobEvent {
  id: string;
  kind: string;
  taskId: number | null;
  job: JobState;
}

const FINAL = new Set(["done", "failed", "cancelled"]);

/** How long a stream may stay silent before the job's state is checked against what it said last. */
const QUIET_MS = 4000;

export interface Following {
  stop(): void;
}

/**
 * Follows a replay job's events live until it ends. A dropped stream (the server restarted, the network
 * blinked) is subscribed again with `after` the last event seen, so no event is lost or seen twice. A
 * stream can also end without a word (graphql-sse misses an end that comes while no result is awaited):
 * when it has been quiet for a while and the job has moved on since its last event, it is replaced the
 * same way.
 */
export function followJob(
  id: number,
  handlers: { event(event: JobEvent): void; reconnecting(attempt: number, reason: string): void; failed(reason: string): void },
): Following {
  // Reconnection is ours (with `after`), not the client's (which would resend the first `after`).
  const client = createClient({ url: ENDPOINT, headers: () => headers(), retryAttempts: 0, singleConnection: false });
  let last: JobEvent | null = null;
  let finished = false;
  let dispose: (() => void) | null = null;
  // Each subscription's number: callbacks of one replaced since are ignored.
  let current = 0;
  let attempt = 0;
  let heardAt = Date.now();
  const subscribe = (): void => {
    const generation = ++current;
    const mine = () => generation === current && !finished;
    dispose = client.subscribe<{ replayJobEvents: JobEvent }>(
      {
        query: `subscription($id: Int!, $after: String) { replayJobEvents(id: $id, after: $after) { id kind taskId job { ${JOB_FIELDS} } } }`,
        variables: { id, after: last?.id ?? null },
      },
      {
        next(message) {
          if (!mine()) return;
          heardAt = Date.now();
          const error = message.errors?.[0];
          if (error !== undefined) {
            // A stopping server says so; the next one (or this one, back) goes on from `after`.
            if (error.extensions?.["code"] === "SERVER_STOPPING") retry(error.message);
            else finish(() => handlers.failed(error.message));
            return;
          }
          const event = message.data?.replayJobEvents;
          if (event === undefined) return;
          attempt = 0;
          last = event;
          handlers.event(event);
          if (FINAL.has(event.kind)) finish(() => undefined);
        },
        error(error) {
          if (mine()) retry(error instanceof Error ? error.message : String(error));
        },
        complete() {
          // A stream that completes before the final event was cut short (the server is stopping).
          if (mine()) retry("the stream ended before the job did");
        },
      },
    );
  };
  const finish = (then: () => void): void => {
    finished = true;
    clearInterval(watchdog);
    dispose?.();
    client.dispose();
    then();
  };
  const retry = (reason: string): void => {
    current++;
    dispose?.();
    attempt++;
    if (attempt > 30) {
      finish(() => handlers.failed(`lost the job's events: ${reason}`));
      return;
    }
    handlers.reconnecting(attempt, reason);
    setTimeout(
      () => {
        if (!finished) subscribe();
      },
      Math.min(5000, 250 * 2 ** Math.min(attempt, 5)),
    );
  };
  const watchdog = setInterval(() => {
    if (finished || Date.now() - heardAt < QUIET_MS) return;
    heardAt = Date.now();
    gql<{ replayJob: JobState | null }>(`query($id: Int!) { replayJob(id: $id) { ${JOB_FIELDS} } }`, { id })
      .then(({ replayJob: job }) => {
        const said = last?.job ?? null;
        const movedOn =
          job !== null &&
          (said === null || job.status !== said.status || job.tasks.done !== said.tasks.done || job.tasks.failed !== said.tasks.failed);
        if (!finished && movedOn) retry("the event stream went quiet while the job went on");
      })
      .catch(() => undefined);
  }, 1000);
  subscribe();
  return {
    stop() {
      if (!finished) finish(() => undefined);
    },
  };
}
