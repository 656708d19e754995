import { describe, expect, it } from "vitest";
import { chartPlan, loopPositions, seriesOf } from "../../web/dashboard/series.js";

describe("series of an answer", () => {
  it("places per-step values inside their epoch and per-epoch values on the integers", () => {
    const steps = [0, 1, 2, 3].flatMap((step) => [{ epoch: 0, step }]).concat([0, 1].map((step) => ({ epoch: 1, step })));
    expect(Array.from(loopPositions(steps, ["epoch", "step"]))).toEqual([0, 0.25, 0.5, 0.75, 1, 1.5]);
    expect(Array.from(loopPositions([{ epoch: 3 }, { epoch: 4 }], ["epoch"]))).toEqual([3, 4]);
    expect(Array.from(loopPositions([{}, {}, {}], []))).toEqual([0, 1, 2]);
  });

  it("draws one curve per run over the loop columns, sorted, and leaves run columns and verification marks out", () => {
    const depth = new Map([
      ["epoch", 0],
      ["step", 1],
    ]);
    const columns = ["tstamp", "vid", "step", "epoch", "loss", "loss__verified", "note"];
    const rows = [
      { tstamp: "t2", vid: "b", epoch: 1, step: 0, loss: 0.5, loss__verified: true, note: "x" },
      { tstamp: "t1", vid: "a", epoch: 1, step: 0, loss: 0.7, loss__verified: true, note: "x" },
      { tstamp: "t1", vid: "a", epoch: 0, step: 0, loss: 0.9, loss__verified: true, note: "x" },
      { tstamp: "t2", vid: "b", epoch: 0, step: 0, loss: null, loss__verified: null, note: "x" },
    ];
    const plan = chartPlan(columns, rows, depth);
    expect(plan).toEqual({ dims: ["epoch", "step"], measures: ["loss"], runKey: ["tstamp"] });
    const series = seriesOf(plan, rows, "loss", (row) => ({ label: String(row["tstamp"]), group: String(row["vid"]) }));
    expect(series.map((s) => [s.label, s.group, Array.from(s.xs), Array.from(s.ys)])).toEqual([
      ["t2", "b", [1], [0.5]],
      ["t1", "a", [0, 1], [0.9, 0.7]],
    ]);
  });
});
