import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFlorYoga, readsAreOpenOn } from "../../src/graphql/server.js";
import { layoutFor } from "../../src/project-layout.js";
import type { Store } from "../../src/store/open-store.js";
import type { ProjectSession } from "../../src/app/project-session.js";
import { openGraphql } from "../helpers/graphql.js";
import { TestRepo } from "../helpers/repo.js";

const RUNS = [
  ["lr=0.1", "opt=sgd"],
  ["lr=0.01", "opt=adam"],
  ["lr=0.05", "opt=adam"],
];
let repo: TestRepo;
let store: Store;
let session: ProjectSession;
let yoga: ReturnType<typeof createFlorYoga>;

interface Response<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<Response<T>> {
  const response = await yoga.fetch("http://flor.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Response<T>;
}

beforeAll(async () => {
  repo = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
  repo.commitAll("fixture");
  for (const kwargs of RUNS) expect(repo.runScript("train.mjs", ["--kwargs", ...kwargs]).status).toBe(0);
  ({ store, session, yoga } = await openGraphql(repo, { workers: 1 }));
});

afterAll(async () => {
  await store?.close();
  repo?.remove();
});

interface RunsPage {
  runs: {
    edges: {
      cursor: string;
      node: { tstamp: string; filename: string; vid: string; status: string; args: { name: string; value: unknown }[]; logNames: string[] };
    }[];
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
  };
}

const RUNS_QUERY = `query($first: Int, $after: String) {
  runs(first: $first, after: $after) {
    edges { cursor node { tstamp filename vid status args { name value } logNames } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}`;

describe("GraphQL", () => {
  it("pages through runs with keyset cursors that stay valid", async () => {
    const first = await graphql<RunsPage>(RUNS_QUERY, { first: 2 });
    expect(first.errors).toBeUndefined();
    const page1 = first.data!.runs;
    expect(page1.edges.map((e) => e.node.args)).toEqual([
      [
        { name: "lr", value: 0.1 },
        { name: "opt", value: "sgd" },
      ],
      [
        { name: "lr", value: 0.01 },
        { name: "opt", value: "adam" },
      ],
    ]);
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false, endCursor: page1.edges[1]!.cursor });
    expect(page1.edges[0]!.node).toMatchObject({ filename: "train.mjs", status: "ok", vid: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(page1.edges[0]!.node.logNames).toEqual(expect.arrayContaining(["acc", "final", "loss", "note"]));
    // Cursors are opaque positions, not offsets.
    expect(page1.pageInfo.endCursor).not.toMatch(/^\d+$/);

    const page2 = (await graphql<RunsPage>(RUNS_QUERY, { first: 2, after: page1.pageInfo.endCursor })).data!.runs;
    expect(page2.edges.map((e) => e.node.args[0]!.value)).toEqual([0.05]);
    expect(page2.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });

    // The same cursor gives the same page again, and pages are in start order.
    expect((await graphql<RunsPage>(RUNS_QUERY, { first: 2, after: page1.pageInfo.endCursor })).data!.runs).toEqual(page2);
    const times = [...page1.edges, ...page2.edges].map((e) => e.node.tstamp);
    expect([...times].sort()).toEqual(times);
  });

  it("refuses a page larger than the cap and a cursor it never gave out", async () => {
    const tooBig = await graphql(RUNS_QUERY, { first: 101 });
    expect(tooBig.errors?.[0]).toMatchObject({
      message: "first must be between 1 and 100, not 101",
      extensions: { code: "BAD_USER_INPUT" },
    });
    const foreign = await graphql(RUNS_QUERY, { first: 2, after: "b2Zmc2V0OjI=" });
    expect(foreign.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("lists the project, filters runs by script and lists versions", async () => {
    const result = await graphql<{
      project: { projid: string; runCount: number };
      projects: unknown[];
      runs: { edges: unknown[] };
      none: { edges: unknown[] };
      versions: { vid: string; runs: number; filenames: string[] }[];
    }>(`{
      project { projid runCount }
      projects { projid runCount firstRun lastRun served }
      runs(filename: "train.mjs") { edges { cursor } }
      none: runs(filename: "other.mjs") { edges { cursor } }
      versions { vid runs filenames }
    }`);
    expect(result.errors).toBeUndefined();
    expect(result.data!.project).toEqual({ projid: layoutFor(repo.dir).projid, runCount: 3 });
    expect(result.data!.projects).toEqual([
      {
        projid: layoutFor(repo.dir).projid,
        runCount: 3,
        firstRun: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        lastRun: expect.stringMatching(/^\d{4}-/),
        served: true,
      },
    ]);
    expect(result.data!.runs.edges).toHaveLength(3);
    expect(result.data!.none.edges).toHaveLength(0);
    expect(result.data!.versions).toEqual([{ vid: expect.stringMatching(/^[0-9a-f]{40}$/), runs: 3, filenames: ["train.mjs"] }]);
  });

  const FLORQL = `query($q: String!, $replay: ReplayMode) {
    florql(query: $q, replay: $replay) {
      __typename
      ... on FlorqlAnswer { columns rows explain }
      ... on FlorqlError { code message line column hint }
    }
  }`;

  it("answers a FlorQL query with columns, rows and the plan", async () => {
    const result = await graphql<{ florql: { __typename: string; columns: string[]; rows: unknown[]; explain: string } }>(FLORQL, {
      q: "SELECT lr, epoch, acc FROM train.mjs WHERE lr < 0.08 ORDER BY lr, epoch",
    });
    expect(result.errors).toBeUndefined();
    const answer = result.data!.florql;
    expect(answer.__typename).toBe("FlorqlAnswer");
    expect(answer.columns).toEqual(["lr", "epoch", "acc"]);
    expect(answer.rows).toEqual(
      [0.01, 0.05].flatMap((lr) => [0, 1, 2].map((epoch) => ({ lr, epoch, acc: Math.round((0.5 + epoch * 0.1 + lr) * 1000) / 1000 }))),
    );
    expect(answer.explain).toContain("scope: 2 of 3 runs of train.mjs");
  });

  it("returns FlorQL mistakes as typed data with the code and where", async () => {
    const result = await graphql<{ florql: Record<string, unknown> }>(FLORQL, { q: "SELECT los FROM train.mjs" });
    expect(result.errors).toBeUndefined();
    expect(result.data!.florql).toMatchObject({
      __typename: "FlorqlError",
      code: "FQL020",
      line: 1,
      column: 8,
      hint: expect.stringContaining("loss"),
    });

    const explain = await graphql<{ explain: Record<string, unknown> }>(
      `{ explain(query: "SELECT loss FROM") { __typename ... on FlorqlError { code line column } } }`,
    );
    expect(explain.data!.explain).toMatchObject({ __typename: "FlorqlError", code: "FQL004", line: 1 });
  });

  it("answers replay: WAIT without a token when every value is recorded (nothing would run)", async () => {
    const result = await graphql<{ florql: Record<string, unknown> }>(FLORQL, { q: "SELECT loss", replay: "WAIT" });
    expect(result.errors).toBeUndefined();
    expect(result.data!.florql).toMatchObject({ __typename: "FlorqlAnswer", columns: ["loss"] });
  });

  it("explains a query without running it", async () => {
    const result = await graphql<{ explain: { __typename: string; explain: string } }>(
      `{ explain(query: "SELECT loss FROM train.mjs WHERE epoch = 1") { __typename ... on FlorqlExplanation { explain } } }`,
    );
    expect(result.data!.explain.__typename).toBe("FlorqlExplanation");
    expect(result.data!.explain.explain).toContain("loss");
  });

  it("off loopback, needs the token for every request: 401 before the document is read or the store refreshed", async () => {
    expect(["127.0.0.1", "127.1.2.3", "::1", "localhost"].every(readsAreOpenOn)).toBe(true);
    expect(["0.0.0.0", "::", "10.0.0.5", "example.org", "127.0.0.1.example.org"].some(readsAreOpenOn)).toBe(false);
    let refreshes = 0;
    const closed = createFlorYoga({
      session,
      token: "reads-token-0123456789",
      openReads: false,
      refresh: async () => {
        refreshes++;
      },
    });
    const ask = (headers: Record<string, string>, query: string) =>
      closed.fetch("http://flor.test/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ query }),
      });
    for (const authorization of [undefined, "Bearer wrong"]) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      // A read, a syntax error, a misspelt field (no "did you mean" for strangers) and a subscription: all alike.
      for (const [query, accept] of [
        ["{ project { projid } }", "application/json"],
        ["{ project { projid ", "application/json"],
        ["{ projet { projid } }", "application/json"],
        ["subscription { replayJobEvents(id: 1) { id } }", "text/event-stream"],
      ] as const) {
        const response = await ask({ ...headers, accept }, query);
        expect(response.status).toBe(401);
        expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
        expect(await response.json()).toEqual({
          errors: [{ message: expect.stringContaining("needs the bearer token"), extensions: { code: "UNAUTHENTICATED" } }],
        });
      }
    }
    expect(refreshes).toBe(0);
    const allowed = await ask({ authorization: "Bearer reads-token-0123456789" }, "{ project { projid } }");
    expect(await allowed.json()).toEqual({ data: { project: { projid: layoutFor(repo.dir).projid } } });
    expect(refreshes).toBe(1);
  });

  it("serves POST /graphql over real HTTP", async () => {
    const server = createServer(yoga);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
        body: JSON.stringify({ query: "{ runs(first: 1) { edges { node { filename } } pageInfo { hasNextPage } } }" }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        data: { runs: { edges: [{ node: { filename: "train.mjs" } }], pageInfo: { hasNextPage: true } } },
      });
      const graphiql = await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: "text/html" } });
      expect(await graphiql.text()).toContain("GraphiQL");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
