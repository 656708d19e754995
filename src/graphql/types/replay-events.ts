import { setTimeout as sleep } from "node:timers/promises";
import { GraphQLError } from "graphql/index.js";
import type { ProjectSession } from "../../app/project-session.js";
import type { ReplayEvent } from "../../store/queries/replay-events.js";
import { hasEnded } from "../../store/queries/replay-jobs.js";
import { builder } from "../builder.js";
import { JsonScalar } from "./json.js";
import { ReplayJobRef } from "./replay-job.js";

/** How often a follower looks for new events: workers may be other processes, so the store is the channel. */
const POLL_MS = 200;
const BATCH = 500;
/** Event ids are PostgreSQL bigints. */
const MAX_EVENT_ID = 2n ** 63n - 1n;

const ReplayJobEventRef = builder.objectRef<ReplayEvent>("ReplayJobEvent").implement({
  description:
    "Something that happened to a replay job. Events are stored, so a follower that reconnects resumes with after: the last id it saw.",
  fields: (t) => ({
    id: t.exposeString("id", { description: "Increasing within a job; pass it as after to resume." }),
    at: t.string({ description: "ISO-8601.", resolve: (event) => event.at.toISOString() }),
    kind: t.exposeString("kind", {
      description:
        "planned, task-started, task-retry, task-fallback, task-requeued, task-diverged (a replay did not reproduce the run's recorded values: the run, names, first differing coordinate, recorded and replayed values, largest differences, likely cause, and what was done), task-done, task-failed, then one of done, failed, cancelled, which ends the stream.",
    }),
    taskId: t.exposeInt("taskId", { nullable: true }),
    data: t.field({
      type: JsonScalar,
      description: "Details by kind: estimates, the worker, values written, errors.",
      resolve: (event) => event.data,
    }),
    job: t.field({
      type: ReplayJobRef,
      description: "The job as it is when the event is delivered (not as it was when the event happened).",
      resolve: (event, _args, { session }) => session.job(event.jobId).then((job) => job!),
    }),
  }),
});

builder.subscriptionField("replayJobEvents", (t) =>
  t.field({
    type: ReplayJobEventRef,
    description:
      "A replay job's events from the first (or those after the event id after), live until the job ends; the stream then completes.",
    args: {
      id: t.arg.int({ required: true, description: "The job." }),
      after: t.arg.string({ required: false, description: "The id of the last event already seen." }),
    },
    subscribe: (_root, { id, after }, { session, stopping }) => follow(session, id, after ?? null, stopping),
    resolve: (event) => event,
  }),
);

/** The job's events after `after`, polling the store for new ones until a final event has been sent. */
async function* follow(session: ProjectSession, jobId: number, after: string | null, stopping?: AbortSignal): AsyncGenerator<ReplayEvent> {
  if (after !== null && !/^\d+$/.test(after)) {
    throw new GraphQLError(`after must be an event id (digits), not ${JSON.stringify(after.slice(0, 40))}`, {
      extensions: { code: "BAD_USER_INPUT" },
    });
  }
  // The store compares it as a bigint: a larger number would fail there.
  if (after !== null && (after.replace(/^0+/, "").length > 19 || BigInt(after) > MAX_EVENT_ID)) {
    throw new GraphQLError(
      `after ${after.slice(0, 40)}${after.length > 40 ? "..." : ""} is past every event id (at most ${MAX_EVENT_ID})`,
      {
        extensions: { code: "BAD_USER_INPUT" },
      },
    );
  }
  if ((await session.job(jobId)) === null)
    throw new GraphQLError(`replay job ${jobId} does not exist`, { extensions: { code: "NOT_FOUND" } });
  let cursor = after;
  // Resuming after the final event: nothing follows, which shows as an ended job with no new events
  // (checked twice, because a job's status changes just before its final event is written).
  let endedQuietly = 0;
  for (;;) {
    const events = await session.jobEvents(jobId, cursor, BATCH);
    for (const event of events) {
      yield event;
      if (hasEnded(event.kind)) return;
      cursor = event.id;
    }
    if (events.length === BATCH) continue;
    if (events.length === 0 && hasEnded((await session.job(jobId))?.status ?? "done") && ++endedQuietly === 2) return;
    await sleep(POLL_MS, undefined, stopping === undefined ? {} : { signal: stopping }).catch(() => undefined);
    if (stopping?.aborted === true) {
      throw new GraphQLError(`the server is stopping; subscribe again with after: ${JSON.stringify(cursor)} to go on where this left off`, {
        extensions: { code: "SERVER_STOPPING", after: cursor },
      });
    }
  }
}
