import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { FlorApi, QueryAnswer } from "../../src/app/flor-api.js";
import { LocalApi } from "../../src/app/local-api.js";
import { ProjectSession } from "../../src/app/project-session.js";
import { RemoteApi } from "../../src/app/remote-api.js";
import { ServeClient } from "../../src/app/serve-client.js";
import { queryCommand } from "../../src/cli/commands/query.js";
import { createFlorYoga } from "../../src/graphql/server.js";
import type { TestRepo } from "../helpers/repo.js";
import { recordHistory } from "../replay/replay-history.js";

// w1 is logged by the newest version only: the answer has missing values, so its notes say something.
const QUESTION = "SELECT seed, round, norm, w1 FROM train.mjs WHERE round >= 4 ORDER BY seed, round";
const FLORQL = `query ($q: String!) { florql(query: $q, replay: NONE) {
  ... on FlorqlAnswer { columns rows explain complete job { id } replayPlan { names runs tasks estimatedSeconds } unfillable { name runs reasons } }
} }`;

let repo: TestRepo;
let session: ProjectSession;
let yoga: ReturnType<typeof createFlorYoga>;
let server: Server;
let remote: RemoteApi;

/** EXPLAIN's planning times are the one part that differs from one answer to the next. */
const untimed = <T extends Pick<QueryAnswer, "explain">>(answer: T): T => ({
  ...answer,
  explain: answer.explain.replace(/^planning: .*$/m, "planning: …"),
});

beforeAll(async () => {
  repo = recordHistory();
  session = await ProjectSession.open({ cwd: repo.dir, command: "test", workers: 2, lifetime: "server" });
  yoga = createFlorYoga({ session });
  server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  // What the CLI finds in serve.json while `flor serve` runs: here, this process serves.
  const info = { url: `http://127.0.0.1:${port}/graphql`, pid: process.pid, host: hostname(), started: new Date().toISOString() };
  remote = new RemoteApi(new ServeClient(info, session.layout));
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await session?.close();
  repo?.remove();
});

describe("one service answers the CLI, here and through flor serve, and GraphQL", () => {
  it("every transport calls the session's answerQuery once per answer and returns what it returned", async () => {
    const service = vi.spyOn(session, "answerQuery");
    /** The answer the service gave for the last call, after checking that it was one more call. */
    const served = async (calls: number): Promise<QueryAnswer> => {
      expect(service).toHaveBeenCalledTimes(calls);
      expect(service.mock.lastCall!.slice(0, 2)).toEqual([QUESTION, "none"]);
      return service.mock.results.at(-1)!.value as Promise<QueryAnswer>;
    };

    const direct = await session.answerQuery(QUESTION, "none");
    // Rounds 4 and up: two of each 6-round run, four of the 8-round one, none of the 4-round one.
    expect(direct.rows).toHaveLength(2 + 2 + 2 + 4);
    expect(direct.notes).toEqual({
      missing: { names: ["w1"], runs: 4, tasks: 4, estimatedSeconds: expect.any(Number) },
      unfillable: [],
      started: null,
      problems: [],
    });
    await served(1);

    // The CLI's local transport.
    const local = await new LocalApi(session).answerQuery(QUESTION, "none");
    expect(local).toBe(await served(2));
    expect(untimed(local)).toEqual(untimed(direct));

    // GraphQL: the resolver adapts the service's answer field by field.
    const response = (await (
      await yoga.fetch("http://flor.test/graphql", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: FLORQL, variables: { q: QUESTION } }),
      })
    ).json()) as { data: { florql: Record<string, unknown> } };
    const viaGraphql = await served(3);
    expect(response.data.florql).toEqual({
      columns: viaGraphql.columns,
      rows: viaGraphql.rows,
      explain: viaGraphql.explain,
      complete: viaGraphql.complete,
      job: null,
      replayPlan: viaGraphql.notes.missing,
      unfillable: viaGraphql.notes.unfillable,
    });

    // The CLI through `flor serve`: its GraphQL client, answered by the server's session (this one).
    const throughServe = await remote.answerQuery(QUESTION, "none");
    const viaServe = await served(4);
    expect(untimed(throughServe)).toEqual(untimed({ ...viaServe, job: null }));
    expect(untimed(throughServe)).toEqual(untimed(direct));
  });

  it("the query command prints the same answer and notes over either transport", async () => {
    const options = { explain: false, replay: "none", format: "json" } as const;
    const printed = async (api: FlorApi) => {
      const output = await queryCommand(api, QUESTION, options);
      let stdout = "";
      for await (const piece of typeof output.stdout === "string" ? [output.stdout] : output.stdout)
        stdout += typeof piece === "string" ? piece : Buffer.from(piece).toString("utf8");
      return { ...output, stdout };
    };
    const here = await printed(new LocalApi(session));
    const there = await printed(remote);
    expect(there).toEqual(here);
    expect(here.stderr).toBe("flor: w1 missing for 4 run(s); run with --replay wait to fill them\n");
    expect((JSON.parse(here.stdout) as { w1: unknown }[]).every((row) => row.w1 === null)).toBe(true);
  });
});
