import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectSession } from "../../src/app/project-session.js";
import { layoutFor } from "../../src/project-layout.js";
import { ingest } from "../../src/store/ingest.js";
import type { Store } from "../../src/store/open-store.js";
import { FlorQLError } from "../../src/florql/florql-error.js";
import { backends } from "../helpers/stores.js";
import { TestRepo } from "../helpers/repo.js";

const RUNS = [
  ["lr=0.1", "opt=sgd"],
  ["lr=0.01", "opt=adam"],
  ["lr=0.05", "opt=adam"],
];
let repo: TestRepo;

beforeAll(() => {
  repo = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
  repo.commitAll("fixture");
  for (const kwargs of RUNS) expect(repo.runScript("train.mjs", ["--kwargs", ...kwargs]).status).toBe(0);
});

afterAll(() => repo.remove());

const loss = (lr: number, epoch: number, step: number) => Math.round((1 / (1 + epoch * 2 + step)) * lr * 10000) / 10000;
const acc = (lr: number, epoch: number) => Math.round((0.5 + epoch * 0.1 + lr) * 1000) / 1000;

for (const backend of backends()) {
  describe(`FlorQL on ${backend.name}`, () => {
    let store: Store;
    let session: ProjectSession;
    const query = async (text: string) => (await session.answerQuery(text, "none")).rows;

    beforeAll(async () => {
      await backend.prepare(repo.dir);
      store = await backend.open(layoutFor(repo.dir));
      await ingest(store, layoutFor(repo.dir));
      session = await ProjectSession.over(store, layoutFor(repo.dir), { workers: 1, lifetime: "command" });
    });

    afterAll(async () => {
      await session.close();
      await store.close();
      await backend.cleanup();
    });

    it("filters on args and a loop dimension, joining a per-epoch value onto per-step rows", async () => {
      const rows = await query("SELECT lr, epoch, step, loss, acc FROM train.mjs WHERE lr < 0.08 AND epoch >= 1 ORDER BY lr, epoch, step");
      const expected = [0.01, 0.05].flatMap((lr) =>
        [1, 2].flatMap((epoch) => [0, 1].map((step) => ({ lr, epoch, step, loss: loss(lr, epoch, step), acc: acc(lr, epoch) }))),
      );
      expect(rows).toEqual(expected);
    });

    it("OR, IN, NOT IN, BETWEEN, LIKE and IS NULL", async () => {
      expect((await query("SELECT lr WHERE opt IN ('adam') OR lr = 0.1 ORDER BY lr")).map((r) => r["lr"])).toEqual([0.01, 0.05, 0.1]);
      expect((await query("SELECT lr WHERE opt NOT IN ('adam') ORDER BY lr")).map((r) => r["lr"])).toEqual([0.1]);
      expect((await query("SELECT lr, epoch WHERE note IS NULL ORDER BY lr")).map((r) => [r["lr"], r["epoch"]])).toEqual([
        [0.01, 1],
        [0.05, 1],
        [0.1, 1],
      ]);
      expect((await query("SELECT note WHERE note LIKE 'ep2-%' ORDER BY note")).map((r) => r["note"])).toEqual([
        "ep2-adam",
        "ep2-adam",
        "ep2-sgd",
      ]);
      expect((await query("SELECT lr, acc WHERE acc BETWEEN 0.6 AND 0.66 ORDER BY acc")).map((r) => r["acc"])).toEqual([0.6, 0.61, 0.65]);
      expect((await query("SELECT lr WHERE NOT (lr > 0.02) ORDER BY lr")).map((r) => r["lr"])).toEqual([0.01]);
    });

    it("aggregates with GROUP BY, ORDER BY DESC, LIMIT and OFFSET", async () => {
      const rows = await query(
        "SELECT opt, count(*) AS n, max(acc) AS best, min(loss), first(loss) AS first_loss, last(loss) GROUP BY opt ORDER BY opt",
      );
      expect(rows).toEqual([
        {
          opt: "adam",
          n: 12,
          best: acc(0.05, 2),
          "min(loss)": loss(0.01, 2, 1),
          first_loss: loss(0.01, 0, 0),
          "last(loss)": loss(0.05, 2, 1),
        },
        { opt: "sgd", n: 6, best: acc(0.1, 2), "min(loss)": loss(0.1, 2, 1), first_loss: loss(0.1, 0, 0), "last(loss)": loss(0.1, 2, 1) },
      ]);
      const page = await query("SELECT lr, epoch, acc ORDER BY acc DESC LIMIT 2 OFFSET 1");
      expect(page.map((r) => r["acc"])).toEqual([acc(0.05, 2), acc(0.01, 2)]);
      const avg = await query("SELECT avg(final) AS mean, sum(final) / count(final) AS same");
      expect(avg[0]!["mean"]).toBeCloseTo((10 + 1 + 5) / 3, 10);
      expect(avg[0]!["same"]).toBeCloseTo((10 + 1 + 5) / 3, 10);
    });

    it("treats names and strings as data: SQL in them is inert", async () => {
      const before = await store.db
        .selectFrom("logs")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .executeTakeFirstOrThrow();
      expect(await query("SELECT lr WHERE opt = 'x''; drop table logs; --'")).toEqual([]);
      expect(await query("SELECT `odd'; drop table logs; --` AS odd, lr WHERE lr = 0.1")).toEqual([{ odd: 1, lr: 0.1 }]);
      await expect(query('SELECT `x"; drop table flor.logs; --`')).rejects.toThrow(FlorQLError);
      const after = await store.db
        .selectFrom("logs")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .executeTakeFirstOrThrow();
      expect(after.n).toBe(before.n);
    });

    it("reports names it cannot resolve, with a suggestion, and a dimension no selected value has", async () => {
      await expect(query("SELECT los")).rejects.toMatchObject({ code: "FQL020", hint: "did you mean `loss`?" });
      await expect(query("SELECT acc WHERE step = 1")).rejects.toThrow(/FQL022/);
      await expect(query("SELECT opt, acc GROUP BY opt")).rejects.toThrow(/FQL024/);
      await expect(query("SELECT acc FROM nope.mjs")).rejects.toMatchObject({ code: "FQL025", hint: expect.stringMatching(/train\.mjs/) });
      await expect(query("SELECT acc WHERE tstamp = 5")).rejects.toThrow(
        /FQL026 at line 1, column 27: cannot compare a timestamp with a number/,
      );
    });
  });
}
