// Turns rows (a FlorQL answer, a run's logs) into chart series: one per run, x along the loop dimensions.
// Pure functions, no DOM: unit-tested under test/web/.

/** One curve: its points (x ascending) and what the legend says. */
export interface Series {
  key: string;
  label: string;
  /** The version it belongs to, which chooses its colour; "" when unknown. */
  group: string;
  xs: Float64Array;
  ys: Float64Array;
}

type Row = Record<string, unknown>;

/**
 * The x of each point from its loop coordinates (given in loop order): the outermost loop's index, plus
 * the point's rank among the points of that outer iteration divided by their count. So a per-step loss
 * inside `epoch` runs from 3.0 to 3.9... through epoch 3, and a per-epoch value sits on the integers.
 */
export function loopPositions(coordinates: readonly Record<string, unknown>[], dims: readonly string[]): Float64Array {
  const xs = new Float64Array(coordinates.length);
  if (dims.length === 0) {
    for (let i = 0; i < xs.length; i++) xs[i] = i;
    return xs;
  }
  const outer = dims[0]!;
  const counts = new Map<number, number>();
  for (const c of coordinates) {
    const o = Number(c[outer]);
    counts.set(o, (counts.get(o) ?? 0) + 1);
  }
  const seen = new Map<number, number>();
  coordinates.forEach((c, i) => {
    const o = Number(c[outer]);
    const rank = seen.get(o) ?? 0;
    seen.set(o, rank + 1);
    xs[i] = o + (dims.length > 1 ? rank / counts.get(o)! : 0);
  });
  return xs;
}

/** Orders rows by their loop coordinates, outer first (the order the runs logged them in). */
export function byCoordinates(dims: readonly string[]): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const d of dims) {
      const delta = Number(a[d]) - Number(b[d]);
      if (delta !== 0) return delta;
    }
    return 0;
  };
}

/** Run-level columns, which say which run a row belongs to rather than what was measured. */
const RUN_COLUMNS = new Set(["projid", "tstamp", "filename", "vid", "status"]);

export interface ChartPlan {
  /** The loop dimensions that make x, outer first. */
  dims: string[];
  /** The columns that can be drawn as y. */
  measures: string[];
  /** What identifies a run in the rows (tstamp, with filename when both are there); empty for one series. */
  runKey: string[];
}

/**
 * What a chart of an answer draws: loop columns make x (ordered by their depth), numeric columns that
 * are neither loops nor run columns are the measures, and tstamp tells the runs apart.
 */
export function chartPlan(columns: readonly string[], rows: readonly Row[], loopDepth: ReadonlyMap<string, number>): ChartPlan {
  const dims = columns.filter((c) => loopDepth.has(c)).sort((a, b) => loopDepth.get(a)! - loopDepth.get(b)!);
  const measures = columns.filter(
    (c) => !loopDepth.has(c) && !RUN_COLUMNS.has(c) && !c.endsWith("__verified") && rows.some((r) => typeof r[c] === "number"),
  );
  const runKey = columns.includes("tstamp") ? (columns.includes("filename") ? ["filename", "tstamp"] : ["tstamp"]) : [];
  return { dims, measures, runKey };
}

/**
 * One series per run (per the plan's run key) of `measure` over the plan's loop dimensions. `describe`
 * names a run for the legend (its version, time, args) from one of its rows.
 */
export function seriesOf(
  plan: ChartPlan,
  rows: readonly Row[],
  measure: string,
  describe: (row: Row) => { label: string; group: string },
): Series[] {
  const runs = new Map<string, Row[]>();
  for (const row of rows) {
    if (typeof row[measure] !== "number") continue;
    const key = plan.runKey.map((c) => String(row[c])).join(" ");
    const list = runs.get(key);
    if (list === undefined) runs.set(key, [row]);
    else list.push(row);
  }
  const order = byCoordinates(plan.dims);
  return [...runs].map(([key, list]) => {
    list.sort(order);
    const { label, group } = describe(list[0]!);
    return { key, label, group, xs: loopPositions(list, plan.dims), ys: Float64Array.from(list, (r) => r[measure] as number) };
  });
}
