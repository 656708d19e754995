import { afterAll, beforeAll, expect, it } from "vitest";
import { journalRefresher } from "../../src/cli/serve-refresh.js";
import { layoutFor } from "../../src/project-layout.js";
import { openStore, type Store } from "../../src/store/open-store.js";
import { listRuns } from "../../src/store/queries/runs.js";
import { bindProject } from "../../src/store/project-store.js";
import { TestRepo } from "../helpers/repo.js";

let repo: TestRepo;
let store: Store;

beforeAll(async () => {
  repo = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
  repo.commitAll("fixture");
  expect(repo.runScript("train.mjs", ["--kwargs", "lr=0.1"]).status).toBe(0);
  store = await openStore(layoutFor(repo.dir), { databaseUrl: "" });
});

afterAll(async () => {
  await store?.close();
  repo?.remove();
});

it("ingests new journals before a request, costs next to nothing when none changed, and shares one ingest between concurrent requests", async () => {
  const layout = layoutFor(repo.dir);
  const problems: string[] = [];
  const refresh = journalRefresher(await bindProject(store, layout.projid), layout, (problem) => problems.push(problem));
  await refresh();
  expect(await listRuns(await bindProject(store, layout.projid), layout.projid)).toHaveLength(1);

  // Unchanged: a few system calls, no database round trip.
  const started = performance.now();
  for (let i = 0; i < 1000; i++) await refresh();
  const microseconds = ((performance.now() - started) * 1000) / 1000;
  expect(microseconds).toBeLessThan(200);

  expect(repo.runScript("train.mjs", ["--kwargs", "lr=0.2"]).status).toBe(0);
  // 32 requests at once after a new run: every one sees it once it resolves.
  const seen = await Promise.all(
    Array.from({ length: 32 }, async () => {
      await refresh();
      return (await listRuns(await bindProject(store, layout.projid), layout.projid)).length;
    }),
  );
  expect(seen).toEqual(new Array(32).fill(2));
  expect((await listRuns(await bindProject(store, layout.projid), layout.projid)).map((r) => r.status)).toEqual(["ok", "ok"]);
  expect(problems).toEqual([]);
});
