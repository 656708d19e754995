import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Flor } from "../../src/sdk/flor.js";
import { ObjectStore } from "../../src/checkpoints/object-store.js";
import { restoreState } from "../../src/checkpoints/object-state.js";
import { layoutFor } from "../../src/project-layout.js";
import type { JournalRecord } from "../../src/journal/records.js";
import { encodeRecord } from "../../src/journal/encode.js";
import { TestRepo } from "../helpers/repo.js";
import { readContexts, readJournal } from "../helpers/journal.js";

class Model {
  readonly weights = new Float64Array([1, 2, 3]);
  readonly bias = { value: 0.5 };
  stateDict() {
    return { weights: Float64Array.from(this.weights), bias: this.bias.value };
  }
  loadStateDict(state: { weights: Float64Array; bias: number }) {
    this.weights.set(state.weights);
    this.bias.value = state.bias;
  }
}

function journal(repo: TestRepo): JournalRecord[] {
  const dir = layoutFor(repo.dir).journalsDir;
  const [file] = readdirSync(dir);
  return readContexts(path.join(dir, file!));
}

describe("the SDK in process", () => {
  let repo: TestRepo;
  afterEach(() => repo.remove());

  const florIn = (argv: string[] = []): Flor => new Flor({ script: path.join(repo.dir, "train.mjs"), argv, autoCommit: false });

  it("identifies the run and journals args, contexts, logs and the end", async () => {
    repo = TestRepo.create({ "train.mjs": "// the script\n" });
    const flor = florIn(["--kwargs", "lr=0.5"]);
    expect(flor.arg("lr", 0.1)).toBe(0.5);
    expect(flor.arg("lr", 0.1)).toBe(0.5);
    const seen: string[] = [];
    for (const phase of flor.loop("phase", ["a", "b"])) {
      for (const k of flor.loop("k", 2)) seen.push(`${phase}${flor.log("k2", k * 2)}`);
    }
    const run = flor.run!;
    expect(run).toMatchObject({ projid: path.basename(repo.dir), filename: "train.mjs", vid: repo.git("rev-parse", "HEAD") });
    await flor.commit();
    expect(flor.run).toBeNull();
    expect(seen).toEqual(["a0", "a2", "b0", "b2"]);
    const records = journal(repo);
    expect(records[0]).toMatchObject({ k: "run", tstamp: run.tstamp, argv: ["--kwargs", "lr=0.5"] });
    expect(records.filter((r) => r.k === "arg")).toEqual([{ k: "arg", n: "lr", v: 0.5, src: "kwargs" }]);
    expect(records.filter((r) => r.k === "ctx").map((r) => r.k === "ctx" && [r.n, r.i, r.p, r.v])).toEqual([
      ["phase", 0, null, "a"],
      ["k", 0, 1, undefined],
      ["k", 1, 1, undefined],
      ["phase", 1, null, "b"],
      ["k", 0, 4, undefined],
      ["k", 1, 4, undefined],
    ]);
    expect(records.filter((r) => r.k === "log").map((r) => r.k === "log" && [r.c, r.v])).toEqual([
      [2, 0],
      [3, 2],
      [5, 0],
      [6, 2],
    ]);
    expect(records.at(-1)).toMatchObject({ k: "end", status: "ok" });
  });

  it("checkpoints registered objects at the end of each outermost iteration, and they restore in place", async () => {
    repo = TestRepo.create({ "train.mjs": "" });
    const flor = florIn();
    const model = new Model();
    const plain = { step: 0, seen: [] as number[], table: new Map<string, number>(), buffer: new Float32Array(2) };
    flor.checkpointing({ model, plain });
    for (const epoch of flor.loop("epoch", 3)) {
      for (const step of flor.loop("step", 2)) {
        model.weights[0] = model.weights[0]! + 1;
        plain.step++;
        plain.buffer[step] = epoch;
      }
      model.bias.value = epoch;
      plain.seen.push(epoch);
      plain.table.set(`e${epoch}`, epoch * 10);
    }
    await flor.commit();
    const checkpoints = journal(repo).filter((r) => r.k === "ckpt");
    expect(checkpoints).toHaveLength(3);
    const after = checkpoints[1]!;
    if (after.k !== "ckpt") throw new Error("unreachable");
    expect(after.b).toBeGreaterThan(0);

    // Restore epoch 1's state into the objects that have moved on; references to them stay valid.
    const store = new ObjectStore(layoutFor(repo.dir).objectsDir);
    const weights = model.weights;
    const seen = plain.seen;
    const table = plain.table;
    restoreState(model, store.get(after.o["model"]!));
    restoreState(plain, store.get(after.o["plain"]!));
    expect(model.weights).toBe(weights);
    expect([...model.weights]).toEqual([5, 2, 3]);
    expect(model.bias.value).toBe(1);
    expect(plain.seen).toBe(seen);
    expect(plain).toEqual({
      step: 4,
      seen: [0, 1],
      table: new Map([
        ["e0", 0],
        ["e1", 10],
      ]),
      buffer: new Float32Array([1, 1]),
    });
    expect(plain.table).toBe(table);
  });

  it("stores identical checkpoints once", async () => {
    repo = TestRepo.create({ "train.mjs": "" });
    const flor = florIn();
    flor.checkpointing({ frozen: { weights: new Float64Array(1000) } });
    for (const _ of flor.loop("epoch", 4)) flor.log("x", 1);
    await flor.commit();
    const written = journal(repo).flatMap((r) => (r.k === "ckpt" ? [r.w] : []));
    expect(written).toEqual([written[0], 0, 0, 0]);
    expect(written[0]).toBeGreaterThan(8000);
  });

  it("bounds checkpoint overhead when asked, and always checkpoints the last iteration", async () => {
    repo = TestRepo.create({ "train.mjs": "" });
    const busy = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const sparse = florIn();
    sparse.checkpointing({ state: { weights: new Float64Array(50_000) } }, { maxOverhead: 1e-6 });
    for (const _ of sparse.loop("epoch", 5)) busy(1);
    await sparse.commit();
    const generous = florIn();
    generous.checkpointing({ state: { weights: new Float64Array(10) } }, { maxOverhead: 1 });
    for (const _ of generous.loop("epoch", 5)) busy(50); // each epoch pays for a checkpoint, even the first for the thread's start
    await generous.commit();

    const dir = layoutFor(repo.dir).journalsDir;
    const checkpointed = readdirSync(dir)
      .sort()
      .map((file) => {
        const records = readContexts(path.join(dir, file));
        const iterations = new Map(records.flatMap((r) => (r.k === "ctx" ? [[r.id, r.i] as const] : [])));
        return records.flatMap((r) => (r.k === "ckpt" ? [iterations.get(r.c)] : []));
      });
    // The bound affords no checkpoint (nor the checkpoint thread's start) in 5 ms of loop: only the final state.
    expect(checkpointed).toEqual([[4], [0, 1, 2, 3, 4]]);
    // What the policy decided is recorded, with what checkpoints cost on both threads.
    const policies = readdirSync(dir)
      .sort()
      .map((file) => readJournal(path.join(dir, file)).find((r) => r.k === "ckpolicy"));
    expect(policies).toEqual([
      { k: "ckpolicy", max: 1e-6, taken: 1, skipped: 4, fg: expect.any(Number), bg: expect.any(Number), loop: expect.any(Number) },
      { k: "ckpolicy", max: 1, taken: 5, skipped: 0, fg: expect.any(Number), bg: expect.any(Number), loop: expect.any(Number) },
    ]);
    for (const policy of policies)
      expect(policy).toMatchObject({ fg: expect.toSatisfy((s: number) => s > 0), bg: expect.toSatisfy((s: number) => s > 0) });
    expect(policies[1]!.k === "ckpolicy" && policies[1]!.loop).toBeGreaterThanOrEqual(0.08);
    expect(() => sparse.checkpointing({}, { maxOverhead: 2 })).toThrow("maxOverhead must be a fraction in (0, 1]");
  });

  it("stops checkpointing, with one warning, when the state turns uncheckpointable later; the training goes on", async () => {
    repo = TestRepo.create({ "train.mjs": "" });
    const flor = florIn();
    const state: Record<string, unknown> = { step: 0 };
    flor.checkpointing({ state });
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      for (const epoch of flor.loop("epoch", 4)) {
        state["step"] = epoch;
        if (epoch === 1) state["callback"] = () => epoch;
        flor.log("step", epoch);
      }
      await flor.commit();
      expect(stderr.mock.calls.map(([text]) => String(text))).toEqual([
        expect.stringMatching(
          /^flor: warning: no more checkpoints in this run \(replay starts from the earlier ones\): "state" cannot be serialised: /,
        ),
      ]);
    } finally {
      stderr.mockRestore();
    }
    const records = journal(repo);
    expect(records.filter((r) => r.k === "ckpt").map((r) => r.k === "ckpt" && r.c)).toEqual([1]);
    expect(records.filter((r) => r.k === "ckcheck")).toEqual([{ k: "ckcheck", c: 1, ok: true }]);
    expect(records.filter((r) => r.k === "log")).toHaveLength(4);
    expect(records.at(-1)).toMatchObject({ k: "end", status: "ok" });
  });

  it("refuses bad names and values with messages that say which call", () => {
    repo = TestRepo.create({ "train.mjs": "" });
    const flor = florIn();
    expect(() => flor.log("f", () => 1)).toThrow('flor.log("f", value): a function cannot be logged');
    expect(() => flor.loop("epoch", -1)).toThrow("count must be a non-negative integer");
    expect(() => flor.checkpointing({ model: 3 as unknown as object })).toThrow('"model" must be an object');
    const circular: Record<string, unknown> = {};
    circular["self"] = circular;
    expect(() => flor.log("c", circular)).toThrow(/flor\.log\("c", value\): .*circular/);
    expect(() => flor.checkpointing({ handler: { run: () => 1 } })).toThrow(/"handler"\.run is a function, which cannot be checkpointed/);
  });

  it("writes every record as the journal codec spells it, checkpoints from their thread included", async () => {
    repo = TestRepo.create({ "train.mjs": "" });
    const flor = florIn(["--kwargs", "lr=0.5"]);
    flor.arg("lr", 0.1);
    flor.arg("cfg", { depth: [1, 2] });
    flor.log("start", 'a "quoted" name');
    flor.checkpointing({ model: new Model() });
    for (const epoch of flor.loop("epoch", 2)) {
      for (const item of flor.loop("batch", ["a", 1, true, { id: 1 }])) flor.log("loss", epoch === 0 ? NaN : item);
      flor.log("inf", -Infinity);
    }
    for (const _ of flor.loop("cut", 3)) break;
    await flor.commit();
    const dir = layoutFor(repo.dir).journalsDir;
    const [file] = readdirSync(dir);
    const lines = readFileSync(path.join(dir, file!), "utf8").split(/(?<=\n)/);
    const records = readJournal(path.join(dir, file!));
    expect(records.map(encodeRecord)).toEqual(lines);
    expect(new Set(records.map((r) => r.k))).toEqual(
      new Set(["run", "arg", "log", "ctx", "its", "loop", "ckpt", "ckcheck", "ckpolicy", "end"]),
    );
  });

  it("says where it needs a git repository", () => {
    repo = TestRepo.create();
    const flor = new Flor({ script: "/tmp/not-a-repo-script.mjs", autoCommit: false });
    expect(() => flor.log("x", 1)).toThrow(/is not inside a git repository/);
  });
});
