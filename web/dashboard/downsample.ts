// Many series of many points, made few enough to draw: uPlot wants every series on one shared x, and
// the screen shows at most a few points per pixel column anyway.

/** uPlot's aligned data: the shared x values, then one array per series (null where it has no point). */
export type Aligned = [Float64Array | number[], ...(Float64Array | (number | null)[])[]];

export interface Drawable {
  xs: Float64Array;
  ys: Float64Array;
}

/** Below this many points in all, every point is drawn as it is. */
const EXACT_LIMIT = 50_000;

/**
 * Puts the series on one x axis for drawing. Small data keeps every point. Otherwise the x range is cut
 * into `buckets` columns and each series keeps, per column, its lowest and highest point in the order
 * they came (two slots per column): the curve's envelope, spikes included, in O(points).
 */
export function alignForDrawing(series: readonly Drawable[], buckets: number): Aligned {
  let total = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    total += s.xs.length;
    for (let i = 0; i < s.xs.length; i++) {
      const x = s.xs[i]!;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  if (total === 0) return [[]];
  if (total <= EXACT_LIMIT) return exact(series);
  return enveloped(series, buckets, lo, hi);
}

function exact(series: readonly Drawable[]): Aligned {
  const xs = [...new Set(series.flatMap((s) => Array.from(s.xs)))].sort((a, b) => a - b);
  const slot = new Map(xs.map((x, i) => [x, i]));
  const columns = series.map((s) => {
    const ys: (number | null)[] = new Array(xs.length).fill(null);
    for (let i = 0; i < s.xs.length; i++) ys[slot.get(s.xs[i]!)!] = finite(s.ys[i]!);
    return ys;
  });
  return [xs, ...columns];
}

function enveloped(series: readonly Drawable[], buckets: number, lo: number, hi: number): Aligned {
  const n = Math.max(1, Math.floor(buckets));
  const width = hi > lo ? (hi - lo) / n : 1;
  const xs = new Float64Array(2 * n);
  for (let b = 0; b < n; b++) {
    xs[2 * b] = lo + (b + 0.25) * width;
    xs[2 * b + 1] = lo + (b + 0.75) * width;
  }
  const columns = series.map((s) => {
    const min = new Float64Array(n).fill(Infinity);
    const max = new Float64Array(n).fill(-Infinity);
    const minAt = new Int32Array(n);
    const maxAt = new Int32Array(n);
    for (let i = 0; i < s.xs.length; i++) {
      const y = s.ys[i]!;
      if (!Number.isFinite(y)) continue;
      const b = Math.min(n - 1, Math.floor((s.xs[i]! - lo) / width));
      if (y < min[b]!) {
        min[b] = y;
        minAt[b] = i;
      }
      if (y > max[b]!) {
        max[b] = y;
        maxAt[b] = i;
      }
    }
    const ys: (number | null)[] = new Array(2 * n).fill(null);
    for (let b = 0; b < n; b++) {
      if (min[b] === Infinity) continue;
      const minFirst = minAt[b]! <= maxAt[b]!;
      ys[2 * b] = minFirst ? min[b]! : max[b]!;
      ys[2 * b + 1] = minFirst ? max[b]! : min[b]!;
    }
    return ys;
  });
  return [xs, ...columns];
}

function finite(y: number): number | null {
  return Number.isFinite(y) ? y : null;
}
