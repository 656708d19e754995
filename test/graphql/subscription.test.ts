import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFlorYoga } from "../../src/graphql/server.js";
import { listEvents } from "../../src/store/queries/replay-events.js";
import type { ProjectSession } from "../../src/app/project-session.js";
import type { Store } from "../../src/store/open-store.js";
import { openGraphql } from "../helpers/graphql.js";
import type { TestRepo } from "../helpers/repo.js";
import { recordHistory } from "../replay/replay-history.js";
import { eventsOf, readSse, SUBSCRIBE } from "./sse.js";

const TOKEN = "subscription-token-0123456789";
let repo: TestRepo;
let store: Store;
let session: ProjectSession;
let yoga: ReturnType<typeof createFlorYoga>;

interface Job {
  id: number;
  status: string;
  values: number;
  tasks: { total: number; failed: number };
}
interface Answer {
  __typename: string;
  rows: Record<string, unknown>[];
  complete: boolean;
  job: Job | null;
  code?: string;
}

const FLORQL = `query($q: String!, $replay: ReplayMode) {
  florql(query: $q, replay: $replay) { __typename ... on FlorqlAnswer { rows complete job { id status values tasks { total failed } } } ... on FlorqlError { code message } }
}`;

async function post(body: unknown, headers: Record<string, string> = {}, client = yoga): Promise<Response> {
  return client.fetch("http://flor.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

async function florql(
  q: string,
  replay: string,
  token?: string,
  client = yoga,
): Promise<{ data?: { florql: Answer }; errors?: { extensions?: { code?: string } }[] }> {
  const response = await post(
    { query: FLORQL, variables: { q, replay } },
    token === undefined ? {} : { authorization: `Bearer ${token}` },
    client,
  );
  return (await response.json()) as { data?: { florql: Answer } };
}

function subscribe(id: number, after: string | null = null, client = yoga): Promise<Response> {
  return post({ query: SUBSCRIBE, variables: { id, after } }, { accept: "text/event-stream" }, client);
}

beforeAll(async () => {
  repo = recordHistory();
  ({ store, session, yoga } = await openGraphql(repo, { workers: 2, token: TOKEN }));
}, 120_000);

afterAll(async () => {
  await store?.close();
  repo?.remove();
});

describe("replayJobEvents (GraphQL over SSE)", () => {
  it("follows an ASYNC hindsight query's job to completion, after which florql has the values", async () => {
    const q = "SELECT tstamp, round, w1 FROM train.mjs WHERE round >= 3 ORDER BY tstamp, round";
    const started = await florql(q, "ASYNC", TOKEN);
    expect(started.errors).toBeUndefined();
    const job = started.data!.florql.job!;
    expect(started.data!.florql.complete).toBe(false);
    expect(job.tasks.total).toBeGreaterThan(0);

    const response = await subscribe(job.id);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const messages = await readSse(response);
    expect(messages.at(-1)!.event).toBe("complete");
    const events = eventsOf(messages);
    expect(events[0]!.kind).toBe("planned");
    expect(events.at(-1)).toMatchObject({ kind: "done", job: { status: "DONE" } });
    expect(events.filter((e) => e.kind === "task-done").length).toBe(job.tasks.total);
    // Every stored event, once, in order.
    expect(events.map((e) => e.id)).toEqual((await listEvents(store.db, job.id)).map((e) => e.id));

    const after = await florql(q, "NONE");
    expect(after.data!.florql.complete).toBe(true);
    expect(after.data!.florql.rows.length).toBeGreaterThan(0);
    expect(after.data!.florql.rows.every((row) => typeof row["w1"] === "number")).toBe(true);
  }, 90_000);

  it("resumes after a dropped connection with only the events it missed", async () => {
    const q = "SELECT tstamp, round, part, w0_part FROM train.mjs WHERE round >= 4 ORDER BY tstamp, round, part";
    const { id } = (await florql(q, "ASYNC", TOKEN)).data!.florql.job!;
    const first = eventsOf(await readSse(await subscribe(id), 2));
    expect(first.length).toBe(2);
    const rest = eventsOf(await readSse(await subscribe(id, first.at(-1)!.id)));
    expect(rest.at(-1)!.kind).toBe("done");
    const all = (await listEvents(store.db, id)).map((e) => e.id);
    expect([...first, ...rest].map((e) => e.id)).toEqual(all);

    // Resuming at the final event completes at once; resuming in the middle replays the tail only.
    const none = await readSse(await subscribe(id, all.at(-1)!));
    expect(eventsOf(none)).toEqual([]);
    expect(none.at(-1)!.event).toBe("complete");
    const tail = eventsOf(await readSse(await subscribe(id, all[1]!)));
    expect(tail.map((e) => e.id)).toEqual(all.slice(2));
  }, 90_000);

  it("refuses a job that does not exist and an after that is not an event id", async () => {
    const missing = await readSse(await subscribe(987654));
    expect(missing.flatMap((m) => m.data?.errors ?? [])[0]?.extensions?.code).toBe("NOT_FOUND");
    const job = (await store.db.selectFrom("replay_jobs").select("id").executeTakeFirstOrThrow()).id;
    const bad = await readSse(await subscribe(job, "1; drop table runs"));
    expect(bad.flatMap((m) => m.data?.errors ?? [])[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    // Digits past the store's bigint ids: said so, not mistaken for "not digits".
    for (const after of ["999999999999999999999", "9223372036854775808"]) {
      const past = (await readSse(await subscribe(job, after))).flatMap((m) => m.data?.errors ?? [])[0];
      expect(past).toMatchObject({
        message: `after ${after} is past every event id (at most 9223372036854775807)`,
        extensions: { code: "BAD_USER_INPUT" },
      });
    }
    // The largest id is a position like any other: nothing comes after it.
    expect(eventsOf(await readSse(await subscribe(job, "9223372036854775807")))).toEqual([]);
  });

  it("streams over real HTTP", async () => {
    const server: Server = createServer(yoga);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
      const job = (await store.db.selectFrom("replay_jobs").select("id").orderBy("id").executeTakeFirstOrThrow()).id;
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ query: SUBSCRIBE, variables: { id: job } }),
      });
      const events = eventsOf(await readSse(response));
      expect(events.map((e) => e.id)).toEqual((await listEvents(store.db, job)).map((e) => e.id));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("florql with replay: WAIT", () => {
  const q = "SELECT tstamp, w1_final FROM train.mjs ORDER BY tstamp";

  it("needs the token", async () => {
    const refused = await florql(q, "WAIT");
    expect(refused.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("answers with complete: false and a running job when its wait limit passes first", async () => {
    const impatient = createFlorYoga({ session, token: TOKEN, replayWaitSeconds: 0 });
    const answer = (await florql(q, "WAIT", TOKEN, impatient)).data!.florql;
    expect(answer).toMatchObject({ __typename: "FlorqlAnswer", complete: false });
    expect(["QUEUED", "RUNNING"]).toContain(answer.job!.status);
    // Followed to its end, the job leaves nothing for the next WAIT to do.
    expect(eventsOf(await readSse(await subscribe(answer.job!.id))).at(-1)!.kind).toBe("done");
    const filled = (await florql(q, "WAIT", TOKEN)).data!.florql;
    expect(filled).toMatchObject({ complete: true, job: null });
    expect(filled.rows.every((row) => typeof row["w1_final"] === "number")).toBe(true);
  }, 90_000);

  it("fills the values before answering", async () => {
    const other = "SELECT tstamp, round, w1 FROM train.mjs WHERE round < 3 ORDER BY tstamp, round";
    const before = (await florql(other, "NONE")).data!.florql;
    expect(before.complete).toBe(false);
    expect(before.rows.every((row) => row["w1"] === null)).toBe(true);
    const answer = (await florql(other, "WAIT", TOKEN)).data!.florql;
    expect(answer).toMatchObject({ __typename: "FlorqlAnswer", complete: true, job: { status: "DONE" } });
    expect(answer.job!.tasks.failed).toBe(0);
    expect(answer.rows.length).toBe(before.rows.length);
    expect(answer.rows.every((row) => typeof row["w1"] === "number")).toBe(true);
  }, 90_000);
});
