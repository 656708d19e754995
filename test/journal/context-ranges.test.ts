import { readdirSync, rmSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContextRanges, withExplicitContexts } from "../../src/journal/context-ranges.js";
import type { ContextRecord, JournalRecord } from "../../src/journal/records.js";
import { layoutFor } from "../../src/project-layout.js";
import { Flor } from "../../src/sdk/flor.js";
import { readJournal } from "../helpers/journal.js";
import { TestRepo } from "../helpers/repo.js";

const ctx = (id: number, p: number | null, n: string, i: number, v?: string | number | boolean): ContextRecord =>
  v === undefined ? { k: "ctx", id, p, n, i } : { k: "ctx", id, p, n, i, v };

describe("context ranges", () => {
  it("merge continuations into one range, in either format, and tell each id's iteration", () => {
    for (const format of [1, 2] as const) {
      const ranges = new ContextRanges(format);
      for (const record of [ctx(1, null, "epoch", 0), ctx(2, 1, "step", 0), ctx(3, 1, "step", 1), ctx(4, 1, "step", 2)])
        ranges.open(record);
      const steps = ranges.resolve(3)!;
      expect([steps.id, steps.count, steps.i, steps.keys, steps.outer]).toEqual([2, 3, 0, ["epoch", "step"], { epoch: 0 }]);
      // A new execution of the loop, a valued iteration and a jump in the index each start a range.
      expect(ranges.open(ctx(5, 1, "step", 0))).toMatchObject({ fresh: true });
      expect(ranges.open(ctx(6, 1, "step", 1, "x"))).toMatchObject({ fresh: true });
      expect(ranges.open(ctx(7, 1, "step", 2))).toMatchObject({ fresh: true });
      expect(ranges.open(ctx(8, 1, "step", 4))).toMatchObject({ fresh: true });
      expect(ranges.resolve(6)).toMatchObject({ v: "x", count: 1, keys: ["epoch", "step", "step_value"] });
    }
  });

  it("imply, in format 2 only, the contexts past the latest one as its continuations", () => {
    const two = new ContextRanges(2);
    two.open(ctx(1, null, "epoch", 0));
    two.open(ctx(2, 1, "step", 0));
    expect(two.resolve(50)).toMatchObject({ id: 2, count: 49, n: "step" });
    // A ctx record past a gap: the gap continued the latest range.
    two.open(ctx(60, null, "epoch", 1));
    expect(two.resolve(59)).toMatchObject({ id: 2, count: 58 });
    const one = new ContextRanges(1);
    one.open(ctx(1, null, "epoch", 0));
    expect(one.resolve(2)).toBeUndefined();
    expect(one.open(ctx(3, 2, "step", 0))).toBe('loop "step" is nested in context 2, which the journal never opened');
  });

  it("imply nothing after an unreadable line until the next ctx record, and refuse ids that go back", () => {
    const ranges = new ContextRanges(2);
    ranges.open(ctx(1, null, "epoch", 0));
    ranges.lostTrack();
    expect(ranges.resolve(2)).toBeUndefined();
    ranges.open(ctx(5, 1, "step", 0));
    expect(ranges.resolve(7)).toMatchObject({ id: 5, count: 3 });
    expect(ranges.open(ctx(6, 1, "step", 1))).toBe('loop "step" opens context 6, which is not after the latest context 7');
  });

  it("do not nest a loop in an implied context after an unreadable line that may have been its parent's", () => {
    // Epoch 1's steps are contexts 2-5; epoch 2's own ctx record (context 6) was unreadable.
    const ranges = new ContextRanges(2);
    ranges.open(ctx(1, null, "epoch", 0));
    ranges.open(ctx(2, 1, "step", 0));
    expect(ranges.resolve(5)).toMatchObject({ id: 2, count: 4 });
    ranges.lostTrack();
    // The soak found epoch 2's steps nested in epoch 1's step range (values at a wrong epoch).
    expect(ranges.open(ctx(7, 6, "step", 0))).toBe('loop "step" is nested in context 6, which the journal never opened');
    expect(ranges.open(ctx(57, null, "epoch", 2))).toMatchObject({ fresh: true });
  });

  it("forget old ranges but keep the ones that enclose the latest context", () => {
    const ranges = new ContextRanges(2);
    ranges.open(ctx(1, null, "outer", 0));
    for (let id = 2; id < 100; id++) ranges.open(ctx(id, 1, "item", id - 2, id));
    ranges.forget(5);
    expect(ranges.find(1)).toMatchObject({ n: "outer" });
    expect(ranges.find(50)).toBeUndefined();
    expect(ranges.find(99)).toMatchObject({ v: 99 });
    expect(ranges.open(ctx(100, 1, "item", 98, 100))).toMatchObject({ fresh: true });
  });
});

/** A training script's loops, as data: what fast-check draws. */
type Statement = { log: string } | { loop: string; items: number | (string | number | { o: number })[]; body: Statement[]; stop?: number };

const statement: fc.Memo<Statement> = fc.memo((depth) =>
  depth <= 1
    ? fc.record({ log: fc.constantFrom("a", "b") })
    : fc.oneof(
        { weight: 2, arbitrary: fc.record({ log: fc.constantFrom("a", "b") }) },
        {
          weight: 3,
          arbitrary: fc.record(
            {
              loop: fc.constantFrom("epoch", "step", "batch"),
              items: fc.oneof(
                fc.nat(4),
                fc.array(fc.oneof(fc.constantFrom("x", "y"), fc.nat(3), fc.record({ o: fc.nat(2) })), { maxLength: 4 }),
              ),
              body: fc.array(statement(depth - 1), { maxLength: 3 }),
              stop: fc.nat(4),
            },
            { requiredKeys: ["loop", "items", "body"] },
          ),
        },
      ),
);

describe("the SDK's format-2 journal", () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = TestRepo.create({ "train.mjs": "" });
  });
  afterAll(() => repo.remove());

  it("implies exactly the contexts the run went through, whatever its loops", () => {
    fc.assert(
      fc.property(fc.array(statement(3), { maxLength: 4 }), (program) => {
        rmSync(layoutFor(repo.dir).florDir, { recursive: true, force: true });
        const flor = new Flor({ script: path.join(repo.dir, "train.mjs"), argv: [], autoCommit: false });
        flor.arg("seed", 1); // starts the run, even for a program without loops or logs
        // What format 1 would have written: a context per iteration, in execution order, and where each value was logged.
        const contexts: ContextRecord[] = [];
        const logged: [string, number | null][] = [];
        const run = (statements: Statement[], parent: number | null): void => {
          for (const s of statements) {
            if ("log" in s) {
              flor.log(s.log, 1);
              logged.push([s.log, parent]);
              continue;
            }
            let index = 0;
            for (const item of flor.loop(s.loop, s.items as Iterable<unknown>)) {
              const id = contexts.length + 1;
              const scalar = typeof item === "string" || typeof item === "number";
              contexts.push(ctx(id, parent, s.loop, index, typeof s.items !== "number" && scalar ? (item as string | number) : undefined));
              run(s.body, id);
              if (s.stop === index++) break;
            }
          }
        };
        run(program, null);
        flor.commit();
        const dir = layoutFor(repo.dir).journalsDir;
        const records: JournalRecord[] = readJournal(path.join(dir, readdirSync(dir)[0]!));
        const explicit = withExplicitContexts(records, 2);
        expect(explicit.filter((r) => r.k === "ctx")).toEqual(contexts);
        expect(explicit.flatMap((r) => (r.k === "log" ? [[r.n, r.c]] : []))).toEqual(logged);
        // Format 2 writes a ctx record only where an iteration does not continue the latest context.
        expect(records.filter((r) => r.k === "ctx").length).toBeLessThanOrEqual(contexts.length);
      }),
      { numRuns: 40 },
    );
  });
});
