import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { TestRepo } from "../helpers/repo.js";
import { startServe } from "../helpers/serve.js";
import { recordHistory } from "../replay/replay-history.js";
import { eventsOf, readSse, SUBSCRIBE, type EventPayload } from "./sse.js";

const QUERY = "SELECT tstamp, round, part, w0_part FROM train.mjs ORDER BY tstamp, round, part";
let repo: TestRepo;

beforeAll(() => {
  repo = recordHistory();
}, 120_000);

afterAll(() => repo?.remove());

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

it("a job followed over SSE survives a restart of flor serve: resumed there, the stream picks up after the last event seen", async () => {
  // Rounds slowed down, so the job is still running when the server stops after its first task.
  const first = await startServe(repo, ["--workers", "1"], { FLOR_DATABASE_URL: "", FLOR_TEST_ROUND_MS: "150" });
  const token = readFileSync(path.join(repo.dir, ".flor", "graphql-token"), "utf8").trim();
  const asked = await post(
    first.url,
    {
      query: "query($q: String!) { florql(query: $q, replay: ASYNC) { ... on FlorqlAnswer { complete job { id tasks { total } } } } }",
      variables: { q: QUERY },
    },
    { authorization: `Bearer ${token}` },
  );
  const answer = ((await asked.json()) as { data: { florql: { complete: boolean; job: { id: number; tasks: { total: number } } } } }).data
    .florql;
  expect(answer.complete).toBe(false);
  const jobId = answer.job.id;
  expect(answer.job.tasks.total).toBeGreaterThan(2);

  // Follow until the first task is done, then stop the server under the running job.
  const events: EventPayload[] = [];
  const stream = await post(first.url, { query: SUBSCRIBE, variables: { id: jobId } }, { accept: "text/event-stream" });
  // An open stream is ended by the shutdown with a SERVER_STOPPING error saying where to resume.
  const reading = readSse(stream);
  for (;;) {
    const seen = eventsOf(
      await readSse(
        await post(
          first.url,
          { query: SUBSCRIBE, variables: { id: jobId, after: events.at(-1)?.id ?? null } },
          { accept: "text/event-stream" },
        ),
        1,
      ),
    );
    events.push(...seen);
    if (events.some((e) => e.kind === "task-done")) break;
  }
  expect(await first.stop()).toBe(0);
  const ended = await reading;
  expect(ended.flatMap((m) => m.data?.errors ?? []).map((e) => e.extensions?.code)).toEqual(["SERVER_STOPPING"]);
  expect(first.stderr()).not.toMatch(/Error|at .*\.js/);

  const second = await startServe(repo, ["--workers", "1"]);
  try {
    expect(second.stderr()).toContain(`resuming replay job ${jobId}`);
    const rest = eventsOf(
      await readSse(
        await post(second.url, { query: SUBSCRIBE, variables: { id: jobId, after: events.at(-1)!.id } }, { accept: "text/event-stream" }),
      ),
    );
    expect(rest.at(-1)).toMatchObject({ kind: "done", job: { status: "DONE" } });
    // The second server did part of the work.
    expect(rest.some((e) => e.kind === "task-done")).toBe(true);
    const all = [...events, ...rest];
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    expect(all.map((e) => Number(e.id))).toEqual([...all.map((e) => Number(e.id))].sort((a, b) => a - b));
    // The task the first server was running went back to the queue rather than failing.
    expect(all.some((e) => e.kind === "task-failed")).toBe(false);
    expect(all.filter((e) => e.kind === "task-done").length).toBe(answer.job.tasks.total);

    const filled = await post(second.url, {
      query: "query($q: String!) { florql(query: $q) { ... on FlorqlAnswer { complete rows } } }",
      variables: { q: QUERY },
    });
    const result = ((await filled.json()) as { data: { florql: { complete: boolean; rows: Record<string, unknown>[] } } }).data.florql;
    expect(result.complete).toBe(true);
    expect(result.rows.length).toBeGreaterThan(0);
    expect(result.rows.every((row) => typeof row["w0_part"] === "number")).toBe(true);
  } finally {
    expect(await second.stop()).toBe(0);
  }
}, 180_000);
