import { describe, expect, it } from "vitest";
import type { StoredRange } from "../../src/store/queries/loop-ranges.js";
import { RecordedContexts } from "../../src/store/recorded-contexts.js";

interface Context {
  id: number;
  parent: number | null;
  name: string;
  iteration: number;
}

/** Contexts in execution order (ids as the SDK gives them): 3 epochs of 5,000 steps, whose step 2 runs a 3-iteration inner loop, then an eval loop of 2. */
function execute(): Context[] {
  const contexts: Context[] = [];
  const open = (parent: number | null, name: string, iteration: number): number => {
    contexts.push({ id: contexts.length + 1, parent, name, iteration });
    return contexts.length;
  };
  for (let epoch = 0; epoch < 3; epoch++) {
    const e = open(null, "epoch", epoch);
    for (let step = 0; step < 5000; step++) {
      const s = open(e, "step", step);
      if (step === 2) for (let k = 0; k < 3; k++) open(s, "inner", k);
    }
  }
  for (let i = 0; i < 2; i++) open(null, "eval", i);
  return contexts;
}

/** Ranges as ingest stores them: consecutive contexts of one loop execution, cut at multiples of 4096. */
function ranges(contexts: Context[]): StoredRange[] {
  const out: StoredRange[] = [];
  for (const c of contexts) {
    const last = out.at(-1);
    const lastId = last === undefined ? -1 : last.ctx_id + last.count - 1;
    if (
      last !== undefined &&
      lastId === c.id - 1 &&
      last.parent_ctx_id === c.parent &&
      last.name === c.name &&
      last.iteration + last.count === c.iteration &&
      Math.floor(last.ctx_id / 4096) === Math.floor(c.id / 4096)
    ) {
      last.count++;
    } else {
      out.push({
        ctx_id: c.id,
        count: 1,
        parent_ctx_id: c.parent,
        name: c.name,
        iteration: c.iteration,
        value: null,
        depth: 0,
        outer_dims: {},
      });
    }
  }
  return out;
}

describe("RecordedContexts", () => {
  const contexts = execute();
  const stored = ranges(contexts);
  const recorded = new RecordedContexts([...stored].reverse());

  it("answers for every context from the ranges alone, as the expanded contexts would", () => {
    expect(stored.length).toBeLessThan(30);
    const children = new Map<number | null, number[]>();
    for (const c of contexts) {
      expect(recorded.get(c.id)).toMatchObject({ name: c.name, iteration: c.iteration, parent: c.parent });
      children.set(c.parent, [...(children.get(c.parent) ?? []), c.id]);
    }
    for (const [parent, ids] of children) {
      expect(ids.map((_, k) => recorded.child(parent, k))).toEqual(ids);
      expect(recorded.child(parent, ids.length)).toBeUndefined();
    }
    expect(recorded.get(0)).toBeUndefined();
    expect(recorded.get(contexts.length + 1)).toBeUndefined();
  });

  it("finds top-level iterations and the ids their nested contexts can have", () => {
    const epochs = contexts.filter((c) => c.name === "epoch").map((c) => c.id);
    expect(epochs.map((_, i) => recorded.top("epoch", i))).toEqual(epochs);
    expect(recorded.top("epoch", 3)).toBeUndefined();
    const evals = contexts.filter((c) => c.name === "eval").map((c) => c.id);
    expect(recorded.top("eval", 1)).toBe(evals[1]);
    expect(recorded.subtree(epochs[0]!)).toEqual([epochs[0]! + 1, epochs[1]! - 1]);
    expect(recorded.subtree(epochs[2]!)).toEqual([epochs[2]! + 1, evals[0]! - 1]);
    expect(recorded.subtree(evals[0]!)).toBeNull();
    // The last one: whatever comes after it.
    expect(recorded.subtree(evals[1]!)).toEqual([evals[1]! + 1, 2 ** 31 - 1]);
  });
});
