import { describe, expect, it } from "vitest";
import { CheckpointPolicy } from "../../src/checkpoints/checkpoint-policy.js";

describe("the checkpoint policy", () => {
  it("checkpoints every iteration without a bound", () => {
    const policy = new CheckpointPolicy();
    for (let i = 1; i <= 3; i++) {
      expect(policy.decide(undefined, i * 10, 0, 1000)).toBe(true);
      policy.took(50);
    }
    expect(policy.record(undefined, 1000)).toEqual({ k: "ckpolicy", max: null, taken: 3, skipped: 0, fg: 0.15, bg: 1, loop: 0.03 });
  });

  it("charges both threads' time, and keeps room for one more", () => {
    const policy = new CheckpointPolicy();
    // 50 ms epochs; a checkpoint costs 0.1 ms to capture and 1.9 ms to store: 2 ms end to end.
    const decisions: boolean[] = [];
    let background = 0;
    for (let epoch = 1; epoch <= 20; epoch++) {
      const take = policy.decide(0.01, epoch * 50, 0, background);
      decisions.push(take);
      if (take) {
        policy.took(0.1);
        background += 1.9;
      }
    }
    // The first at once (its cost is not known yet); then each when 1 % of the loop pays for it and one more.
    expect(decisions.flatMap((take, i) => (take ? [i] : []))).toEqual([0, 11, 15, 19]);
    const record = policy.record(0.01, background);
    expect(record).toMatchObject({ max: 0.01, taken: 4, skipped: 16, loop: 1 });
    expect((record.fg + record.bg) / record.loop).toBeLessThanOrEqual(0.01);
  });

  it("counts the final checkpoint, taken whatever the bound says, as taken rather than skipped", () => {
    const policy = new CheckpointPolicy();
    expect(policy.decide(0.001, 10, 0, 0)).toBe(true);
    policy.took(1);
    expect(policy.decide(0.001, 20, 0, 5)).toBe(false);
    policy.took(1, true);
    expect(policy.record(0.001, 10)).toMatchObject({ taken: 2, skipped: 0 });
  });
});
