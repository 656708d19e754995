import { describe, expect, it } from "vitest";
import { alignForDrawing } from "../../web/dashboard/downsample.js";

const series = (xs: number[], ys: number[]) => ({ xs: Float64Array.from(xs), ys: Float64Array.from(ys) });

describe("aligning series for drawing", () => {
  it("keeps every point of small data, on the union of the x values", () => {
    const [xs, a, b] = alignForDrawing([series([0, 1, 2], [5, 6, 7]), series([1, 3], [8, NaN])], 100);
    expect(Array.from(xs)).toEqual([0, 1, 2, 3]);
    expect(a).toEqual([5, 6, 7, null]);
    expect(b).toEqual([null, 8, null, null]);
  });

  it("keeps each column's lowest and highest point of large data, spikes included, in the order they came", () => {
    const n = 100_000;
    const xs = Array.from({ length: n }, (_, i) => i);
    const ys = xs.map((i) => (i === 54_321 ? 1000 : i % 7));
    const [x, drawn] = alignForDrawing([series(xs, ys)], 500);
    expect(x.length).toBe(1000);
    expect(drawn!.length).toBe(1000);
    const values = Array.from(drawn!) as number[];
    expect(Math.max(...values)).toBe(1000);
    expect(Math.min(...values)).toBe(0);
    // The spike's column: its low (0) came first, then the spike.
    const column = Math.floor(54_321 / (n / 500) - 1e-9);
    expect([values[2 * column], values[2 * column + 1]]).toEqual([0, 1000]);
  });

  it("brings 1,000 runs of 10,000 points down to what a chart draws, quickly", () => {
    const runs = Array.from({ length: 1000 }, (_, r) => {
      const xs = new Float64Array(10_000);
      const ys = new Float64Array(10_000);
      for (let i = 0; i < xs.length; i++) {
        xs[i] = i / 100;
        ys[i] = Math.exp(-i / 3000) + r / 1000 + ((i * 7919) % 13) / 100;
      }
      return { xs, ys };
    });
    const started = performance.now();
    const aligned = alignForDrawing(runs, 600);
    const ms = performance.now() - started;
    expect(aligned.length).toBe(1001);
    expect(aligned[0]!.length).toBe(1200);
    console.log(`alignForDrawing: 1,000 series x 10,000 points -> 1,000 x 1,200 in ${ms.toFixed(0)} ms`);
    // Generous bound for a loaded 2-core machine; the figure is printed above.
    expect(ms).toBeLessThan(5000);
  });
});
