import type { Tracker } from "../examples/iris/training.js";

/**
 * Wraps a tracker and adds up the time the training thread spends inside it: every `arg`, `log`,
 * `checkpointing` call and every step of a `loop` iterator (where flor journals iterations and captures
 * checkpoints). Two `performance.now()` calls per entry cost ~0.1 µs, small against what is measured.
 */
export function timedTracker(inner: Tracker): { tracker: Tracker; insideMs: () => number } {
  let inside = 0;
  const time = <T>(work: () => T): T => {
    const t = performance.now();
    try {
      return work();
    } finally {
      inside += performance.now() - t;
    }
  };
  function loop<T>(name: string, items: number | Iterable<T>): Iterable<T | number> {
    const iterator = time(() =>
      (inner.loop as (n: string, i: number | Iterable<T>) => Iterable<T | number>)(name, items)[Symbol.iterator](),
    );
    return {
      [Symbol.iterator]: () => ({
        next: () => time(() => iterator.next()),
        return: (value?: unknown) => time(() => iterator.return?.(value) ?? { done: true as const, value: undefined }),
      }),
    };
  }
  const tracker: Tracker = {
    arg: (name, defaultValue) => time(() => inner.arg(name, defaultValue)),
    loop: loop as Tracker["loop"],
    log: (name, value) => time(() => inner.log(name, value)),
    checkpointing: (objects) => time(() => inner.checkpointing(objects)),
  };
  return { tracker, insideMs: () => inside };
}
