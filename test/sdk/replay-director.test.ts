import { describe, expect, it } from "vitest";
import { ReplayDirector, ReplayMismatch } from "../../src/sdk/replay-director.js";
import { REPLAY_FORMAT, type ReplaySpec } from "../../src/sdk/replay-spec.js";

const ref = (iteration: number) => ({ iteration, objects: { model: `hash-${iteration}` } });

function spec(overrides: Partial<ReplaySpec>): ReplaySpec {
  return {
    format: REPLAY_FORMAT,
    job: 1,
    task: 1,
    attempt: 1,
    run: { projid: "p", tstamp: "2026-01-01T00:00:00.000Z", filename: "train.mjs", vid: "a".repeat(40) },
    args: {},
    names: ["w"],
    loop: { name: "epoch", iterations: 4 },
    segments: [{ from: 2, to: 4, start: 2, restore: null }],
    before: false,
    after: false,
    final: null,
    journal: "/dev/null",
    objectsDir: "/nonexistent",
    ...overrides,
  };
}

describe("the replay director, for iterations that skip their inner loops", () => {
  it("loads the iteration's end state at its first inner loop, skips the rest, and journals only the proven names there", () => {
    const director = new ReplayDirector(spec({ suffix: { names: ["w", "val"], states: [ref(2)] } }));
    expect(director.claims("epoch")).toBe(true);
    expect(director.next(0)).toEqual({ kind: "skip" });
    expect(director.next(1)).toEqual({ kind: "skip" });
    expect(director.next(2)).toEqual({ kind: "run", restore: null });
    expect(director.innerLoop()).toEqual({ restore: ref(2) });
    expect(director.innerLoop()).toEqual({ restore: null });
    expect(director.responsible("w")).toBe(true);
    expect(director.responsible("val")).toBe(true);
    expect(director.responsible("loss")).toBe(false);
    expect(director.iterationEnded()).toEqual(ref(2));
    // Iteration 3 runs in full: its inner loops run and everything in it is journaled.
    expect(director.next(3)).toEqual({ kind: "run", restore: null });
    expect(director.innerLoop()).toBeNull();
    expect(director.responsible("loss")).toBe(true);
    expect(director.iterationEnded()).toBeNull();
  });

  it("refuses an iteration planned without its inner loops that opens none", () => {
    const director = new ReplayDirector(spec({ suffix: { names: ["w"], states: [ref(2)] } }));
    director.claims("epoch");
    director.next(2);
    expect(() => director.iterationEnded()).toThrow(ReplayMismatch);
  });

  it("runs every loop when the spec has no such iterations (as specs written before them)", () => {
    const director = new ReplayDirector(spec({}));
    director.claims("epoch");
    director.next(2);
    expect(director.innerLoop()).toBeNull();
    expect(director.iterationEnded()).toBeNull();
    expect(director.responsible("anything")).toBe(true);
  });
});
