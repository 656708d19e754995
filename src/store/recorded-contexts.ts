import type { StoredRange } from "./queries/loop-ranges.js";

/** A recorded loop context: its loop, iteration, parent context, whether it has an item, and its stored range (first context). */
export interface RecordedContext {
  name: string;
  iteration: number;
  parent: number | null;
  hasValue: boolean;
  range: number;
}

/**
 * A recorded run's loop contexts, held as the stored ranges they come in and answered by arithmetic on
 * them: a run can have millions of contexts (one per step) in a few thousand ranges, and replay storing
 * must not read every context of the run for each task.
 */
export class RecordedContexts {
  private readonly ranges: StoredRange[];
  /** Per parent context (null: the top level), its child ranges in execution order and the running count of their contexts. */
  private readonly byParent = new Map<number | null, { ranges: StoredRange[]; ends: number[] }>();

  constructor(ranges: Iterable<StoredRange>) {
    this.ranges = [...new Map([...ranges].map((range) => [range.ctx_id, range])).values()].sort((a, b) => a.ctx_id - b.ctx_id);
    for (const range of this.ranges) {
      let siblings = this.byParent.get(range.parent_ctx_id);
      if (siblings === undefined) {
        siblings = { ranges: [], ends: [] };
        this.byParent.set(range.parent_ctx_id, siblings);
      }
      siblings.ends.push((siblings.ends.at(-1) ?? 0) + range.count);
      siblings.ranges.push(range);
    }
  }

  get(ctx: number): RecordedContext | undefined {
    const range = this.rangeHolding(ctx);
    if (range === undefined) return undefined;
    return {
      name: range.name,
      iteration: range.iteration + (ctx - range.ctx_id),
      parent: range.parent_ctx_id,
      hasValue: range.value !== null,
      range: range.ctx_id,
    };
  }

  /** The `k`-th context (from 0, in execution order) whose parent is `parent` (null: the top level). */
  child(parent: number | null, k: number): number | undefined {
    const siblings = this.byParent.get(parent);
    if (siblings === undefined || k < 0 || k >= siblings.ends.at(-1)!) return undefined;
    let low = 0;
    let high = siblings.ends.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (siblings.ends[mid]! > k) high = mid;
      else low = mid + 1;
    }
    return siblings.ranges[low]!.ctx_id + k - (low === 0 ? 0 : siblings.ends[low - 1]!);
  }

  /** The top-level context of iteration `iteration` of loop `name` (the latest, should the loop have run twice). */
  top(name: string, iteration: number): number | undefined {
    const top = this.byParent.get(null)?.ranges ?? [];
    for (let i = top.length - 1; i >= 0; i--) {
      const range = top[i]!;
      if (range.name === name && range.iteration <= iteration && iteration < range.iteration + range.count)
        return range.ctx_id + iteration - range.iteration;
    }
    return undefined;
  }

  /**
   * The ids that top-level context `ctx`'s nested contexts can have (ids follow execution order: up to
   * the next top-level context), inclusive; null when nothing can nest in it.
   */
  subtree(ctx: number): [number, number] | null {
    const top = this.byParent.get(null)?.ranges ?? [];
    const index = holding(top, ctx);
    if (index < 0) return null;
    const range = top[index]!;
    if (range.parent_ctx_id !== null || ctx + 1 < range.ctx_id + range.count) return null;
    const next = top[index + 1]?.ctx_id ?? 2 ** 31;
    return next > ctx + 1 ? [ctx + 1, next - 1] : null;
  }

  private rangeHolding(ctx: number): StoredRange | undefined {
    return this.ranges[holding(this.ranges, ctx)];
  }
}

/** The index of the range of `ranges` (sorted by first context) that holds context `ctx`, or -1. */
function holding(ranges: readonly StoredRange[], ctx: number): number {
  let low = 0;
  let high = ranges.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (ranges[mid]!.ctx_id <= ctx) low = mid;
    else high = mid - 1;
  }
  const range = ranges[low];
  return range !== undefined && range.ctx_id <= ctx && ctx < range.ctx_id + range.count ? low : -1;
}
