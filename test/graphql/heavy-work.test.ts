import { readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectSession } from "../../src/app/project-session.js";
import { HEAVY_SLOTS, HeavyWork } from "../../src/graphql/heavy-work.js";
import { createFlorYoga } from "../../src/graphql/server.js";
import type { Store } from "../../src/store/open-store.js";
import { openGraphql } from "../helpers/graphql.js";
import { TestRepo } from "../helpers/repo.js";

interface Response {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
}

/** Resolves with `value` after `ms`. */
function resolveAfter<T>(ms: number, value: T): Promise<T> {
  return sleep(ms).then(() => value);
}

describe("HeavyWork", () => {
  it("runs at most its slots at once, the rest in order of arrival", async () => {
    const heavy = new HeavyWork(2, 10);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const work = (i: number) =>
      heavy.run(undefined, async () => {
        running++;
        most = Math.max(most, running);
        order.push(i);
        await sleep(20);
        running--;
        return i;
      });
    expect(await Promise.all([0, 1, 2, 3, 4, 5].map(work))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(heavy.load).toEqual({ running: 0, waiting: 0, started: 6 });
  });

  it("refuses work past its queue with SERVER_BUSY, at once", async () => {
    const heavy = new HeavyWork(1, 2);
    const held = [0, 1, 2].map(() => heavy.run(undefined, () => resolveAfter(50, "done")));
    await expect(heavy.run(undefined, () => resolveAfter(0, "late"))).rejects.toMatchObject({ extensions: { code: "SERVER_BUSY" } });
    expect(await Promise.all(held)).toEqual(["done", "done", "done"]);
  });

  it("never starts work whose signal aborts while it waits, and hands a slot on when released early", async () => {
    const heavy = new HeavyWork(1, 10);
    const controller = new AbortController();
    let startedLate = false;
    const first = heavy.run(undefined, async (slot) => {
      await sleep(20);
      // What is left does not need the slot (a replay's wait): the next work may start.
      slot.release();
      await sleep(100);
      return "first";
    });
    const abandoned = heavy.run(controller.signal, async () => {
      startedLate = true;
    });
    const next = heavy.run(undefined, () => resolveAfter(0, "next"));
    controller.abort(new Error("timed out"));
    await expect(abandoned).rejects.toThrow("timed out");
    const settled = await Promise.race([next, resolveAfter(80, "still waiting")]);
    expect(settled).toBe("next");
    expect(await first).toBe("first");
    expect(startedLate).toBe(false);
    expect(heavy.load).toEqual({ running: 0, waiting: 0, started: 2 });
  });
});

describe("heavy fields over GraphQL", () => {
  let repo: TestRepo;
  let store: Store;
  let session: ProjectSession;

  beforeAll(async () => {
    repo = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
    repo.commitAll("fixture");
    for (const lr of ["0.1", "0.2"]) expect(repo.runScript("train.mjs", ["--kwargs", `lr=${lr}`]).status).toBe(0);
    // Today's version logs a value the past runs lack, so explain plans a replay (propagation and all).
    repo.write("train.mjs", `${readFileSync(path.join(repo.dir, "train.mjs"), "utf8")}flor.log("extra", lr * 2);\n`);
    ({ store, session } = await openGraphql(repo));
  });

  afterAll(async () => {
    await store?.close();
    repo?.remove();
  });

  const post = async (yoga: ReturnType<typeof createFlorYoga>, query: string): Promise<Response> =>
    (
      await yoga.fetch("http://flor.test/graphql", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query }),
      })
    ).json() as Promise<Response>;

  const explains = (n: number) =>
    `{ ${Array.from({ length: n }, (_, i) => `e${i}: explain(query: "SELECT epoch, acc, extra") { __typename }`).join(" ")} }`;

  it(`runs ${HEAVY_SLOTS} heavy fields at a time while cheap requests answer at once`, async () => {
    const heavy = new HeavyWork();
    const yoga = createFlorYoga({ session, heavy });
    let most = 0;
    const watch = setInterval(() => {
      most = Math.max(most, heavy.load.running);
    }, 5);
    try {
      const requests = Array.from({ length: 4 }, () => post(yoga, explains(4)));
      await sleep(50);
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        expect(await post(yoga, "{ __typename }")).toEqual({ data: { __typename: "Query" } });
        latencies.push(performance.now() - started);
        await sleep(20);
      }
      const answers = await Promise.all(requests);
      for (const answer of answers) {
        expect(answer.errors).toBeUndefined();
        expect(Object.values(answer.data!)).toEqual(Array.from({ length: 4 }, () => ({ __typename: "FlorqlExplanation" })));
      }
      expect(Math.max(...latencies)).toBeLessThan(1000);
      expect(most).toBe(HEAVY_SLOTS);
      expect(heavy.load).toEqual({ running: 0, waiting: 0, started: 16 });
    } finally {
      clearInterval(watch);
    }
  }, 120_000);

  it("answers REQUEST_TIMEOUT on time, and heavy fields still waiting then never start", async () => {
    const heavy = new HeavyWork(1);
    const yoga = createFlorYoga({ session, heavy, timeoutSeconds: 0.3 });
    const started = performance.now();
    const answer = await post(yoga, `{ ${Array.from({ length: 20 }, (_, i) => `v${i}: versions { vid }`).join(" ")} }`);
    const elapsed = performance.now() - started;
    expect(answer).toEqual({
      data: null,
      errors: [expect.objectContaining({ extensions: { code: "REQUEST_TIMEOUT", seconds: 0.3 } })],
    });
    expect(elapsed).toBeLessThan(1000);
    // The field that was running finishes; none of those that waited starts.
    await expect.poll(() => heavy.load.running, { timeout: 10_000 }).toBe(0);
    await sleep(200);
    expect(heavy.load.waiting).toBe(0);
    expect(heavy.load.started).toBeLessThan(20);
    // The server goes on serving heavy fields.
    expect(await post(createFlorYoga({ session, heavy }), "{ versions { vid } }")).toMatchObject({ data: { versions: expect.any(Array) } });
  }, 60_000);
});
