/** The whole state of a SeededRandom: one 32-bit word. */
export interface SeededRandomState {
  state: number;
}

/**
 * A seeded pseudo-random generator (mulberry32) for shuffling and sampling in training loops. Unlike
 * `Math.random` (and TensorFlow.js's `fit({ shuffle: true })`, which uses it), its state is saved with
 * every checkpoint when it is registered (directly, or as part of `tfjsState`), so a replay that starts
 * at epoch 7 draws the same batches as the original run did.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new TypeError(`SeededRandom: seed must be an integer, got ${seed}`);
    this.state = seed >>> 0;
  }

  /** A uniform integer in [0, 2^32). */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`SeededRandom.int(n): n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const swap = items[i]!;
      items[i] = items[j]!;
      items[j] = swap;
    }
    return items;
  }

  /** The numbers 0..n-1 in a random order: an epoch's order of examples. */
  permutation(n: number): number[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`SeededRandom.permutation(n): n must be a non-negative integer, got ${n}`);
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  stateDict(): SeededRandomState {
    return { state: this.state };
  }

  loadStateDict(saved: SeededRandomState): void {
    const value = saved?.state;
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff)
      throw new RangeError(`SeededRandom.loadStateDict: state must be a 32-bit unsigned integer, got ${String(value)}`);
    this.state = value;
  }
}
