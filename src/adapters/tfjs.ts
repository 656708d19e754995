// flordb/tfjs: checkpoints of TensorFlow.js models and optimizers that are taken and restored
// synchronously, between two iterations of a training loop (tfjs's own optimizer getWeights() and
// setWeights() are async, so a restore through them would land after the next iteration had started).
import * as tf from "@tensorflow/tfjs";
import type { LayersModel, Optimizer, Tensor, Variable } from "@tensorflow/tfjs";
import { FlorError } from "../errors.js";
import { SeededRandom, type SeededRandomState } from "./seeded-random.js";

export { SeededRandom, type SeededRandomState } from "./seeded-random.js";

type SavedDtype = "float32" | "int32" | "bool";

/** One tensor's value as plain data. */
export interface TensorState {
  name: string;
  shape: number[];
  dtype: SavedDtype;
  values: Float32Array | Int32Array | Uint8Array;
}

/** An optimizer's step count, learning rate and slot variables (moments, accumulators), by field. */
export interface OptimizerState {
  className: string;
  iterations: number;
  learningRate: number | null;
  slots: Record<string, (TensorState | null)[]>;
  scalars: Record<string, TensorState>;
}

export interface TfjsStateDict {
  weights: TensorState[];
  optimizer: OptimizerState | null;
  random: SeededRandomState;
}

/** Variables trained without a LayersModel (tf.variable + optimizer.minimize), by name. */
export type VariableSet = Record<string, Variable> | readonly Variable[];

export interface TfjsStateOptions {
  /** Seeds `random`, the generator for shuffling that is checkpointed with the model (default 0). */
  seed?: number;
}

/**
 * Where each built-in tfjs optimizer keeps its state: lists of `{ originalName, variable }` slots, one
 * per trained variable in the order of its gradients, created at the first step; and scalar variables.
 * These are fields of tfjs's optimizer classes (stable across 4.x); they are checked before each use, so
 * a tfjs that keeps them elsewhere is reported, never checkpointed half.
 */
const OPTIMIZER_SLOTS: Record<string, { slots: readonly string[]; scalars: readonly string[] }> = {
  SGD: { slots: [], scalars: [] },
  Momentum: { slots: ["accumulations"], scalars: [] },
  Adam: { slots: ["accumulatedFirstMoment", "accumulatedSecondMoment"], scalars: ["accBeta1", "accBeta2"] },
  Adamax: { slots: ["accumulatedFirstMoment", "accumulatedWeightedInfNorm"], scalars: ["iteration", "accBeta1"] },
  RMSProp: { slots: ["accumulatedMeanSquares", "accumulatedMoments", "accumulatedMeanGrads"], scalars: [] },
  Adagrad: { slots: ["accumulatedGrads"], scalars: [] },
  Adadelta: { slots: ["accumulatedGrads", "accumulatedUpdates"], scalars: [] },
};

interface Slot {
  originalName: string;
  variable: Variable;
}

/** The fields of a tfjs optimizer that its public API keeps private or async. */
interface OptimizerInternals {
  iterations_?: number;
  learningRate?: number;
  setLearningRate?: (lr: number) => void;
  [field: string]: unknown;
}

/**
 * A TensorFlow.js model, its optimizer and a seeded generator for shuffling, as one checkpointable
 * object: `flor.checkpointing({ model: tfjsState(model, optimizer) })`. `stateDict()` reads every weight
 * and optimizer slot with `dataSync()`; `loadStateDict()` writes them back into the same variables
 * before the next iteration runs, so whatever holds the model or optimizer keeps working.
 */
export class TfjsState {
  /** Shuffle with this (`permutation`, `shuffle`): it is saved and restored with the model. */
  readonly random: SeededRandom;
  private readonly model: LayersModel | VariableSet;
  private readonly optimizer: Optimizer | null | undefined;

  constructor(model: LayersModel | VariableSet, optimizer?: Optimizer | null, options: TfjsStateOptions = {}) {
    if (typeof model !== "object" || model === null)
      throw new TypeError("tfjsState(model): model must be a tf.LayersModel or tf.Variables");
    if (!isLayersModel(model)) {
      for (const [name, variable] of Object.entries(model))
        if (!isVariable(variable)) throw new TypeError(`tfjsState(model): ${name} is not a tf.Variable (nor is model a tf.LayersModel)`);
      if (optimizer === undefined)
        throw new TypeError("tfjsState(variables, optimizer): pass the optimizer that trains the variables (null when none does)");
    }
    if (optimizer !== undefined && optimizer !== null) optimizerLayout(optimizer);
    this.model = model;
    this.optimizer = optimizer;
    this.random = new SeededRandom(options.seed ?? 0);
  }

  /** A random order of 0..n-1, from the checkpointed generator. */
  permutation(n: number): number[] {
    return this.random.permutation(n);
  }

  /** Shuffles `items` in place with the checkpointed generator. */
  shuffle<T>(items: T[]): T[] {
    return this.random.shuffle(items);
  }

  /**
   * The current state. Values are the tensors' own buffers (tfjs never changes a tensor's values in
   * place: a training step gives its variables new buffers), read synchronously.
   */
  stateDict(): TfjsStateDict {
    const optimizer = this.currentOptimizer();
    return {
      weights: this.variables().map(({ name, variable }) => tensorState(name, variable)),
      optimizer: optimizer === null ? null : optimizerState(optimizer),
      random: this.random.stateDict(),
    };
  }

  /**
   * Writes a saved state into the model's and optimizer's variables (creating the optimizer's slots when
   * it has not stepped yet). Every shape is checked first, so a state that does not fit changes nothing.
   */
  loadStateDict(state: TfjsStateDict): void {
    const variables = this.variables();
    if (!Array.isArray(state?.weights) || state.weights.length !== variables.length)
      throw new FlorError(
        `tfjsState: the checkpoint has ${state?.weights?.length ?? "no"} weights, the model ${variables.length} (is it the same architecture?)`,
      );
    for (const [i, { name, variable }] of variables.entries()) checkFits(state.weights[i], variable, `weight ${name}`);
    const optimizer = this.currentOptimizer();
    if ((optimizer === null) !== (state.optimizer === null))
      throw new FlorError(
        `tfjsState: the checkpoint ${state.optimizer === null ? "has no" : "has an"} optimizer state, this model ${optimizer === null ? "has no" : "has an"} optimizer`,
      );
    if (optimizer !== null && state.optimizer !== null) checkOptimizerFits(optimizer, state.optimizer);

    // The generator checks its state as it loads it: first, so a bad one leaves the tensors untouched.
    this.random.loadStateDict(state.random);
    tf.tidy(() => {
      for (const [i, { variable }] of variables.entries()) variable.assign(toTensor(state.weights[i]!));
      if (optimizer !== null && state.optimizer !== null) loadOptimizer(optimizer, state.optimizer);
    });
  }

  private currentOptimizer(): Optimizer | null {
    if (this.optimizer !== undefined) return this.optimizer;
    const compiled = (this.model as LayersModel).optimizer as Optimizer | undefined;
    if (compiled === undefined || compiled === null)
      throw new FlorError(
        "tfjsState(model): the model has no optimizer yet (model.compile was not called); pass the optimizer that trains it, tfjsState(model, optimizer), or null when none does",
      );
    optimizerLayout(compiled);
    return compiled;
  }

  private variables(): { name: string; variable: Variable }[] {
    if (isLayersModel(this.model)) return this.model.weights.map((weight) => ({ name: weight.name, variable: weight.read() as Variable }));
    return Object.entries(this.model).map(([name, variable]) => ({ name, variable: variable as Variable }));
  }
}

/**
 * The checkpointable state of a TensorFlow.js model (a LayersModel, or tf.Variables by name) and the
 * optimizer that trains it (default: the one `model.compile` set). Register the result:
 * `flor.checkpointing({ model: tfjsState(model, optimizer, { seed }) })`.
 */
export function tfjsState(model: LayersModel | VariableSet, optimizer?: Optimizer | null, options?: TfjsStateOptions): TfjsState {
  return new TfjsState(model, optimizer, options);
}

function isLayersModel(value: object): value is LayersModel {
  const candidate = value as Partial<LayersModel>;
  return Array.isArray(candidate.weights) && typeof candidate.getWeights === "function";
}

// Duck-typed: an app and flordb may load different copies of tfjs-core, which share one engine.
function isVariable(value: unknown): value is Variable {
  const candidate = value as Partial<Variable> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.assign === "function" &&
    typeof candidate.dataSync === "function"
  );
}

/** The optimizer's class in OPTIMIZER_SLOTS (a subclass counts as its nearest built-in ancestor), checked to hold its fields. */
function optimizerLayout(optimizer: Optimizer): { className: string; slots: readonly string[]; scalars: readonly string[] } {
  let className: string | undefined;
  for (
    let proto: unknown = Object.getPrototypeOf(optimizer);
    proto !== null && className === undefined;
    proto = Object.getPrototypeOf(proto)
  ) {
    const name = (proto as { constructor?: { className?: unknown } }).constructor?.className;
    if (typeof name === "string" && Object.hasOwn(OPTIMIZER_SLOTS, name)) className = name;
  }
  if (className === undefined) {
    const name = (optimizer as { constructor?: { name?: string } })?.constructor?.name ?? typeof optimizer;
    throw new FlorError(
      `tfjsState: the optimizer ${name} is not one of tfjs's ${Object.keys(OPTIMIZER_SLOTS).join(", ")}; ` +
        "register it separately with stateDict()/loadStateDict(state) methods that read and write its state synchronously",
    );
  }
  const layout = OPTIMIZER_SLOTS[className]!;
  const fields = optimizer as unknown as OptimizerInternals;
  const missing = [
    ...layout.slots.filter((field) => !Array.isArray(fields[field])),
    ...layout.scalars.filter((field) => !isVariable(fields[field])),
  ];
  if (missing.length > 0)
    throw new FlorError(
      `tfjsState: this @tensorflow/tfjs keeps the ${className} optimizer's state elsewhere (no ${missing.join(", ")}); flordb/tfjs supports @tensorflow/tfjs 4.x`,
    );
  return { className, ...layout };
}

function optimizerState(optimizer: Optimizer): OptimizerState {
  const { className, slots, scalars } = optimizerLayout(optimizer);
  const fields = optimizer as unknown as OptimizerInternals;
  return {
    className,
    iterations: optimizer.iterations,
    learningRate: typeof fields.learningRate === "number" ? fields.learningRate : null,
    slots: Object.fromEntries(
      slots.map((field) => [
        field,
        Array.from(fields[field] as (Slot | undefined)[], (slot) => (slot == null ? null : tensorState(slot.originalName, slot.variable))),
      ]),
    ),
    scalars: Object.fromEntries(scalars.map((field) => [field, tensorState(field, fields[field] as Variable)])),
  };
}

function checkOptimizerFits(optimizer: Optimizer, saved: OptimizerState): void {
  const { className, slots, scalars } = optimizerLayout(optimizer);
  if (saved.className !== className)
    throw new FlorError(`tfjsState: the checkpoint holds a ${saved.className} optimizer's state, the model is trained by ${className}`);
  if (!Number.isInteger(saved.iterations) || saved.iterations < 0)
    throw new FlorError(`tfjsState: bad optimizer step count ${String(saved.iterations)} in the checkpoint`);
  const fields = optimizer as unknown as OptimizerInternals;
  for (const field of scalars) checkFits(saved.scalars[field], fields[field] as Variable, `${className}.${field}`);
  for (const field of slots) {
    if (!Array.isArray(saved.slots[field])) throw new FlorError(`tfjsState: the checkpoint has no ${className}.${field}`);
    for (const slot of saved.slots[field]) if (slot !== null) checkTensorState(slot, `${className}.${field} ${slot.name}`);
  }
}

/** Puts the saved slots into the optimizer's variables, or into new ones where it has none of that shape yet. */
function loadOptimizer(optimizer: Optimizer, saved: OptimizerState): void {
  const { slots, scalars } = optimizerLayout(optimizer);
  const fields = optimizer as unknown as OptimizerInternals;
  for (const field of scalars) (fields[field] as Variable).assign(toTensor(saved.scalars[field]!));
  for (const field of slots) {
    const current = fields[field] as (Slot | undefined)[];
    const wanted = saved.slots[field]!;
    for (let i = wanted.length; i < current.length; i++) current[i]?.variable.dispose();
    current.length = wanted.length;
    wanted.forEach((slot, i) => {
      const existing = current[i];
      if (slot === null) {
        existing?.variable.dispose();
        delete current[i];
        return;
      }
      const value = toTensor(slot);
      if (existing !== undefined && sameShape(existing.variable, slot)) {
        existing.variable.assign(value);
        existing.originalName = slot.name;
        return;
      }
      existing?.variable.dispose();
      current[i] = { originalName: slot.name, variable: value.variable(false) };
    });
  }
  fields.iterations_ = saved.iterations;
  if (saved.learningRate !== null && saved.learningRate !== fields.learningRate) {
    // SGD and Momentum keep -lr in a tensor of their own, which setLearningRate renews.
    if (typeof fields.setLearningRate === "function") fields.setLearningRate(saved.learningRate);
    else fields.learningRate = saved.learningRate;
  }
}

function tensorState(name: string, tensor: Tensor): TensorState {
  const dtype = tensor.dtype;
  if (dtype !== "float32" && dtype !== "int32" && dtype !== "bool")
    throw new FlorError(`tfjsState: ${name} is a ${dtype} tensor; only float32, int32 and bool tensors are checkpointed`);
  return { name, shape: [...tensor.shape], dtype, values: tensor.dataSync() as TensorState["values"] };
}

function checkTensorState(saved: TensorState | undefined, what: string): asserts saved is TensorState {
  const size = saved?.shape?.reduce((a, b) => a * b, 1);
  if (saved === undefined || !ArrayBuffer.isView(saved.values) || saved.values.length !== size)
    throw new FlorError(`tfjsState: the checkpoint's ${what} is missing or malformed`);
}

function checkFits(saved: TensorState | undefined, variable: Variable, what: string): void {
  checkTensorState(saved, what);
  if (!sameShape(variable, saved) || variable.dtype !== saved.dtype)
    throw new FlorError(
      `tfjsState: the checkpoint's ${what} is ${saved.dtype}[${saved.shape.join(",")}], the variable ${variable.dtype}[${variable.shape.join(",")}] (is it the same architecture?)`,
    );
}

function sameShape(tensor: Tensor, saved: TensorState): boolean {
  return tensor.shape.length === saved.shape.length && tensor.shape.every((size, i) => size === saved.shape[i]);
}

/** A tensor of the saved values; copied, because the CPU backend keeps the array it is given as the tensor's storage. */
function toTensor(saved: TensorState): Tensor {
  return tf.tensor(saved.values.slice(), saved.shape, saved.dtype);
}
