import { GraphQLError } from "graphql/index.js";
import { getJob, type ReplayJob } from "../replay/replay-jobs.js";
import type { ReplayRequest } from "../replay/replay-plan.js";
import { requestReplay, runJobLocally } from "../replay/replay-service.js";
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

/**
 * Requests a replay (idempotent while the same one runs) and has its job run: through the replay queue
 * when the server has one, else in the background in this process (a new job, or on the embedded store
 * an unfinished one nobody runs any more, joining it when this process already does). Failures are not
 * lost: the job's status and error record them.
 */
export async function startReplay({ store, layout, workers, dispatch }: FlorContext, request: ReplayRequest): Promise<ReplayJob> {
  const { jobId, plan } = await requestReplay(store, layout, request, { workers });
  if (dispatch !== undefined) {
    // The queue's workers (this server's among them) run it; a job already requested is queued already.
    if (plan !== null && plan.tasks.length > 0) await dispatch(jobId);
  } else if (plan === null ? store.kind === "pglite" : plan.tasks.length > 0) {
    void runJobLocally(store, layout, jobId, { workers }).catch(() => undefined);
  }
  return (await getJob(store.db, jobId))!;
}
