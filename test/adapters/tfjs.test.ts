import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { deserialize } from "node:v8";
import { tfjsState, type TfjsStateDict } from "../../src/adapters/tfjs.js";
import { captureState, restoreState } from "../../src/checkpoints/object-state.js";

// Small fixed data: 12 examples of 4 features, 3 classes.
const X = tf.tensor2d(
  Array.from({ length: 48 }, (_, i) => Math.sin(i * 1.7) * 2),
  [12, 4],
);
const Y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 2, 1], "int32"), 3);

const OPTIMIZERS: Record<string, () => tf.Optimizer> = {
  sgd: () => tf.train.sgd(0.1),
  momentum: () => tf.train.momentum(0.05, 0.9, true),
  adam: () => tf.train.adam(0.01),
  adamax: () => tf.train.adamax(0.01, 0.9, 0.999, undefined, 0.01),
  rmsprop: () => tf.train.rmsprop(0.01, 0.9, 0.5, undefined, true),
  adagrad: () => tf.train.adagrad(0.1),
  adadelta: () => tf.train.adadelta(1, 0.9),
};

function compiledModel(optimizer: tf.Optimizer, seed: number): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [4], units: 5, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
  model.compile({ optimizer, loss: "categoricalCrossentropy" });
  return model;
}

async function train(model: tf.LayersModel, steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) await model.trainOnBatch(X, Y);
}

const weightsOf = (model: tf.LayersModel): Float32Array[] => model.getWeights().map((w) => w.dataSync() as Float32Array);

describe("tfjsState", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });

  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`restores the model and the ${name} optimizer so training goes on bit for bit`, async () => {
      const model = compiledModel(make(), 1);
      const state = tfjsState(model);
      await train(model, 3);
      const saved = captureState("model", state);
      await train(model, 3);
      const expected = weightsOf(model);

      // Into a fresh model and optimizer, which have never stepped (their slots do not exist yet).
      const freshModel = compiledModel(make(), 99);
      const freshState = tfjsState(freshModel);
      restoreState(freshState, saved);
      const savedOptimizer = (deserialize(saved) as TfjsStateDict).optimizer!;
      expect(freshState.stateDict().optimizer).toEqual(savedOptimizer);
      expect(savedOptimizer.iterations).toBe(3);
      await train(freshModel, 3);
      expect(weightsOf(freshModel)).toEqual(expected);

      // Into the original, whose slots exist and have moved on: same again, and no tensor leaks.
      const tensors = tf.memory().numTensors;
      restoreState(state, saved);
      expect(tf.memory().numTensors).toBe(tensors);
      await train(model, 3);
      expect(weightsOf(model)).toEqual(expected);

      // Control: the checkpoint's weights with an optimizer that has forgotten its state train differently,
      // except with SGD (no state but its step count) and tfjs's Adadelta, whose two accumulators stay
      // equal, so that its step is the gradient times the learning rate whatever its state.
      const control = compiledModel(make(), 99);
      restoreState(tfjsState(control), saved);
      control.optimizer = make();
      await train(control, 3);
      if (name === "sgd" || name === "adadelta") expect(weightsOf(control)).toEqual(expected);
      else expect(weightsOf(control)).not.toEqual(expected);
    });
  }
});

describe("tfjsState with tf.Variables, and what it refuses", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });

  it("checkpoints variables trained by optimizer.minimize, restoring them and the optimizer in place", () => {
    const w = tf.variable(tf.tensor2d([0.5, -0.25, 0.1, 0.3, -0.2, 0.05, 0.4, -0.1], [4, 2]));
    const b = tf.variable(tf.zeros([2]));
    const optimizer = tf.train.rmsprop(0.05, 0.9, 0.5);
    const state = tfjsState({ w, b }, optimizer, { seed: 3 });
    const step = () => optimizer.minimize(() => tf.losses.meanSquaredError(Y.slice([0, 0], [12, 2]), X.matMul(w).add(b)));
    for (let i = 0; i < 3; i++) step();
    const order = state.permutation(12);
    const saved = captureState("state", state);
    const after = state.permutation(12);
    for (let i = 0; i < 3; i++) step();
    const expected = [w.dataSync().slice(), b.dataSync().slice()];

    restoreState(state, saved);
    expect(state.permutation(12)).toEqual(after);
    expect(order).not.toEqual(after);
    for (let i = 0; i < 3; i++) step();
    expect([w.dataSync(), b.dataSync()]).toEqual(expected);
  });

  it("refuses a checkpoint of another architecture without changing anything", () => {
    const small = compiledModel(tf.train.adam(0.01), 1);
    const wide = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 7 }), tf.layers.dense({ units: 3 })] });
    wide.compile({ optimizer: tf.train.adam(0.01), loss: "meanSquaredError" });
    const before = weightsOf(small);
    const smallState = tfjsState(small);
    expect(() => restoreState(smallState, captureState("model", tfjsState(wide)))).toThrow(
      /the checkpoint's weight .* is float32\[4,7\], the variable float32\[4,5\] \(is it the same architecture\?\)/,
    );
    expect(weightsOf(small)).toEqual(before);
  });

  it("says what to do for an uncompiled model and an optimizer it does not know", () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 })] });
    expect(() => tfjsState(model).stateDict()).toThrow(
      /the model has no optimizer yet \(model\.compile was not called\); pass the optimizer/,
    );
    expect(tfjsState(model, null).stateDict().optimizer).toBeNull();
    class Lion extends tf.Optimizer {
      applyGradients(): void {}
      override async getWeights(): Promise<never[]> {
        return [];
      }
      override async setWeights(): Promise<void> {}
      getConfig(): tf.serialization.ConfigDict {
        return {};
      }
    }
    expect(() => tfjsState(model, new Lion())).toThrow(
      /the optimizer Lion is not one of tfjs's SGD, Momentum, Adam, Adamax, RMSProp, Adagrad, Adadelta/,
    );
    expect(() => tfjsState({ w: [1, 2] as unknown as tf.Variable }, null)).toThrow(/w is not a tf\.Variable/);
  });
});
