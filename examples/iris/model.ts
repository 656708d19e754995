import type { Rng } from "./rng.js";

/**
 * The parameters of an Mlp, row-major: w1 is hidden x inputs, w2 is outputs x hidden. Gradients and
 * optimizer velocities have the same shape.
 */
export interface MlpState {
  w1: Float64Array;
  b1: Float64Array;
  w2: Float64Array;
  b2: Float64Array;
}

const PARAM_NAMES = ["w1", "b1", "w2", "b2"] as const;

export interface MlpOptions {
  inputs: number;
  hidden: number;
  outputs: number;
  /** Draws the initial weights. */
  rng: Rng;
}

/** What a forward pass keeps for the backward pass. */
export interface ForwardPass {
  /** n x inputs */
  readonly x: Float64Array;
  readonly n: number;
  /** n x hidden, after the ReLU */
  readonly hidden: Float64Array;
  /** n x outputs, before the softmax */
  readonly logits: Float64Array;
}

export interface Backward {
  /** Mean cross-entropy over the minibatch. */
  loss: number;
  grads: MlpState;
}

/** inputs -> hidden (ReLU) -> outputs (softmax), trained with cross-entropy. */
export class Mlp {
  readonly inputs: number;
  readonly hidden: number;
  readonly outputs: number;
  /** The live parameters; the optimizer updates them and loadStateDict overwrites them in place. */
  readonly params: MlpState;

  constructor({ inputs, hidden, outputs, rng }: MlpOptions) {
    for (const [name, size] of Object.entries({ inputs, hidden, outputs })) {
      if (!Number.isInteger(size) || size < 1) throw new RangeError(`Mlp: ${name} must be a positive integer, got ${size}`);
    }
    this.inputs = inputs;
    this.hidden = hidden;
    this.outputs = outputs;
    this.params = zerosLike({
      w1: new Float64Array(hidden * inputs),
      b1: new Float64Array(hidden),
      w2: new Float64Array(outputs * hidden),
      b2: new Float64Array(outputs),
    });
    // He init keeps ReLU pre-activations at unit variance; LeCun init (1/fan_in) keeps the initial logits
    // small whatever the width, so training starts near a uniform prediction.
    const { w1, w2 } = this.params;
    for (let i = 0; i < w1.length; i++) w1[i] = rng.normal() * Math.sqrt(2 / inputs);
    for (let i = 0; i < w2.length; i++) w2[i] = rng.normal() * Math.sqrt(1 / hidden);
  }

  /** Runs `n` examples (x is n x inputs, row-major). */
  forward(x: Float64Array, n: number): ForwardPass {
    const { inputs: I, hidden: H, outputs: O } = this;
    if (x.length !== n * I) throw new RangeError(`Mlp.forward: expected ${n} x ${I} inputs, got ${x.length} values`);
    const { w1, b1, w2, b2 } = this.params;
    const hidden = new Float64Array(n * H);
    const logits = new Float64Array(n * O);
    for (let b = 0; b < n; b++) {
      for (let j = 0; j < H; j++) {
        let z = b1[j]!;
        for (let i = 0; i < I; i++) z += w1[j * I + i]! * x[b * I + i]!;
        hidden[b * H + j] = z > 0 ? z : 0;
      }
      for (let k = 0; k < O; k++) {
        let z = b2[k]!;
        for (let j = 0; j < H; j++) z += w2[k * H + j]! * hidden[b * H + j]!;
        logits[b * O + k] = z;
      }
    }
    return { x, n, hidden, logits };
  }

  /** Mean cross-entropy of `pass` against class indices `y`, and its gradient for every parameter. */
  backward(pass: ForwardPass, y: ArrayLike<number>): Backward {
    const { inputs: I, hidden: H, outputs: O } = this;
    const { x, n, hidden, logits } = pass;
    if (y.length !== n) throw new RangeError(`Mlp.backward: expected ${n} labels, got ${y.length}`);
    const { w2 } = this.params;
    const grads = zerosLike(this.params);
    const dz = new Float64Array(O);
    const dh = new Float64Array(H);
    let loss = 0;
    for (let b = 0; b < n; b++) {
      const label = y[b]!;
      if (!Number.isInteger(label) || label < 0 || label >= O) throw new RangeError(`Mlp.backward: label ${label} is not a class index`);
      // Softmax and log-sum-exp shifted by the max logit, so large logits cannot overflow.
      let max = -Infinity;
      for (let k = 0; k < O; k++) max = Math.max(max, logits[b * O + k]!);
      let sum = 0;
      for (let k = 0; k < O; k++) sum += Math.exp(logits[b * O + k]! - max);
      loss += Math.log(sum) + max - logits[b * O + label]!;
      for (let k = 0; k < O; k++) dz[k] = (Math.exp(logits[b * O + k]! - max) / sum - (k === label ? 1 : 0)) / n;

      for (let k = 0; k < O; k++) {
        grads.b2[k]! += dz[k]!;
        for (let j = 0; j < H; j++) grads.w2[k * H + j]! += dz[k]! * hidden[b * H + j]!;
      }
      for (let j = 0; j < H; j++) {
        let g = 0;
        if (hidden[b * H + j]! > 0) for (let k = 0; k < O; k++) g += w2[k * H + j]! * dz[k]!;
        dh[j] = g;
      }
      for (let j = 0; j < H; j++) {
        grads.b1[j]! += dh[j]!;
        for (let i = 0; i < I; i++) grads.w1[j * I + i]! += dh[j]! * x[b * I + i]!;
      }
    }
    return { loss: loss / n, grads };
  }

  /** The most likely class of each of `n` examples. */
  predict(x: Float64Array, n: number): Uint8Array {
    const { logits } = this.forward(x, n);
    const O = this.outputs;
    const classes = new Uint8Array(n);
    for (let b = 0; b < n; b++) {
      let best = 0;
      for (let k = 1; k < O; k++) if (logits[b * O + k]! > logits[b * O + best]!) best = k;
      classes[b] = best;
    }
    return classes;
  }

  /**
   * The live parameter buffers, as PyTorch's state_dict: no copy, because a checkpointer serialises the
   * state at once. Whoever keeps a state while training goes on must copy it (structuredClone).
   */
  stateDict(): MlpState {
    return { ...this.params };
  }

  /** Overwrites the parameters in place: the Float64Arrays in `params` stay the same objects. */
  loadStateDict(state: MlpState): void {
    loadInto(this.params, state, "Mlp");
  }
}

export interface SgdMomentumOptions {
  lr: number;
  momentum: number;
}

export interface SgdMomentumState {
  /** Steps taken so far. */
  step: number;
  velocity: MlpState;
}

/** SGD with (PyTorch-style) momentum: v = momentum * v + g; p -= lr * v. */
export class SgdMomentum {
  readonly lr: number;
  readonly momentum: number;
  /** The live velocity buffers; loadStateDict overwrites them in place. */
  readonly velocity: MlpState;
  private readonly model: Mlp;
  private steps = 0;

  constructor(model: Mlp, { lr, momentum }: SgdMomentumOptions) {
    if (!(lr > 0)) throw new RangeError(`SgdMomentum: lr must be positive, got ${lr}`);
    if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`SgdMomentum: momentum must be in [0, 1), got ${momentum}`);
    this.model = model;
    this.lr = lr;
    this.momentum = momentum;
    this.velocity = zerosLike(model.params);
  }

  get stepCount(): number {
    return this.steps;
  }

  step(grads: MlpState): void {
    for (const name of PARAM_NAMES) {
      const p = this.model.params[name];
      const v = this.velocity[name];
      const g = grads[name];
      if (g.length !== p.length) throw new RangeError(`SgdMomentum.step: gradient ${name} has ${g.length} values, expected ${p.length}`);
      for (let i = 0; i < p.length; i++) {
        v[i] = this.momentum * v[i]! + g[i]!;
        p[i]! -= this.lr * v[i]!;
      }
    }
    this.steps++;
  }

  /** The step counter and the live velocity buffers (see Mlp.stateDict). lr and momentum are not state: they come from the run's args. */
  stateDict(): SgdMomentumState {
    return { step: this.steps, velocity: { ...this.velocity } };
  }

  /** Restores the step counter and overwrites the velocity buffers in place. */
  loadStateDict(state: SgdMomentumState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new RangeError(`SgdMomentum.loadStateDict: bad step ${state.step}`);
    loadInto(this.velocity, state.velocity, "SgdMomentum");
    this.steps = state.step;
  }
}

function zerosLike(state: MlpState): MlpState {
  return {
    w1: new Float64Array(state.w1.length),
    b1: new Float64Array(state.b1.length),
    w2: new Float64Array(state.w2.length),
    b2: new Float64Array(state.b2.length),
  };
}

/** Copies `source` into `target`'s buffers after checking every shape, so a mismatch changes nothing. */
function loadInto(target: MlpState, source: MlpState, owner: string): void {
  for (const name of PARAM_NAMES) {
    const from: unknown = source[name];
    if (!(from instanceof Float64Array) || from.length !== target[name].length) {
      throw new RangeError(
        `${owner}.loadStateDict: ${name} must be a Float64Array of ${target[name].length} values (is the hidden size the same?)`,
      );
    }
  }
  for (const name of PARAM_NAMES) target[name].set(source[name]);
}
