import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { FlorError, FlorUsageError } from "../errors.js";
import { FlorQLError, type FlorQLErrorCode } from "../florql/florql-error.js";
import { findRepositoryRoot, layoutFor, type ProjectLayout } from "../project-layout.js";
import type { JobStatus } from "../store/queries/replay-jobs.js";
import { configuredToken, tokenFile } from "../graphql/token.js";
import { isAlive } from "../store/pglite-lock.js";
import { configuredServerUrl } from "../store/server-url.js";

/**
 * The client side of `flor serve`: while a server holds the embedded store (which admits one process),
 * FlorDB's API is reached through its GraphQL endpoint instead of the store. Only light modules are
 * imported here, so a command through the server loads neither PGlite nor the query language.
 */

/** What `flor serve` writes to `<florDir>/serve.json` while it listens. */
export interface ServeInfo {
  url: string;
  pid: number;
  host: string;
  started: string;
}

/** A replay job as the API reports it, shaped like the store's so one renderer prints both. */
export interface RemoteJob {
  id: number;
  status: JobStatus;
  error: string | null;
  estimatedSeconds: number | null;
  tasks: { total: number; queued: number; running: number; done: number; failed: number; cancelled: number };
  iterations: { total: number; done: number };
  values: number;
  divergences: number;
  redone: number;
  unverified: number;
}

/** The fields of `RemoteJob`, for selections. */
export const JOB_FIELDS =
  "id status error estimatedSeconds tasks { total queued running done failed cancelled } iterations { total done } values divergences: divergenceCount redone unverified";

/** A FlorqlError as selected by `FLORQL_ERROR_FIELDS`. */
export interface RemoteFlorqlError {
  __typename: "FlorqlError";
  code: string;
  message: string;
  line: number | null;
  column: number | null;
  offset: number | null;
  length: number | null;
  hint: string | null;
}

export const FLORQL_ERROR_FIELDS = "... on FlorqlError { __typename code message line column offset length hint }";

export function discoveryFile(layout: ProjectLayout): string {
  return path.join(layout.florDir, "serve.json");
}

/**
 * The `flor serve` holding this project's embedded store, or null: none runs, it died (its file is
 * stale), it runs on another host (its loopback address is not ours), or FLOR_DATABASE_URL names a
 * PostgreSQL server that every command opens itself.
 */
function runningServer(layout: ProjectLayout): ServeInfo | null {
  if (configuredServerUrl() !== null) return null;
  let info: Partial<ServeInfo>;
  try {
    info = JSON.parse(readFileSync(discoveryFile(layout), "utf8")) as Partial<ServeInfo>;
  } catch {
    return null;
  }
  if (typeof info.url !== "string" || typeof info.pid !== "number" || info.host !== hostname() || typeof info.started !== "string")
    return null;
  return isAlive({ pid: info.pid, host: info.host }) ? (info as ServeInfo) : null;
}

/** A client of the server holding the store of the project around the working directory, when one does. */
export function servedClient(): ServeClient | null {
  const layout = layoutFor(findRepositoryRoot(process.cwd()));
  const info = runningServer(layout);
  return info === null ? null : new ServeClient(info, layout);
}

export class ServeClient {
  constructor(
    readonly info: ServeInfo,
    private readonly layout: ProjectLayout,
  ) {}

  /**
   * Runs one operation with the token (FLOR_GRAPHQL_TOKEN, else `.flor/graphql-token`, as the server
   * reads it): `authorized` operations fail without one; reads send it when there is one, which a server
   * bound beyond loopback requires.
   */
  async request<T>(query: string, variables: Record<string, unknown>, options: { authorized?: boolean } = {}): Promise<T> {
    const token = options.authorized ? this.token() : configuredToken(this.layout);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json",
      ...this.authorization(token),
    };
    let body: { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      const response = await fetch(this.info.url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
      body = (await response.json()) as typeof body;
    } catch (error) {
      throw new FlorError(
        `\`flor serve\` (pid ${this.info.pid}) holds the embedded store but did not answer at ${this.info.url}: ${(error as Error).message}`,
        {
          hint: "Stop it and run the command again, or wait for it to come back.",
        },
      );
    }
    const problem = body.errors?.[0];
    if (problem !== undefined || body.data === undefined || body.data === null) {
      if (problem?.extensions?.code === "UNAUTHENTICATED") {
        throw new FlorError(`\`flor serve\` refused the token this command sent (${problem.message})`, {
          hint: "Set FLOR_GRAPHQL_TOKEN to the token the server uses, or unset it on both sides to use .flor/graphql-token.",
        });
      }
      throw new FlorError(`\`flor serve\` at ${this.info.url} answered with an error: ${problem?.message ?? "no data"}`);
    }
    return body.data;
  }

  /** Polls a job every `intervalMs` until it ends, reporting each state to `onProgress`. */
  async followJob(id: number, onProgress: (job: RemoteJob) => void, intervalMs = 250): Promise<RemoteJob> {
    for (;;) {
      const { replayJob } = await this.request<{ replayJob: RemoteApiJob | null }>(
        `query ($id: Int!) { replayJob(id: $id) { ${JOB_FIELDS} } }`,
        { id },
      );
      if (replayJob === null) throw new FlorError(`replay job ${id} disappeared from the store of \`flor serve\``);
      const job = remoteJob(replayJob);
      onProgress(job);
      if (job.status !== "queued" && job.status !== "running") return job;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /**
   * The events of a job that has ended, read from the replayJobEvents subscription (GraphQL over
   * server-sent events), which sends them all and completes.
   */
  async jobEvents(id: number): Promise<{ kind: string; taskId: number | null; data: unknown }[]> {
    type Message = {
      data?: { replayJobEvents: { kind: string; taskId: number | null; data: unknown } } | null;
      errors?: { message: string }[];
    };
    let text: string;
    try {
      const response = await fetch(this.info.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream", ...this.authorization(configuredToken(this.layout)) },
        body: JSON.stringify({ query: "subscription ($id: Int!) { replayJobEvents(id: $id) { kind taskId data } }", variables: { id } }),
      });
      text = await response.text();
    } catch (error) {
      throw new FlorError(`\`flor serve\` (pid ${this.info.pid}) stopped answering at ${this.info.url}: ${(error as Error).message}`);
    }
    const events: { kind: string; taskId: number | null; data: unknown }[] = [];
    for (const block of text.split("\n\n")) {
      if (!/^event: ?next$/m.test(block)) continue;
      const message = JSON.parse(
        block
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.replace(/^data: ?/, ""))
          .join("\n"),
      ) as Message;
      if (message.errors !== undefined || !message.data)
        throw new FlorError(`\`flor serve\` could not list the events of replay job ${id}: ${message.errors?.[0]?.message ?? "no data"}`);
      events.push(message.data.replayJobEvents);
    }
    return events;
  }

  private authorization(token: string | null): Record<string, string> {
    return token === null ? {} : { authorization: `Bearer ${token}` };
  }

  private token(): string {
    const known = configuredToken(this.layout);
    if (known !== null) return known;
    const file = tokenFile(this.layout);
    throw new FlorError(`\`flor serve\` needs its token to run replays, and this command has none (no FLOR_GRAPHQL_TOKEN, no ${file})`, {
      hint: "Set FLOR_GRAPHQL_TOKEN to the token the server uses.",
    });
  }
}

/** A job as GraphQL spells it (status in capitals). */
export type RemoteApiJob = Omit<RemoteJob, "status"> & { status: string };

export function remoteJob(job: RemoteApiJob): RemoteJob {
  return { ...job, status: job.status.toLowerCase() as JobStatus };
}

/**
 * The error the local command would have thrown for the same mistake: a FlorQLError with its code,
 * position and excerpt of `source` (the query or the --where text), or a usage error.
 */
export function florqlFailure(error: RemoteFlorqlError, source: string): FlorError {
  if (/^FQL\d{3}$/.test(error.code) && error.line !== null && error.column !== null && error.offset !== null && error.length !== null) {
    const start = { offset: error.offset, line: error.line, column: error.column };
    const end = { offset: error.offset + error.length, line: error.line, column: error.column + error.length };
    return new FlorQLError(
      {
        code: error.code as FlorQLErrorCode,
        message: error.message,
        span: { start, end },
        ...(error.hint === null ? {} : { hint: error.hint }),
      },
      source,
    );
  }
  if (error.code === "USAGE") return new FlorUsageError(error.message, error.hint ?? undefined);
  return new FlorError(`${error.code}: ${error.message}`, error.hint === null ? {} : { hint: error.hint });
}
