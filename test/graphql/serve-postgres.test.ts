import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../helpers/postgres.js";
import { startServe } from "../helpers/serve.js";
import { recordHistory } from "../replay/replay-history.js";
import { eventsOf, readSse, SUBSCRIBE } from "./sse.js";

const pgUrl = inject("pgUrl");

describe.skipIf(!pgUrl)("flor serve on a PostgreSQL server", () => {
  it("hands requested replays to the job queue, works them, and streams the job to its end", async () => {
    const repo = recordHistory();
    const url = await freshDatabaseUrl(pgUrl!);
    const env = { FLOR_DATABASE_URL: url };
    try {
      expect(repo.flor(["ingest"], env).status).toBe(0);
      const server = await startServe(repo, ["--workers", "1"], env);
      try {
        expect(server.stderr()).toContain("replays go through the job queue on the PostgreSQL server");
        const token = readFileSync(path.join(repo.dir, ".flor", "graphql-token"), "utf8").trim();
        const post = (body: unknown, headers: Record<string, string> = {}) =>
          fetch(server.url, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
            body: JSON.stringify(body),
          });
        const requested = (await (
          await post({
            query: 'mutation { requestReplay(names: ["w1"], where: "round >= 4") { ... on ReplayJob { id tasks { total } } } }',
          })
        ).json()) as { data: { requestReplay: { id: number; tasks: { total: number } } } };
        const { id, tasks } = requested.data.requestReplay;
        expect(tasks.total).toBeGreaterThan(0);
        const events = eventsOf(await readSse(await post({ query: SUBSCRIBE, variables: { id } }, { accept: "text/event-stream" })));
        expect(events.at(-1)).toMatchObject({ kind: "done", job: { status: "DONE" } });

        // Every task went through the queue, once.
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          const { rows } = await client.query(
            "select count(*)::int as n, bool_and(state = 'completed') as completed from flor_queue.job where name like 'flor-replay.%' and (data ->> 'jobId')::int = $1",
            [id],
          );
          expect(rows[0]).toEqual({ n: tasks.total, completed: true });
        } finally {
          await client.end();
        }
        const answer = (await (
          await post({
            query:
              '{ florql(query: "SELECT tstamp, round, w1 FROM train.mjs WHERE round >= 4") { ... on FlorqlAnswer { complete rows } } }',
          })
        ).json()) as { data: { florql: { complete: boolean; rows: Record<string, unknown>[] } } };
        expect(answer.data.florql.complete).toBe(true);
        expect(answer.data.florql.rows.every((row) => typeof row["w1"] === "number")).toBe(true);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    } finally {
      await dropDatabase(url);
      repo.remove();
    }
  }, 180_000);
});
