import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { createFlorYoga } from "../../src/graphql/server.js";
import { layoutFor } from "../../src/project-layout.js";
import type { Store } from "../../src/store/open-store.js";
import { openGraphql } from "../helpers/graphql.js";
import { TestRepo } from "../helpers/repo.js";

let repo: TestRepo;
let store: Store;
let yoga: ReturnType<typeof createFlorYoga>;
let v1: string;
let v2: string;

interface GraphQLError {
  message: string;
  extensions?: { code?: string };
  locations?: unknown;
  path?: unknown;
}
interface Response<T> {
  data?: T | null;
  errors?: GraphQLError[];
}

async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<Response<T>> {
  const response = await yoga.fetch("http://flor.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  // 200, or 400 for a request that fails validation (an unknown enum value).
  expect([200, 400]).toContain(response.status);
  return (await response.json()) as Response<T>;
}

/** The data of a request that must succeed. */
async function data<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await graphql<T>(query, variables);
  expect(result.errors).toBeUndefined();
  return result.data!;
}

/** The one error of a request that must fail: clear, coded, and without a stack or internals. */
async function refusal(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLError> {
  const result = await graphql(query, variables);
  expect(result.errors).toHaveLength(1);
  const error = result.errors![0]!;
  expect(JSON.stringify(error)).not.toMatch(/stack| {4}at |node:internal|\.ts:\d+/);
  return error;
}

beforeAll(async () => {
  repo = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs").addFixture("checkpointed.mjs", "ckpt.mjs").addFixture("fails.mjs");
  repo.write("sub/notes.txt", "notes\n");
  v1 = repo.commitAll("first version");
  for (const kwargs of [
    ["lr=0.1", "opt=sgd"],
    ["lr=0.01", "opt=adam"],
    ["lr=0.05", "opt=adam"],
  ])
    expect(repo.runScript("train.mjs", ["--kwargs", ...kwargs]).status).toBe(0);
  expect(repo.runScript("ckpt.mjs", ["--kwargs", "epochs=2"]).status).toBe(0);
  expect(repo.runScript("fails.mjs").status).not.toBe(0);
  repo.write("train.mjs", repo.git("show", "HEAD:train.mjs").replace('flor.log("final", lr * 100);', 'flor.log("final", lr * 1000);'));
  v2 = repo.commitAll("final in per mille");
  expect(repo.runScript("train.mjs", ["--kwargs", "lr=0.2", "opt=sgd"]).status).toBe(0);
  ({ store, yoga } = await openGraphql(repo, { workers: 1 }));
}, 120_000);

afterAll(async () => {
  await store?.close();
  repo?.remove();
});

interface RunsPage {
  runs: {
    edges: {
      cursor: string;
      node: { id: number; tstamp: string; filename: string; vid: string; status: string; args: { name: string; value: unknown }[] };
    }[];
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
  };
}

const RUNS = `query($first: Int, $after: String, $filename: String, $vid: String, $status: [RunStatus!], $since: String, $until: String, $args: [ArgFilter!]) {
  runs(first: $first, after: $after, filename: $filename, vid: $vid, status: $status, since: $since, until: $until, args: $args) {
    edges { cursor node { id tstamp filename vid status args { name value } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}`;

async function runs(variables: Record<string, unknown>) {
  return (await data<RunsPage>(RUNS, variables)).runs;
}

/** Every run the filters select, read a page of `first` at a time. */
async function allPages(variables: Record<string, unknown>, first: number) {
  const seen: RunsPage["runs"]["edges"] = [];
  let after: string | null = null;
  for (;;) {
    const page = await runs({ ...variables, first, after });
    seen.push(...page.edges);
    if (!page.pageInfo.hasNextPage) return seen;
    after = page.pageInfo.endCursor;
  }
}

const lrOf = (edge: RunsPage["runs"]["edges"][number]) => edge.node.args.find((a) => a.name === "lr")?.value;

describe("GraphQL runs: filters", () => {
  it("filters by argument value as JSON, by number ranges, and by the presence of an argument", async () => {
    expect((await runs({ args: [{ name: "opt", value: "adam" }] })).edges.map(lrOf)).toEqual([0.01, 0.05]);
    expect((await runs({ args: [{ name: "lr", value: 0.1 }] })).edges.map(lrOf)).toEqual([0.1]);
    // JSON equality: the string "0.1" is not the number 0.1.
    expect((await runs({ args: [{ name: "lr", value: "0.1" }] })).edges).toEqual([]);
    expect((await runs({ args: [{ name: "lr", gte: 0.05, lt: 0.2 }] })).edges.map(lrOf)).toEqual([0.1, 0.05]);
    expect(
      (
        await runs({
          args: [
            { name: "lr", gt: 0.02 },
            { name: "opt", value: "sgd" },
          ],
        })
      ).edges.map(lrOf),
    ).toEqual([0.1, 0.2]);
    // A numeric bound never matches a non-number.
    expect((await runs({ args: [{ name: "opt", gt: 0 }] })).edges).toEqual([]);
    expect((await runs({ args: [{ name: "epochs" }] })).edges.map((e) => e.node.filename)).toEqual(["ckpt.mjs"]);
    // User text only ever travels as a parameter.
    expect((await runs({ args: [{ name: "x' or '1'='1", value: "' or 1=1 --" }] })).edges).toEqual([]);
  });

  it("filters by status, version and script", async () => {
    expect((await runs({ status: ["FAILED"] })).edges.map((e) => e.node.filename)).toEqual(["fails.mjs"]);
    expect((await runs({ status: ["OK", "FAILED"] })).edges).toHaveLength(6);
    expect((await runs({ status: [] })).edges).toEqual([]);
    expect((await runs({ vid: v2 })).edges.map(lrOf)).toEqual([0.2]);
    // A unique prefix of at least 4 digits names a version; one no run ran selects nothing.
    expect((await runs({ vid: v2.slice(0, 8), filename: "train.mjs" })).edges.map(lrOf)).toEqual([0.2]);
    expect((await runs({ vid: v1.toUpperCase(), filename: "train.mjs" })).edges.map(lrOf)).toEqual([0.1, 0.01, 0.05]);
    const other = v1.startsWith("0000") ? "ffff" : "0000";
    expect((await runs({ vid: other })).edges).toEqual([]);
  });

  it("filters by start time: since is inclusive, until exclusive, offsets and fractions exact", async () => {
    const every = await allPages({}, 100);
    expect(every).toHaveLength(6);
    const times = every.map((e) => e.node.tstamp);
    expect((await runs({ since: times[2] })).edges.map((e) => e.node.tstamp)).toEqual(times.slice(2));
    expect((await runs({ until: times[2] })).edges.map((e) => e.node.tstamp)).toEqual(times.slice(0, 2));
    expect((await runs({ since: times[1], until: times[3] })).edges.map((e) => e.node.tstamp)).toEqual(times.slice(1, 3));
    // The same instant at another offset, and a finer instant just after a start time.
    const atPlusTwo = new Date(Date.parse(times[3]!) + 2 * 3_600_000).toISOString().replace("Z", "+02:00");
    expect((await runs({ since: atPlusTwo })).edges.map((e) => e.node.tstamp)).toEqual(times.slice(3));
    expect((await runs({ since: times[3]!.replace("Z", "0001Z") })).edges.map((e) => e.node.tstamp)).toEqual(times.slice(4));
    expect((await runs({ since: "2000-01-01", until: "2000-01-02" })).edges).toEqual([]);
  });

  it("pages through filtered runs with keyset cursors that stay valid, with the same filters or others", async () => {
    const adam = { args: [{ name: "opt", value: "adam" }] };
    const trainRuns = { filename: "train.mjs" };
    const byOne = await allPages(trainRuns, 1);
    expect(byOne.map(lrOf)).toEqual([0.1, 0.01, 0.05, 0.2]);
    expect((await allPages(trainRuns, 3)).map((e) => e.node.id)).toEqual(byOne.map((e) => e.node.id));

    const first = await runs({ ...adam, first: 1 });
    expect(first.edges.map(lrOf)).toEqual([0.01]);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await runs({ ...adam, first: 1, after: first.pageInfo.endCursor });
    expect(second.edges.map(lrOf)).toEqual([0.05]);
    expect(second.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect(await runs({ ...adam, first: 1, after: first.pageInfo.endCursor })).toEqual(second);

    // A cursor is a position: with other filters, or none, it continues after the same run.
    const every = (await allPages({}, 100)).map((e) => e.node.id);
    const after = every.slice(every.indexOf(first.edges[0]!.node.id) + 1);
    expect((await runs({ first: 100, after: first.pageInfo.endCursor })).edges.map((e) => e.node.id)).toEqual(after);
    expect((await runs({ first: 100, after: first.pageInfo.endCursor, status: ["FAILED"] })).edges.map((e) => e.node.filename)).toEqual([
      "fails.mjs",
    ]);
  });

  it("refuses malformed instants, vids, cursors and too many filters with clear errors", async () => {
    for (const since of [
      "yesterday",
      "2026-02-30T00:00:00Z",
      "2026-01-31T12:00:00",
      "2026-01-31 12:00:00Z",
      "2026-01-31T25:00:00Z",
      "2026-01-31T12:00:00+24:00",
      "1700000000",
    ]) {
      const error = await refusal(RUNS, { since });
      expect(error.extensions?.code).toBe("BAD_USER_INPUT");
      expect(error.message).toContain("since must be an ISO-8601 instant");
    }
    expect((await refusal(RUNS, { until: "soon" })).message).toBe(
      'until must be an ISO-8601 instant such as 2026-01-31T12:00:00Z, not "soon"',
    );
    for (const vid of ["--all", "HEAD", "abc", "g123456", "1234567^"]) {
      const error = await refusal(RUNS, { vid });
      expect(error).toMatchObject({ extensions: { code: "BAD_USER_INPUT" }, message: expect.stringContaining("is not a version id") });
    }
    expect((await refusal(RUNS, { args: Array.from({ length: 21 }, () => ({ name: "lr" })) })).message).toBe(
      "at most 20 argument filters, not 21",
    );
    expect((await refusal(RUNS, { status: ["DONE"] })).message).toContain("RunStatus");
  });

  it("refuses cursors whose numbers or times are outside the store's ranges, as foreign cursors (not internal errors)", async () => {
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const valid = (await runs({ first: 1 })).pageInfo.endCursor!;
    const [tstamp] = JSON.parse(Buffer.from(valid, "base64url").toString()) as [string, number];
    for (const after of [
      cursor([tstamp, 2 ** 31]),
      cursor([tstamp, -(2 ** 31) - 1]),
      cursor([tstamp, 1e300]),
      cursor([tstamp, 1.5]),
      cursor(["0000-01-01T00:00:00.000Z", 1]),
      cursor(["+275760-09-13T00:00:00.000Z", 1]),
      cursor(["2026-02-30T00:00:00.000Z", 1]),
      cursor(["2026-01-31T12:00:00Z", 1]),
    ]) {
      expect(await refusal(RUNS, { after })).toMatchObject({
        extensions: { code: "BAD_USER_INPUT" },
        message: `"${after}" is not a cursor this server gave out`,
      });
    }
    // The limits themselves are positions like any other.
    expect((await runs({ after: cursor([tstamp, 2 ** 31 - 1]) })).edges.length).toBeGreaterThan(0);
    expect((await runs({ after: cursor(["9999-12-31T23:59:59.999Z", 1]) })).edges).toEqual([]);

    const id = await runIdOf("train.mjs", 0.1);
    const logs = `query($id: Int!, $after: String) { run(id: $id) { logs(after: $after) { pageInfo { hasNextPage } } } }`;
    for (const after of [cursor(["log", "loss", 2 ** 31, 0]), cursor(["log", "loss", null, 2 ** 31]), cursor(["log", "loss", 0, -1e20])]) {
      expect(await refusal(logs, { id, after })).toMatchObject({
        extensions: { code: "BAD_USER_INPUT" },
        message: `"${after}" is not a log cursor this server gave out`,
      });
    }
  });

  it("answers the other root fields when one fails: root fields are nullable", async () => {
    const result = await graphql<{ runs: unknown; project: { projid: string }; florql: { columns: string[] } }>(
      `{ runs(after: "nonsense") { edges { cursor } } project { projid } florql(query: "SELECT lr FROM train.mjs") { ... on FlorqlAnswer { columns } } }`,
    );
    expect(result.errors).toEqual([expect.objectContaining({ path: ["runs"], extensions: { code: "BAD_USER_INPUT" } })]);
    expect(result.data).toEqual({ runs: null, project: { projid: layoutFor(repo.dir).projid }, florql: { columns: ["lr"] } });
  });
});

const RUN = `query($id: Int!, $names: [String!], $first: Int = 100, $after: String) {
  run(id: $id) {
    id filename vid
    loops { name parent depth executions iterations seconds }
    checkpoints { coordinates objects bytes writtenBytes seconds }
    version { vid kind message runs }
    logs(names: $names, first: $first, after: $after) {
      edges { cursor node { name value coordinates } }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
}`;

interface RunDetails {
  run: {
    id: number;
    filename: string;
    vid: string;
    loops: { name: string; parent: string | null; depth: number; executions: number; iterations: number; seconds: number | null }[];
    checkpoints: {
      coordinates: Record<string, unknown>;
      objects: Record<string, string>;
      bytes: number;
      writtenBytes: number;
      seconds: number;
    }[];
    version: { vid: string; kind: string; message: string; runs: number } | null;
    logs: {
      edges: { cursor: string; node: { name: string; value: unknown; coordinates: Record<string, unknown> } }[];
      pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
    };
  } | null;
}

async function runIdOf(filename: string, lr?: number): Promise<number> {
  const edges = await allPages({ filename, ...(lr === undefined ? {} : { args: [{ name: "lr", value: lr }] }) }, 100);
  return edges[0]!.node.id;
}

describe("GraphQL run details", () => {
  it("gives a run's loops, version and logs with their loop coordinates, a page at a time", async () => {
    const id = await runIdOf("train.mjs", 0.1);
    const { run } = await data<RunDetails>(RUN, { id, first: 4 });
    expect(run).toMatchObject({
      id,
      filename: "train.mjs",
      vid: v1,
      checkpoints: [],
      version: { vid: v1, kind: "commit", message: "first version", runs: 5 },
    });
    expect(run!.loops.map(({ seconds, ...loop }) => loop)).toEqual([
      { name: "epoch", parent: null, depth: 0, executions: 1, iterations: 3 },
      { name: "step", parent: "epoch", depth: 1, executions: 3, iterations: 6 },
    ]);
    expect(run!.loops.every((l) => typeof l.seconds === "number")).toBe(true);

    // Names in code-point order; in a name, loop order; a page boundary anywhere.
    const all: { name: string; value: unknown; coordinates: Record<string, unknown> }[] = [];
    let page = run!.logs;
    expect(page.edges).toHaveLength(4);
    expect(page.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    for (;;) {
      all.push(...page.edges.map((e) => e.node));
      if (!page.pageInfo.hasNextPage) break;
      page = (await data<RunDetails>(RUN, { id, first: 4, after: page.pageInfo.endCursor })).run!.logs;
      expect(page.pageInfo.hasPreviousPage).toBe(true);
    }
    const loss = (epoch: number, step: number) => Math.round((1 / (1 + epoch * 2 + step)) * 0.1 * 10000) / 10000;
    expect(all).toEqual([
      ...[0, 1, 2].map((epoch) => ({ name: "acc", value: Math.round((0.6 + epoch * 0.1) * 1000) / 1000, coordinates: { epoch } })),
      { name: "final", value: 10, coordinates: {} },
      ...[0, 1, 2].flatMap((epoch) => [0, 1].map((step) => ({ name: "loss", value: loss(epoch, step), coordinates: { epoch, step } }))),
      ...[0, 1, 2].map((epoch) => ({ name: "note", value: epoch === 1 ? null : `ep${epoch}-sgd`, coordinates: { epoch } })),
      { name: "odd'; drop table logs; --", value: 1, coordinates: {} },
    ]);
  });

  it("filters logs by name and keeps cursors as positions", async () => {
    const id = await runIdOf("train.mjs", 0.05);
    const first = (await data<RunDetails>(RUN, { id, names: ["loss", "final", "nothing"], first: 3 })).run!.logs;
    expect(first.edges.map((e) => [e.node.name, e.node.coordinates])).toEqual([
      ["final", {}],
      ["loss", { epoch: 0, step: 0 }],
      ["loss", { epoch: 0, step: 1 }],
    ]);
    const rest = (await data<RunDetails>(RUN, { id, names: ["loss", "final"], first: 500, after: first.pageInfo.endCursor })).run!.logs;
    expect(rest.edges.map((e) => e.node.coordinates)).toEqual([
      { epoch: 1, step: 0 },
      { epoch: 1, step: 1 },
      { epoch: 2, step: 0 },
      { epoch: 2, step: 1 },
    ]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    // The same position with other names: what follows it among those.
    const notes = (await data<RunDetails>(RUN, { id, names: ["note"], after: first.pageInfo.endCursor })).run!.logs;
    expect(notes.edges.map((e) => e.node.value)).toEqual(["ep0-adam", null, "ep2-adam"]);
    expect((await data<RunDetails>(RUN, { id, names: [] })).run!.logs.edges).toEqual([]);
  });

  it("gives checkpoints with the iteration they end, and the loops of a run that failed", async () => {
    const ckpt = (await data<RunDetails>(RUN, { id: await runIdOf("ckpt.mjs") })).run!;
    expect(ckpt.checkpoints.map((c) => c.coordinates)).toEqual([{ epoch: 0 }, { epoch: 1 }]);
    for (const checkpoint of ckpt.checkpoints) {
      expect(Object.keys(checkpoint.objects).sort()).toEqual(["history", "model"]);
      expect(checkpoint.bytes).toBeGreaterThan(0);
      expect(checkpoint.writtenBytes).toBeLessThanOrEqual(checkpoint.bytes);
    }
    expect(ckpt.loops.map((l) => [l.name, l.executions, l.iterations])).toEqual([
      ["epoch", 1, 2],
      ["batch", 2, 8],
    ]);
    expect(ckpt.logs.edges.map((e) => e.node.coordinates)).toEqual([{ epoch: 0 }, { epoch: 1 }]);

    const failed = (await data<RunDetails>(RUN, { id: await runIdOf("fails.mjs") })).run!;
    expect(failed.loops.map((l) => [l.name, l.iterations])).toEqual([["epoch", 2]]);
    expect(failed.logs.edges.map((e) => e.node.value)).toEqual([1, 0.5]);
  });

  it("is null for a run not in the project, and refuses oversized pages and foreign cursors", async () => {
    expect((await data<RunDetails>(RUN, { id: 999_999 })).run).toBeNull();
    const id = await runIdOf("train.mjs", 0.1);
    // Only the page info: the whole page would be over the cost limit before the resolver saw it.
    const oversized = await refusal(`query($id: Int!) { run(id: $id) { logs(first: 1001) { pageInfo { hasNextPage } } } }`, { id });
    expect(oversized).toMatchObject({ message: "first must be between 1 and 1000, not 1001", extensions: { code: "BAD_USER_INPUT" } });
    const runCursor = (await runs({ first: 1 })).pageInfo.endCursor;
    expect(
      await refusal(`query($id: Int!, $after: String) { run(id: $id) { logs(after: $after) { pageInfo { hasNextPage } } } }`, {
        id,
        after: runCursor,
      }),
    ).toMatchObject({ extensions: { code: "BAD_USER_INPUT" }, message: expect.stringContaining("is not a log cursor") });
  });

  it("answers a page of runs with their details in a few batched queries", async () => {
    // Watches the statements the store runs (the real ones, passed on unchanged).
    const executor = store.db.getExecutor();
    const execute = executor.executeQuery.bind(executor);
    const statements: string[] = [];
    executor.executeQuery = (query, ...rest) => {
      statements.push(query.sql);
      return execute(query, ...rest);
    };
    try {
      const page = await data<{
        runs: { edges: { node: { loops: unknown[]; checkpoints: unknown[]; version: { vid: string } | null } }[] };
      }>(`{
        runs(first: 100) { edges { node { args { name } logNames loops { name } checkpoints { bytes } version { vid } } } }
      }`);
      expect(page.runs.edges.map((e) => e.node.version?.vid)).toEqual([v1, v1, v1, v1, v1, v2]);
      expect(page.runs.edges.map((e) => e.node.loops.length)).toEqual([2, 2, 2, 2, 1, 2]);
    } finally {
      delete (executor as Partial<typeof executor>).executeQuery;
    }
    // The page, its args and names, then one query each for loops, checkpoints and versions: not one per run.
    expect(statements).toHaveLength(6);
    // Loops and the checkpoints' coordinates each read the stored loop ranges once.
    expect(statements.filter((s) => /from "flor"\."loop_ranges"/.test(s))).toHaveLength(2);
  });
});

const VERSION = `query($vid: String!, $file: String!) { version(vid: $vid) { vid kind runs filenames source(filename: $file) } }`;
const DIFF = `query($from: String!, $to: String!, $file: String) { diff(from: $from, to: $to, filename: $file) }`;

describe("GraphQL versions: source and diff", () => {
  it("gives a script's source at two versions, by full id or prefix", async () => {
    const first = await data<{ version: { vid: string; runs: number; filenames: string[]; source: string } }>(VERSION, {
      vid: v1,
      file: "train.mjs",
    });
    expect(first.version).toMatchObject({ vid: v1, runs: 5, filenames: ["ckpt.mjs", "fails.mjs", "train.mjs"] });
    expect(first.version.source).toBe(`${repo.git("show", `${v1}:train.mjs`)}\n`);
    expect(first.version.source).toContain("lr * 100)");
    const second = await data<{ version: { vid: string; source: string } }>(VERSION, { vid: v2.slice(0, 7), file: "train.mjs" });
    expect(second.version.vid).toBe(v2);
    expect(second.version.source).toContain("lr * 1000)");
    expect((await data<{ version: { source: string | null } }>(VERSION, { vid: v1, file: "sub/notes.txt" })).version.source).toBe(
      "notes\n",
    );
    // A file the version does not have, and a version no run ran.
    expect((await data<{ version: { source: string | null } }>(VERSION, { vid: v1, file: "missing.mjs" })).version.source).toBeNull();
    const unrun = repo.git("rev-list", "--max-parents=0", "HEAD");
    expect((await data<{ version: unknown }>(VERSION, { vid: unrun, file: "train.mjs" })).version).toBeNull();
  });

  it("diffs two versions, whole or one file", async () => {
    const whole = (await data<{ diff: string }>(DIFF, { from: v1, to: v2 })).diff;
    expect(whole).toContain("diff --git a/train.mjs b/train.mjs");
    expect(whole).toContain('-flor.log("final", lr * 100);');
    expect(whole).toContain('+flor.log("final", lr * 1000);');
    expect((await data<{ diff: string }>(DIFF, { from: v1.slice(0, 10), to: v2, file: "train.mjs" })).diff).toBe(whole);
    expect((await data<{ diff: string }>(DIFF, { from: v1, to: v2, file: "ckpt.mjs" })).diff).toBe("");
    expect((await data<{ diff: string }>(DIFF, { from: v2, to: v2 })).diff).toBe("");
    // The path is literal, not a pathspec pattern.
    expect((await refusal(DIFF, { from: v1, to: v2, file: "*.mjs" })).message).toBe("*.mjs is in neither version");
  });

  it("refuses paths outside the repository, bad vids and options with clear errors", async () => {
    for (const file of ["../secret", "sub/../train.mjs", "/etc/passwd", "./train.mjs", "sub//notes.txt", "", "train.mjs\nHEAD:train.mjs"]) {
      const error = await refusal(VERSION, { vid: v1, file });
      expect(error.extensions?.code).toBe("BAD_USER_INPUT");
    }
    expect((await refusal(VERSION, { vid: v1, file: "../secret" })).message).toBe(
      '"../secret" is not a plain path inside the repository (no ".", ".." or empty parts)',
    );
    expect((await refusal(VERSION, { vid: v1, file: "sub" })).message).toBe(`sub is a directory in version ${v1.slice(0, 10)}, not a file`);
    for (const [from, to] of [
      ["--output=/tmp/x", v2],
      [v1, "HEAD"],
      [v1, `${v2}..${v1}`],
      ["-p", v2],
      [v1, ""],
    ]) {
      const error = await refusal(DIFF, { from, to });
      expect(error).toMatchObject({ extensions: { code: "BAD_USER_INPUT" }, message: expect.stringContaining("is not a version id") });
    }
    const unrun = repo.git("rev-list", "--max-parents=0", "HEAD");
    expect((await refusal(DIFF, { from: unrun, to: v2 })).message).toBe(`no run of ${layoutFor(repo.dir).projid} ran a version ${unrun}`);
    expect((await refusal(DIFF, { from: v1, to: v2, file: "/etc/passwd" })).extensions?.code).toBe("BAD_USER_INPUT");
  });
});
