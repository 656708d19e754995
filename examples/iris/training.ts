import { gather, loadIris, type Dataset } from "./data.js";
import { Mlp, SgdMomentum } from "./model.js";
import { Rng, shuffle } from "./rng.js";

/** The part of the flor SDK that training uses; `flor` satisfies it, and so does `noTracking`. */
export interface Tracker {
  arg<T extends string | number | boolean>(name: string, defaultValue: T): T;
  loop(name: string, count: number): Iterable<number>;
  loop<T>(name: string, items: Iterable<T>): Iterable<T>;
  log<T>(name: string, value: T): T;
  checkpointing(objects: Record<string, object>): void;
}

class NoTracking implements Tracker {
  arg<T extends string | number | boolean>(_name: string, defaultValue: T): T {
    return defaultValue;
  }

  loop(name: string, count: number): Iterable<number>;
  loop<T>(name: string, items: Iterable<T>): Iterable<T>;
  *loop<T>(_name: string, items: number | Iterable<T>): Iterable<T | number> {
    if (typeof items === "number") for (let i = 0; i < items; i++) yield i;
    else yield* items;
  }

  log<T>(_name: string, value: T): T {
    return value;
  }

  checkpointing(_objects: Record<string, object>): void {}
}

/** Runs training without recording anything: defaults for args, plain loops. */
export const noTracking: Tracker = new NoTracking();

export interface TrainResult {
  testAccuracy: number;
  /** Mean training loss over the last epoch's steps. */
  finalLoss: number;
}

/**
 * Trains an MLP on iris. Deterministic: the same args give bit-identical losses. The tracker is called
 * `flor` here as in a script that imports it, so that hindsight statements (`flor.log(...)`) added to
 * this file propagate into its past versions.
 */
export function train(flor: Tracker): TrainResult {
  const seed = flor.arg("seed", 42);
  const lr = flor.arg("lr", 0.05);
  const momentum = flor.arg("momentum", 0.9);
  const epochs = flor.arg("epochs", 20);
  const batchSize = flor.arg("batch_size", 16);
  const hidden = flor.arg("hidden", 16);
  // Each epoch sees `augment` copies of every training example, all but the first with jittered features.
  const augment = flor.arg("augment", 1);

  // Separate generators for the split, the initial weights and the shuffling, all fixed by `seed`.
  const { train: trainSet, test: testSet, classes } = loadIris(seed);
  const model = new Mlp({ inputs: trainSet.features, hidden, outputs: classes.length, rng: new Rng(seed + 1) });
  const optimizer = new SgdMomentum(model, { lr, momentum });
  const rng = new Rng(seed + 2);
  flor.checkpointing({ model, optimizer, rng });

  let finalLoss = NaN;
  for (const epoch of flor.loop("epoch", epochs)) {
    // Shuffle a fresh 0..n-1 rather than last epoch's order, so the order depends only on the checkpointed rng.
    const order = shuffle(
      rng,
      Array.from({ length: trainSet.size * augment }, (_, i) => i),
    );
    const batches = chunk(order, batchSize);
    let lossSum = 0;
    let seen = 0;
    for (const batch of flor.loop("step", batches)) {
      const { x, y, size } = jitter(
        gather(
          trainSet,
          batch.map((i) => i % trainSet.size),
        ),
        batch,
        trainSet.size,
        rng,
      );
      const { loss, grads } = model.backward(model.forward(x, size), y);
      optimizer.step(grads);
      lossSum += flor.log("loss", loss) * size;
      seen += size;
    }
    finalLoss = lossSum / seen; // NaN if a tracker ran no steps this epoch
    flor.log("train_acc", accuracy(model, trainSet));
    flor.log("val_acc", accuracy(model, testSet));
  }
  return { testAccuracy: flor.log("test_acc", accuracy(model, testSet)), finalLoss };
}

/** Adds gaussian noise (sd 0.05) to the features of the batch rows that are augmented copies (index ≥ size). */
function jitter(batch: Dataset, indices: readonly number[], size: number, rng: Rng): Dataset {
  indices.forEach((index, row) => {
    if (index < size) return;
    for (let f = 0; f < batch.features; f++) batch.x[row * batch.features + f]! += 0.05 * rng.normal();
  });
  return batch;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch_size must be a positive integer, got ${size}`);
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

function accuracy(model: Mlp, data: Dataset): number {
  const predicted = model.predict(data.x, data.size);
  let correct = 0;
  for (let i = 0; i < data.size; i++) if (predicted[i] === data.y[i]) correct++;
  return correct / data.size;
}
