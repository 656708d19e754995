import type { ContextRecord, ContextValue, JournalFormat, JournalRecord, JsonValue } from "./records.js";

/**
 * A run of consecutive contexts of one loop execution: ids `id` … `id + count - 1` are its iterations
 * `i` … `i + count - 1`, in the enclosing context `p`. A context whose item is a JSON scalar (`v`) is a
 * range of its own.
 */
export interface ContextRange {
  id: number;
  p: number | null;
  n: string;
  i: number;
  v: ContextValue | undefined;
  count: number;
  /** 0 for an outermost loop. */
  depth: number;
  /** The dimensions of the enclosing context: the index (and item) of every enclosing loop. */
  outer: Record<string, JsonValue>;
  /** The dimension keys of a context of this range, outermost loop first (`<name>_value` after its loop). */
  keys: string[];
}

/**
 * The loop structure a journal describes, as ranges of contexts: what a reader needs to know where a
 * context id belongs. Feed it the `ctx` records in journal order (`open`) and look up every other id
 * through `resolve`. In format 2 an id past the latest context is an iteration that continues it (the
 * writer leaves those out, see records.ts); format 1 has a `ctx` record for every context, and its
 * continuations are merged into ranges the same way, so both formats give the same ranges.
 */
export class ContextRanges {
  /** Known ranges by first id; the last one is the latest. */
  private readonly ranges: ContextRange[] = [];
  private readonly implied: boolean;
  /** Set after an unreadable line: it may have been a `ctx` record, so ids past the latest imply nothing. */
  private unsure = false;

  constructor(format: JournalFormat) {
    this.implied = format >= 2;
  }

  get latest(): ContextRange | undefined {
    return this.ranges[this.ranges.length - 1];
  }

  /**
   * A `ctx` record: the range it continues (extended by one) or a new one; a string says why the record
   * cannot be placed. In format 2 the contexts between the latest one and this record's id continue the
   * latest range.
   */
  open(record: ContextRecord): { range: ContextRange; fresh: boolean } | string {
    const { id, p, n, i, v } = record;
    const latest = this.latest;
    if (latest !== undefined && id < end(latest))
      return `loop "${n}" opens context ${id}, which is not after the latest context ${end(latest) - 1}`;
    // The parent first, while an unreadable line still makes implied ids unsure: that line may have been
    // the parent's own `ctx` record, and implying it would nest this loop in the wrong context.
    const parent = p === null ? null : this.resolve(p);
    if (parent === undefined) return `loop "${n}" is nested in context ${p}, which the journal never opened`;
    if (latest !== undefined && this.implied && !this.unsure && id > end(latest)) latest.count = id - latest.id;
    this.unsure = false;
    if (
      latest !== undefined &&
      v === undefined &&
      latest.v === undefined &&
      latest.p === p &&
      latest.n === n &&
      id === end(latest) &&
      i === latest.i + latest.count
    ) {
      latest.count++;
      return { range: latest, fresh: false };
    }
    const range: ContextRange = {
      id,
      p,
      n,
      i,
      v,
      count: 1,
      depth: parent === null ? 0 : parent.depth + 1,
      outer: parent === null ? {} : dimsOf(parent, p!),
      keys: [...(parent?.keys ?? []), n, ...(v === undefined ? [] : [`${n}_value`])],
    };
    this.ranges.push(range);
    return { range, fresh: true };
  }

  /** The range of context `id`, or undefined when the journal never opened it (or this reader forgot it, see `forget`). */
  resolve(id: number): ContextRange | undefined {
    const found = this.find(id);
    if (found !== undefined) return found;
    const latest = this.latest;
    if (latest === undefined || id < end(latest) || !this.implied || this.unsure) return undefined;
    latest.count = id - latest.id + 1;
    return latest;
  }

  /** The known range of context `id`, implying nothing. */
  find(id: number): ContextRange | undefined {
    let low = 0;
    let high = this.ranges.length - 1;
    if (high < 0) return undefined;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.ranges[mid]!.id <= id) low = mid;
      else high = mid - 1;
    }
    const range = this.ranges[low]!;
    return range.id <= id && id < end(range) ? range : undefined;
  }

  /** A line could not be read: it may have been a `ctx` record, so ids past the latest context imply nothing until the next one. */
  lostTrack(): void {
    this.unsure = true;
  }

  /** Adds a range known from elsewhere (a store that read the journal's beginning), in order. */
  add(range: ContextRange): void {
    let at = this.ranges.length;
    while (at > 0 && this.ranges[at - 1]!.id > range.id) at--;
    if (at > 0 && this.ranges[at - 1]!.id === range.id) return;
    this.ranges.splice(at, 0, range);
  }

  /**
   * Forgets all but the latest `keep` ranges and those enclosing the latest context (the only contexts a
   * journal's next lines can log in), bounding memory.
   */
  forget(keep: number): void {
    if (this.ranges.length <= keep) return;
    const enclosing = new Set<ContextRange>();
    for (let at = this.latest; at !== undefined; at = at.p === null ? undefined : this.find(at.p)) enclosing.add(at);
    const firstRecent = this.ranges.length - keep;
    const kept = this.ranges.filter((range, index) => index >= firstRecent || enclosing.has(range));
    this.ranges.splice(0, this.ranges.length, ...kept);
  }
}

/** One past the last id of a range. */
function end(range: ContextRange): number {
  return range.id + range.count;
}

/** The dimensions of context `id` of `range`: the enclosing ones and its loop's index (and item). */
export function dimsOf(range: ContextRange, id: number): Record<string, JsonValue> {
  const dims: Record<string, JsonValue> = { ...range.outer, [range.n]: range.i + (id - range.id) };
  if (range.v !== undefined) dims[`${range.n}_value`] = range.v;
  return dims;
}

/** The `ctx` records a range stands for, in order (a reader that needs every context, such as replay's). */
export function contextsOf(range: ContextRange): ContextRecord[] {
  const records: ContextRecord[] = [];
  for (let k = 0; k < range.count; k++) {
    const record: ContextRecord = { k: "ctx", id: range.id + k, p: range.p, n: range.n, i: range.i + k };
    if (range.v !== undefined) record.v = range.v;
    records.push(record);
  }
  return records;
}

/**
 * The records with every context explicit, as format 1 wrote them: each implied context gets its `ctx`
 * record right before the record that implies it (for readers that follow a journal context by context,
 * such as replay's). Records are otherwise unchanged and in order.
 */
export function withExplicitContexts(records: readonly JournalRecord[], format: JournalFormat): JournalRecord[] {
  const ranges = new ContextRanges(format);
  const out: JournalRecord[] = [];
  let known = 0;
  const implyUpTo = (id: number): void => {
    if (id <= known) return;
    const range = ranges.resolve(id);
    if (range === undefined) return;
    for (let at = Math.max(known + 1, range.id); at <= id; at++)
      out.push(...contextsOf({ ...range, id: at, i: range.i + (at - range.id), count: 1 }));
    known = id;
  };
  for (const record of records) {
    switch (record.k) {
      case "ctx":
        implyUpTo(record.id - 1);
        ranges.open(record);
        known = Math.max(known, record.id);
        break;
      case "log":
        if (record.c !== null) implyUpTo(record.c);
        break;
      case "it":
        implyUpTo(record.id);
        break;
      case "its":
        implyUpTo(record.id + record.s.length - 1);
        break;
    }
    out.push(record);
  }
  return out;
}
