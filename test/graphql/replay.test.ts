import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFlorYoga } from "../../src/graphql/server.js";
import type { Store } from "../../src/store/open-store.js";
import type { ProjectSession } from "../../src/app/project-session.js";
import { openGraphql } from "../helpers/graphql.js";
import type { TestRepo } from "../helpers/repo.js";
import { recordHistory } from "../replay/replay-history.js";

const TOKEN = "test-token-0123456789";
let repo: TestRepo;
let store: Store;
let session: ProjectSession;
let yoga: ReturnType<typeof createFlorYoga>;

interface Response<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}
interface Job {
  id: number;
  status: string;
  error: string | null;
  tasks: { total: number; done: number; failed: number };
  iterations: { total: number; done: number };
  values: number;
  finishedAt: string | null;
}

async function graphql<T>(query: string, variables: Record<string, unknown> = {}, token?: string, client = yoga): Promise<Response<T>> {
  const response = await client.fetch("http://flor.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Response<T>;
}

const JOB_FIELDS =
  "id status error estimatedSeconds tasks { total queued running done failed cancelled } iterations { total done } values divergenceCount redone unverified createdAt finishedAt";
const REQUEST = `mutation($names: [String!]!, $where: String) {
  requestReplay(names: $names, where: $where) { __typename ... on ReplayJob { ${JOB_FIELDS} } ... on FlorqlError { code message hint } }
}`;
const FLORQL = `query($q: String!, $replay: ReplayMode) { florql(query: $q, replay: $replay) { __typename ... on FlorqlAnswer { columns rows job { ${JOB_FIELDS} } } ... on FlorqlError { code message } } }`;

async function jobOf(id: number): Promise<Job> {
  const result = await graphql<{ replayJob: Job }>(`query($id: Int!) { replayJob(id: $id) { ${JOB_FIELDS} } }`, { id });
  expect(result.errors).toBeUndefined();
  return result.data!.replayJob;
}

async function untilEnded(id: number): Promise<Job> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const job = await jobOf(id);
    if (job.status !== "QUEUED" && job.status !== "RUNNING") return job;
    if (Date.now() > deadline) throw new Error(`replay job ${id} still ${job.status} after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  repo = recordHistory();
  ({ store, session, yoga } = await openGraphql(repo, { workers: 2, token: TOKEN }));
}, 120_000);

afterAll(async () => {
  await store?.close();
  repo?.remove();
});

describe("GraphQL replay jobs", () => {
  it("answers null for a job that does not exist", async () => {
    const result = await graphql<{ replayJob: Job | null }>(`{ replayJob(id: 999999) { id } }`);
    expect(result).toEqual({ data: { replayJob: null } });
  });

  it("refuses mutations without the token, with a wrong one, or when none is configured", async () => {
    for (const token of [undefined, "wrong-token", `${TOKEN}x`]) {
      const result = await graphql(REQUEST, { names: ["w1"] }, token);
      expect(result.data ?? null).toBeNull();
      expect(result.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    }
    const cancel = await graphql(`mutation { cancelReplay(id: 1) }`, {}, "wrong");
    expect(cancel.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const unconfigured = createFlorYoga({ session });
    const refused = await graphql(`mutation { cancelReplay(id: 1) }`, {}, "", unconfigured);
    expect(refused.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    // Nothing was requested.
    expect((await store.db.selectFrom("replay_jobs").select("id").execute()).length).toBe(0);
  });

  it("returns a misspelt name in where as a FlorqlError", async () => {
    const result = await graphql<{ requestReplay: Record<string, unknown> }>(REQUEST, { names: ["w1"], where: "rond >= 4" }, TOKEN);
    expect(result.errors).toBeUndefined();
    expect(result.data!.requestReplay).toMatchObject({ __typename: "FlorqlError", code: "FQL020", hint: expect.stringContaining("round") });
  });

  it("runs a requested replay in the background to done, then florql shows the filled values", async () => {
    const before = await graphql<{ florql: { rows: Record<string, unknown>[] } }>(FLORQL, {
      q: "SELECT tstamp, round, w1 FROM train.mjs WHERE round >= 4 ORDER BY tstamp, round",
    });
    expect(before.data!.florql.rows.length).toBeGreaterThan(0);
    expect(before.data!.florql.rows.every((row) => row["w1"] === null)).toBe(true);

    const result = await graphql<{ requestReplay: Job & { __typename: string } }>(REQUEST, { names: ["w1"], where: "round >= 4" }, TOKEN);
    expect(result.errors).toBeUndefined();
    const requested = result.data!.requestReplay;
    expect(requested.__typename).toBe("ReplayJob");
    expect(requested.tasks.total).toBeGreaterThan(0);
    // The same request while the job runs returns that job. Warm task processes can end it first: the
    // job is known to have run throughout the second request only when it still runs after it.
    const again = await graphql<{ requestReplay: Job }>(REQUEST, { names: ["w1"], where: "round >= 4" }, TOKEN);
    const first = await jobOf(requested.id);
    if (first.status === "QUEUED" || first.status === "RUNNING") expect(again.data!.requestReplay.id).toBe(requested.id);

    const job = await untilEnded(requested.id);
    expect(job).toMatchObject({ status: "DONE", error: null });
    expect(job.tasks.failed).toBe(0);
    expect(job.values).toBeGreaterThan(0);
    expect(job.finishedAt).not.toBeNull();

    const after = await graphql<{ florql: { rows: Record<string, unknown>[] } }>(FLORQL, {
      q: "SELECT tstamp, round, w1 FROM train.mjs WHERE round >= 4 ORDER BY tstamp, round",
    });
    const rows = after.data!.florql.rows;
    expect(rows.length).toBe(before.data!.florql.rows.length);
    expect(rows.every((row) => typeof row["w1"] === "number")).toBe(true);
  }, 90_000);

  it("florql with replay: ASYNC needs the token, answers at once with the job, and the values follow", async () => {
    const q = "SELECT tstamp, round, part, w0_part FROM train.mjs WHERE round >= 5 ORDER BY tstamp, round, part";
    const refused = await graphql(FLORQL, { q, replay: "ASYNC" });
    expect(refused.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");

    const result = await graphql<{ florql: { __typename: string; rows: Record<string, unknown>[]; job: Job | null } }>(
      FLORQL,
      { q, replay: "ASYNC" },
      TOKEN,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.florql.__typename).toBe("FlorqlAnswer");
    const started = result.data!.florql.job;
    expect(started).not.toBeNull();
    const job = await untilEnded(started!.id);
    expect(job).toMatchObject({ status: "DONE", error: null });

    const after = await graphql<{ florql: { rows: Record<string, unknown>[]; job: Job | null } }>(FLORQL, { q, replay: "ASYNC" }, TOKEN);
    expect(after.data!.florql.job).toBeNull();
    expect(after.data!.florql.rows.length).toBeGreaterThan(0);
    expect(after.data!.florql.rows.every((row) => typeof row["w0_part"] === "number")).toBe(true);
  }, 90_000);

  it("cancels a running job once", async () => {
    const result = await graphql<{ requestReplay: Job }>(REQUEST, { names: ["w1_final"] }, TOKEN);
    expect(result.errors).toBeUndefined();
    const { id } = result.data!.requestReplay;
    const cancel = await graphql<{ cancelReplay: boolean }>(`mutation($id: Int!) { cancelReplay(id: $id) }`, { id }, TOKEN);
    expect(cancel).toEqual({ data: { cancelReplay: true } });
    expect((await jobOf(id)).status).toBe("CANCELLED");
    const twice = await graphql<{ cancelReplay: boolean }>(`mutation($id: Int!) { cancelReplay(id: $id) }`, { id }, TOKEN);
    expect(twice).toEqual({ data: { cancelReplay: false } });
    // Let the background runner notice and stop its children before the store closes.
    await new Promise((resolve) => setTimeout(resolve, 1500));
  });
});
