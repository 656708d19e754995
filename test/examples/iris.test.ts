import { describe, expect, it } from "vitest";
import { gather, loadIris } from "../../examples/iris/data.js";
import { Mlp, SgdMomentum, type MlpState } from "../../examples/iris/model.js";
import { Rng } from "../../examples/iris/rng.js";
import { noTracking, train, type Tracker } from "../../examples/iris/training.js";

interface Stateful {
  stateDict(): unknown;
  loadStateDict(state: unknown): void;
}

interface Entry {
  /** Index of the enclosing outermost-loop iteration, or null outside it. */
  epoch: number | null;
  name: string;
  value: unknown;
}

interface Resume {
  /** The outermost iteration whose end-of-iteration checkpoint is restored; iterations up to it are skipped. */
  after: number;
  states: Record<string, unknown>;
}

/**
 * Records logs and, like flor, checkpoints the registered objects at the end of every outermost-loop
 * iteration (through structured clone, as flor's v8 serialisation does). Given `resume`, it skips the
 * outermost iterations up to `resume.after` and starts from that checkpoint, or from nothing when
 * `resume.states` is empty.
 */
class Recorder implements Tracker {
  readonly logs: Entry[] = [];
  readonly checkpoints = new Map<number, Record<string, unknown>>();
  private objects: Record<string, Stateful> = {};
  private depth = 0;
  private epoch: number | null = null;
  private readonly resume: Resume | undefined;

  constructor(resume?: Resume) {
    this.resume = resume;
  }

  arg<T extends string | number | boolean>(_name: string, defaultValue: T): T {
    return defaultValue;
  }

  loop(name: string, count: number): Iterable<number>;
  loop<T>(name: string, items: Iterable<T>): Iterable<T>;
  *loop<T>(_name: string, items: number | Iterable<T>): Iterable<T | number> {
    const all: (T | number)[] = typeof items === "number" ? Array.from({ length: items }, (_, i) => i) : [...items];
    const outermost = this.depth === 0;
    this.depth++;
    try {
      for (const [i, item] of all.entries()) {
        if (outermost && this.resume !== undefined && i <= this.resume.after) {
          if (i === this.resume.after) this.restore(this.resume.states);
          continue;
        }
        if (outermost) this.epoch = i;
        yield item;
        if (outermost) this.checkpoints.set(i, this.capture());
      }
    } finally {
      this.depth--;
      if (outermost) this.epoch = null;
    }
  }

  log<T>(name: string, value: T): T {
    this.logs.push({ epoch: this.epoch, name, value });
    return value;
  }

  checkpointing(objects: Record<string, object>): void {
    this.objects = objects as Record<string, Stateful>;
  }

  private capture(): Record<string, unknown> {
    return Object.fromEntries(Object.entries(this.objects).map(([name, o]) => [name, structuredClone(o.stateDict())]));
  }

  private restore(states: Record<string, unknown>): void {
    for (const [name, state] of Object.entries(states)) this.objects[name]!.loadStateDict(structuredClone(state));
  }
}

const losses = (logs: readonly Entry[]): unknown[] => logs.filter((e) => e.name === "loss").map((e) => e.value);

function perturb(state: MlpState): void {
  for (const buffer of Object.values(state)) buffer.fill(7);
}

describe("iris example", () => {
  it("splits 120/30, stratified, with standardised training features", () => {
    const { train: trainSet, test: testSet, classes } = loadIris(42);
    expect([trainSet.size, testSet.size]).toEqual([120, 30]);
    for (let k = 0; k < classes.length; k++) expect(testSet.y.filter((y) => y === k).length).toBe(10);
    for (let f = 0; f < trainSet.features; f++) {
      const column = Array.from({ length: trainSet.size }, (_, i) => trainSet.x[i * trainSet.features + f]!);
      const mean = column.reduce((a, b) => a + b) / column.length;
      const variance = column.reduce((a, b) => a + (b - mean) ** 2, 0) / column.length;
      expect(mean).toBeCloseTo(0, 10);
      expect(variance).toBeCloseTo(1, 10);
    }
  });

  it("reaches test accuracy >= 0.9 with the default args", () => {
    const { testAccuracy, finalLoss } = train(noTracking);
    expect(testAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(finalLoss).toBeLessThan(0.2);
  });

  it("is deterministic: two runs log bit-identical values", () => {
    const a = new Recorder();
    const b = new Recorder();
    expect(train(a)).toEqual(train(b));
    expect(losses(a.logs)).toHaveLength(20 * 8);
    expect(b.logs).toEqual(a.logs);
  });

  it("restores model and optimizer state in place", () => {
    const model = new Mlp({ inputs: 4, hidden: 8, outputs: 3, rng: new Rng(1) });
    const optimizer = new SgdMomentum(model, { lr: 0.05, momentum: 0.9 });
    const { train: trainSet } = loadIris(1);
    const batch = gather(trainSet, [0, 1, 2, 3]);
    optimizer.step(model.backward(model.forward(batch.x, batch.size), batch.y).grads);

    const params = { ...model.params };
    const velocity = { ...optimizer.velocity };
    const modelState = structuredClone(model.stateDict());
    const optimizerState = structuredClone(optimizer.stateDict());
    expect(modelState.w1).not.toBe(model.params.w1);

    optimizer.step(model.backward(model.forward(batch.x, batch.size), batch.y).grads);
    perturb(model.params);
    perturb(optimizer.velocity);
    expect(model.params.w1).not.toEqual(modelState.w1);

    model.loadStateDict(modelState);
    optimizer.loadStateDict(optimizerState);
    for (const name of ["w1", "b1", "w2", "b2"] as const) {
      expect(model.params[name]).toBe(params[name]);
      expect(optimizer.velocity[name]).toBe(velocity[name]);
    }
    expect(model.stateDict()).toEqual(modelState);
    expect(optimizer.stateDict()).toEqual(optimizerState);
    expect(optimizer.stepCount).toBe(1);
  });

  it("rejects a state of the wrong shape without changing anything", () => {
    const model = new Mlp({ inputs: 4, hidden: 8, outputs: 3, rng: new Rng(1) });
    const before = structuredClone(model.stateDict());
    const wider = new Mlp({ inputs: 4, hidden: 9, outputs: 3, rng: new Rng(1) }).stateDict();
    expect(() => model.loadStateDict(wider)).toThrow(/w1 must be a Float64Array of 32 values/);
    expect(model.stateDict()).toEqual(before);
  });

  it("restores the rng so it replays the same sequence", () => {
    const rng = new Rng(42);
    rng.next();
    const state = structuredClone(rng.stateDict());
    const expected = Array.from({ length: 5 }, () => rng.nextUint32());
    rng.next();
    rng.loadStateDict(state);
    expect(Array.from({ length: 5 }, () => rng.nextUint32())).toEqual(expected);
  });

  it("resumed from an end-of-epoch checkpoint, finishes exactly like the uninterrupted run", () => {
    const after = 7;
    const full = new Recorder();
    const fullResult = train(full);
    const resumed = new Recorder({ after, states: full.checkpoints.get(after)! });
    const resumedResult = train(resumed);

    expect(resumedResult).toEqual(fullResult);
    expect(resumed.logs).toEqual(full.logs.filter((e) => e.epoch === null || e.epoch > after));
    expect(losses(resumed.logs)).toHaveLength((20 - after - 1) * 8);

    // Control: skipping the same epochs without restoring the checkpoint trains differently.
    const unrestored = new Recorder({ after, states: {} });
    train(unrestored);
    expect(losses(unrestored.logs)).not.toEqual(losses(resumed.logs));
  });
});
