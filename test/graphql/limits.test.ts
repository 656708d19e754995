import { getIntrospectionQuery, type GraphQLObjectType } from "graphql/index.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FlorUsageError } from "../../src/errors.js";
import { GIT_COST, MAX_ALIASES, MAX_COST, MAX_DEPTH, MAX_TOKENS, PLANNING_COST, STORED_PLAN_COST } from "../../src/graphql/limits.js";
import { schema } from "../../src/graphql/schema.js";
import { createFlorYoga } from "../../src/graphql/server.js";
import type { ProjectLayout } from "../../src/project-layout.js";
import type { Store } from "../../src/store/open-store.js";
import { addEvent } from "../../src/store/queries/replay-events.js";
import type { ProjectSession } from "../../src/app/project-session.js";
import { openGraphql } from "../helpers/graphql.js";
import { TestRepo } from "../helpers/repo.js";
import { eventsOf, readSse, SUBSCRIBE } from "./sse.js";

let repo: TestRepo;
let layout: ProjectLayout;
let store: Store;
let session: ProjectSession;
let yoga: ReturnType<typeof createFlorYoga>;

interface Response {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function graphql(query: string, variables: Record<string, unknown> = {}, client = yoga): Promise<Response> {
  const response = await client.fetch("http://flor.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Response;
}

beforeAll(async () => {
  repo = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
  repo.commitAll("fixture");
  for (const lr of ["0.1", "0.01"]) expect(repo.runScript("train.mjs", ["--kwargs", `lr=${lr}`]).status).toBe(0);
  ({ layout, store, session, yoga } = await openGraphql(repo, { workers: 1 }));
});

afterAll(async () => {
  await store?.close();
  repo?.remove();
});

afterEach(() => {
  delete process.env["FLOR_GRAPHQL_TIMEOUT_SECONDS"];
});

describe("GraphQL protection limits", () => {
  it(`allows ${MAX_ALIASES} aliased fields and refuses more, counting a fragment at every spread`, async () => {
    const aliased = (n: number) => Array.from({ length: n }, (_, i) => `a${i}: project { projid }`).join(" ");
    const allowed = await graphql(`{ ${aliased(MAX_ALIASES)} }`);
    expect(allowed.errors).toBeUndefined();
    expect(Object.keys(allowed.data!)).toHaveLength(MAX_ALIASES);

    const refused = await graphql(`{ ${aliased(MAX_ALIASES + 1)} }`);
    expect(refused.data).toBeUndefined();
    expect(refused.errors).toEqual([
      expect.objectContaining({
        message: `the operation has ${MAX_ALIASES + 1} aliased fields; at most ${MAX_ALIASES} are allowed`,
        extensions: { code: "QUERY_TOO_MANY_ALIASES" },
      }),
    ]);

    // 15 aliases in a fragment spread under two aliased fields are 32 aliased fields to resolve.
    const fields = Array.from({ length: 15 }, (_, i) => `p${i}: projid`).join(" ");
    const viaFragment = await graphql(`{ x: project { ...P } y: project { ...P } } fragment P on Project { ${fields} }`);
    expect(viaFragment.errors?.[0]?.message).toBe(`the operation has 32 aliased fields; at most ${MAX_ALIASES} are allowed`);
  });

  it("refuses operations whose estimated cost is above the budget, saying the cost, with page sizes from variables", async () => {
    // Each page costs 1 (runs) + first × (1 (edges) + 1 (node) + 1 (id) + 1 (args) + 10 (a list's default size) × 2 (name, value)).
    const pages = (n: number) =>
      Array.from({ length: n }, (_, i) => `p${i}: runs(first: $first) { edges { node { id args { name value } } } }`).join(" ");
    const query = (n: number) => `query($first: Int) { ${pages(n)} }`;
    const cost = (n: number, first: number) => n * (1 + first * 24);
    expect(cost(2, 100)).toBeLessThanOrEqual(MAX_COST);
    expect(cost(3, 100)).toBeGreaterThan(MAX_COST);

    expect((await graphql(query(2), { first: 100 })).errors).toBeUndefined();
    const refused = await graphql(query(3), { first: 100 });
    expect(refused.data).toBeUndefined();
    expect(refused.errors).toEqual([
      {
        message: `the operation's estimated cost is ${cost(3, 100)}; at most ${MAX_COST} is allowed (ask for smaller pages or fewer fields)`,
        extensions: { code: "QUERY_TOO_COSTLY", cost: cost(3, 100), budget: MAX_COST },
      },
    ]);
    // Smaller pages fit, and so does the default page (20 runs) when first is not given.
    const small = await graphql(query(3), { first: 2 });
    expect(small.errors).toBeUndefined();
    expect(small.data!["p0"]).toEqual({ edges: [{ node: expect.objectContaining({ args: expect.any(Array) }) }, expect.anything()] });
    expect((await graphql(query(3))).errors).toBeUndefined();
    // Pages within pages multiply: 5 runs × their first 1000 logs × 4 fields.
    const nested = await graphql(
      "{ runs(first: 5) { edges { node { logs(first: 1000) { edges { node { name value coordinates } } } } } } }",
    );
    expect(nested.errors?.[0]?.extensions).toMatchObject({ code: "QUERY_TOO_COSTLY", cost: 1 + 5 * (2 + 1 + 1000 * 5) });
    // Page info costs nothing: the largest page of logs with its page info fits.
    expect(
      (await graphql(`{ run(id: 1) { logs(first: 1000) { edges { node { name value } } pageInfo { hasNextPage endCursor } } } }`)).errors,
    ).toBeUndefined();
    expect(
      (await graphql("{ runs(first: 5) { edges { node { logs(first: 100) { edges { node { name value } } } } } } }")).errors,
    ).toBeUndefined();
  });

  it("costs heavy fields what they cost the server: 30 aliased explains are refused, a few fit", async () => {
    const explains = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `e${i}: explain(query: "SELECT acc") { __typename }`).join(" ")} }`;
    const refused = await graphql(explains(30));
    expect(refused.data).toBeUndefined();
    expect(refused.errors?.[0]?.extensions).toEqual({ code: "QUERY_TOO_COSTLY", cost: 30 * (PLANNING_COST + 1), budget: MAX_COST });
    const fits = Math.floor(MAX_COST / (PLANNING_COST + 1));
    const allowed = await graphql(explains(fits));
    expect(allowed.errors).toBeUndefined();
    expect(Object.values(allowed.data!)).toEqual(Array.from({ length: fits }, () => ({ __typename: "FlorqlExplanation" })));
    // Each heavy field declares its cost in the schema (the complexity plugin's extension), none is left at the default.
    const declared = (type: string, field: string) => {
      const complexity = (schema.getType(type) as GraphQLObjectType).getFields()[field]!.extensions["complexity"];
      return typeof complexity === "number" ? complexity : (complexity as { field?: number }).field;
    };
    expect(
      Object.fromEntries(
        [
          ["Query", "explain"],
          ["Query", "florql"],
          ["Query", "versions"],
          ["Query", "diff"],
          ["Version", "source"],
          ["ReplayJob", "plan"],
          ["Mutation", "requestReplay"],
        ].map(([type, field]) => [`${type}.${field}`, declared(type!, field!)]),
      ),
    ).toEqual({
      "Query.explain": PLANNING_COST,
      "Query.florql": PLANNING_COST,
      "Query.versions": GIT_COST,
      "Query.diff": GIT_COST,
      "Version.source": GIT_COST,
      "ReplayJob.plan": STORED_PLAN_COST,
      "Mutation.requestReplay": PLANNING_COST,
    });
    // Versions with every version's source: the list's 10 assumed items each read git; two fit, three do not.
    const sources = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `v${i}: versions { source(filename: "train.mjs") }`).join(" ")} }`;
    expect((await graphql(sources(2))).errors).toBeUndefined();
    expect((await graphql(sources(3))).errors?.[0]?.extensions).toMatchObject({
      code: "QUERY_TOO_COSTLY",
      cost: 3 * (GIT_COST + 10 * GIT_COST),
    });
  });

  it("estimates fragments spread into fragments in linear time (2^40 paths here), counting every spread", async () => {
    const fragments = Array.from({ length: 40 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ... on Query { ...F${i + 1} } }`).join(
      " ",
    );
    const started = performance.now();
    const result = await graphql(`{ ...F0 } ${fragments} fragment F40 on Query { project { projid } }`);
    // Execution would merge the spreads into one field; the estimate errs high rather than walk 2^40 paths.
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "QUERY_TOO_COSTLY", cost: 2 ** 41 });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await graphql(`{ ...F0 } fragment F0 on Query { ...F1 } fragment F1 on Query { project { projid } }`)).toEqual({
      data: { project: { projid: layout.projid } },
    });
  });

  it(`refuses operations nested deeper than ${MAX_DEPTH} levels`, async () => {
    // The schema has no cycles, so only introspection nests this deep (graphql's own rule refuses it too).
    const refused = await graphql(`{ __type(name: "Query") { ${"fields { type { ".repeat(6)}name${" } }".repeat(6)} } }`);
    expect(refused.data).toBeUndefined();
    expect(refused.errors).toContainEqual(
      expect.objectContaining({
        message: `the operation nests 14 levels deep; at most ${MAX_DEPTH} are allowed`,
        extensions: { code: "QUERY_TOO_DEEP" },
      }),
    );
  });

  it("still answers the introspection query GraphiQL sends, 15 levels deep counting each ofType", async () => {
    const result = await graphql(
      getIntrospectionQuery({
        descriptions: true,
        specifiedByUrl: true,
        directiveIsRepeatable: true,
        schemaDescription: true,
        inputValueDeprecation: true,
      }),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toHaveProperty("__schema.queryType.name", "Query");
  });

  it(`refuses documents of more than ${MAX_TOKENS} tokens`, async () => {
    // `{ }`, 12 tokens per distinct fragment and its spread (graphql's own validation meters repeated fields), then __typename.
    const fragments = Math.floor((MAX_TOKENS - 2) / 12);
    const fill = MAX_TOKENS - 2 - 12 * fragments;
    const document = (typenames: number) => {
      const names = Array.from({ length: fragments }, (_, i) => `F${i}`);
      return `{ ${names.map((n) => `...${n}`).join(" ")} ${"__typename ".repeat(typenames)}} ${names.map((n) => `fragment ${n} on Query { project { projid } }`).join(" ")}`;
    };
    const allowed = await graphql(document(fill));
    expect(allowed.errors).toBeUndefined();
    expect(allowed.data).toEqual({ project: { projid: layout.projid }, __typename: "Query" });
    const refused = await graphql(document(fill + 1));
    expect(refused.errors).toEqual([
      expect.objectContaining({
        message: `the document has more than ${MAX_TOKENS} tokens; at most ${MAX_TOKENS} are allowed`,
        extensions: { code: "QUERY_TOO_LARGE" },
      }),
    ]);
    // Other syntax errors stay what they are.
    expect((await graphql("{ project { projid ")).errors?.[0]?.message).toMatch(/^Syntax Error/);
  });

  it("answers REQUEST_TIMEOUT when an operation outlives the timeout, and keeps serving", async () => {
    // versions asks git about every version, in child processes: far longer than a millisecond.
    const hasty = createFlorYoga({ session, timeoutSeconds: 0.001 });
    const started = performance.now();
    const timedOut = await graphql("{ versions { vid message } }", {}, hasty);
    expect(timedOut).toEqual({
      data: null,
      errors: [
        expect.objectContaining({
          message: "the operation did not finish within 0.001 s",
          extensions: { code: "REQUEST_TIMEOUT", seconds: 0.001 },
        }),
      ],
    });
    // The same server answers what fits in its time, and with the default timeout versions answers.
    expect(await graphql("{ project { projid } }", {}, hasty)).toEqual({ data: { project: { projid: layout.projid } } });
    const patient = await graphql("{ versions { vid message } }");
    expect(patient.errors).toBeUndefined();
    expect(patient.data!["versions"]).toEqual([{ vid: expect.stringMatching(/^[0-9a-f]{40}$/), message: "fixture" }]);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("does not time out subscriptions: a job's events keep coming past the timeout", async () => {
    const hasty = createFlorYoga({ session, timeoutSeconds: 0.05 });
    // A job as a replay runner would leave it: running, its events written as its tasks progress.
    const project = await store.db.selectFrom("projects").select("id").where("projid", "=", layout.projid).executeTakeFirstOrThrow();
    const { id } = await store.db
      .insertInto("replay_jobs")
      .values({ project_id: project.id, status: "running", request: JSON.stringify({}), error: null })
      .returning("id")
      .executeTakeFirstOrThrow();
    await addEvent(store.db, id, "planned", null, { tasks: 1 });
    const response = await hasty.fetch("http://flor.test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: SUBSCRIBE, variables: { id } }),
    });
    expect(response.status).toBe(200);
    const started = performance.now();
    const messages = readSse(response);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await addEvent(store.db, id, "task-started", 1, { worker: "test" });
    await store.db.updateTable("replay_jobs").set({ status: "done" }).where("id", "=", id).execute();
    await addEvent(store.db, id, "done", null, { values: 0, divergences: 0 });
    expect(eventsOf(await messages).map((e) => e.kind)).toEqual(["planned", "task-started", "done"]);
    expect(performance.now() - started).toBeGreaterThan(500);
  });

  it("takes the timeout from FLOR_GRAPHQL_TIMEOUT_SECONDS and refuses one that is not a positive number", async () => {
    process.env["FLOR_GRAPHQL_TIMEOUT_SECONDS"] = "0.001";
    const fromEnv = createFlorYoga({ session });
    expect((await graphql("{ versions { vid } }", {}, fromEnv)).errors?.[0]?.extensions?.code).toBe("REQUEST_TIMEOUT");
    for (const bad of ["0", "-1", "soon"]) {
      process.env["FLOR_GRAPHQL_TIMEOUT_SECONDS"] = bad;
      expect(() => createFlorYoga({ session })).toThrow(FlorUsageError);
    }
    expect(() => createFlorYoga({ session, timeoutSeconds: Number.NaN })).toThrow(/positive number of seconds/);
  });
});
