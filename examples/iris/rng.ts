/** The whole state of an Rng: one 32-bit word, so a checkpoint of it is tiny. */
export interface RngState {
  state: number;
}

/**
 * mulberry32: a small, fast, seeded PRNG. Unlike Math.random its state can be saved and restored, which
 * is what lets a resumed run shuffle exactly as the uninterrupted run did.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
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
    return Math.floor(this.next() * n);
  }

  /** A standard normal sample (Box-Muller; the second value is discarded so the state stays one word). */
  normal(): number {
    const u = 1 - this.next(); // in (0, 1], so the log is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  stateDict(): RngState {
    return { state: this.state };
  }

  loadStateDict(state: RngState): void {
    const value = state.state;
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      throw new RangeError(`Rng.loadStateDict: state must be a 32-bit unsigned integer, got ${value}`);
    }
    this.state = value;
  }
}

/** Fisher-Yates shuffle of `items` in place; returns `items`. */
export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}
