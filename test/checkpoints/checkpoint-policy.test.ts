import { describe, expect, it } from "vitest";
import { type CheckpointCosts, CheckpointPolicy, type ThreadCost } from "../../src/checkpoints/checkpoint-policy.js";

const MiB = 2 ** 20;

/**
 * A loop of `epochs` epochs of `epochMs` under `maxOverhead`, where a checkpoint costs the training thread
 * `captureMs` and the checkpoint thread `storeMs`, and the thread's start costs `startMs` (null: not
 * measured, as off Linux). Returns the epochs checkpointed, how often the state was sized, and the record.
 */
function simulate(options: {
  maxOverhead: number;
  epochs: number;
  epochMs: number;
  stateBytes: number;
  captureMs: number;
  storeMs: number;
  startMs: number | null;
}) {
  const policy = new CheckpointPolicy();
  let thread = null as ThreadCost | null;
  let sized = 0;
  const costs: CheckpointCosts = {
    thread: () => thread,
    stateBytes: () => {
      sized++;
      return options.stateBytes;
    },
  };
  const taken: number[] = [];
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    if (!policy.decide(options.maxOverhead, (epoch + 1) * options.epochMs, 0, costs)) continue;
    taken.push(epoch);
    policy.took(options.captureMs);
    thread = { startMs: options.startMs, workMs: (thread?.workMs ?? 0) + options.storeMs };
  }
  return { taken, sized, record: policy.record(options.maxOverhead, thread) };
}

describe("the checkpoint policy", () => {
  it("checkpoints every iteration without a bound, and asks for no costs", () => {
    const policy = new CheckpointPolicy();
    const costs: CheckpointCosts = {
      thread: () => expect.unreachable("no bound: the thread's cost is not read"),
      stateBytes: () => expect.unreachable("no bound: the state is not sized"),
    };
    for (let i = 1; i <= 3; i++) {
      expect(policy.decide(undefined, i * 10, 0, costs)).toBe(true);
      policy.took(50);
    }
    expect(policy.record(undefined, { startMs: 30, workMs: 1000 })).toEqual({
      k: "ckpolicy",
      max: null,
      taken: 3,
      skipped: 0,
      fg: 0.15,
      bg: 1.03,
      loop: 0.03,
    });
  });

  it("takes no checkpoint in a loop too short to pay for starting the checkpoint thread, nor sizes its state", () => {
    // Issue 19's loop: 20 epochs of 54 ms, 1 MB, 1 %: 10.8 ms of budget against a 30 ms thread start.
    const { taken, sized, record } = simulate({
      maxOverhead: 0.01,
      epochs: 20,
      epochMs: 54,
      stateBytes: MiB,
      captureMs: 0.3,
      storeMs: 1.5,
      startMs: 28,
    });
    expect(taken).toEqual([]);
    expect(sized).toBe(0);
    expect(record).toMatchObject({ max: 0.01, taken: 0, skipped: 20, fg: 0, bg: 0 });
  });

  it("takes the first checkpoint once the loop pays for the thread's start and two checkpoints, then keeps to the bound as measured", () => {
    // 1 MiB is estimated at 2.5 ms: the first needs 30 + 2 × 2.5 ms, 1 % of 3.5 s (the 32nd epoch's end).
    const { taken, sized, record } = simulate({
      maxOverhead: 0.01,
      epochs: 100,
      epochMs: 110,
      stateBytes: MiB,
      captureMs: 0.5,
      storeMs: 3.5,
      startMs: 28,
    });
    expect(taken[0]).toBe(31);
    expect(sized).toBe(1);
    // Then at 4 ms each as measured (28 ms start): the second when 1 % of the loop covers 32 ms spent, it
    // and the final one (4 s, the 37th epoch's end), then one every 4 ms of budget, 400 ms of loop.
    expect(taken[1]).toBe(36);
    expect(taken.slice(2).map((epoch, i) => epoch - taken[i + 1]!)).toSatisfy((gaps: number[]) =>
      gaps.every((gap) => gap === 3 || gap === 4),
    );
    expect(record).toMatchObject({ taken: 19, skipped: 81, bg: 0.0945, loop: 11 });
    expect(record.fg).toBeCloseTo(0.0095, 4); // the captures, and the sizing
    expect((record.fg + record.bg) / record.loop).toBeLessThanOrEqual(0.01);
  });

  it("sizes a large state before its first checkpoint, which then waits for a budget that covers it", () => {
    // 100 MiB at 2.5 ms per MiB: 30 + 2 × 250 ms, 1 % of 53 s (the 49th epoch's end).
    const { taken, sized } = simulate({
      maxOverhead: 0.01,
      epochs: 55,
      epochMs: 1100,
      stateBytes: 100 * MiB,
      captureMs: 20,
      storeMs: 230,
      startMs: 28,
    });
    expect(taken).toEqual([48]);
    expect(sized).toBe(1);
  });

  it("charges an unmeasured thread start (off Linux) as estimated", () => {
    const policy = new CheckpointPolicy();
    policy.took(1);
    const costs = (startMs: number | null): CheckpointCosts => ({
      thread: () => ({ startMs, workMs: 1 }),
      stateBytes: () => MiB,
    });
    // Spent: 1 + 1 ms and the start, 30 ms estimated or 5 ms measured; then one more and the final at 2 ms each.
    expect(policy.decide(0.01, 3500, 0, costs(null))).toBe(false);
    expect(policy.decide(0.01, 3600, 0, costs(null))).toBe(true);
    const measured = new CheckpointPolicy();
    measured.took(1);
    expect(measured.decide(0.01, 1000, 0, costs(5))).toBe(false);
    expect(measured.decide(0.01, 1100, 0, costs(5))).toBe(true);
  });

  it("counts the final checkpoint, taken whatever the bound says, as taken rather than skipped", () => {
    const policy = new CheckpointPolicy();
    const costs: CheckpointCosts = { thread: () => null, stateBytes: () => MiB };
    expect(policy.decide(0.001, 10, 0, costs)).toBe(false);
    expect(policy.decide(0.001, 20, 0, costs)).toBe(false);
    policy.took(1, true);
    expect(policy.record(0.001, { startMs: 28, workMs: 2 })).toMatchObject({ taken: 1, skipped: 1, fg: 0.001, bg: 0.03 });
  });
});
