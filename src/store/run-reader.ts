import type { Kysely } from "kysely";
import { ContextRanges, type ContextRange } from "../journal/context-ranges.js";
import type { ContextRecord, ContextValue, JournalFormat, JsonValue } from "../journal/records.js";
import { BinaryRows } from "./binary-rows.js";
import { RANGE_SPAN, type Database } from "./schema.js";
import { rangeHolding, type RangeUpdate } from "./queries/loop-ranges.js";
import { findStreams, insertStreams, type StreamKey } from "./queries/logs.js";
import { storedJson } from "../journal/lossless-json.js";
import { StreamStats } from "./stream-stats.js";

/** Ranges kept in memory between batches besides the ones enclosing the latest context (by default). */
export const KEEP_RANGES = 10_000;

/** The columns of log_values, in the order ValueBatch writes them. */
export const VALUE_COLUMNS = ["stream_id", "ctx_id", "seq", "num", "value"] as const;

/** A stream of values, named before the store has given it an id. */
interface StreamRef extends StreamKey {
  id: number | null;
}

/**
 * A stored range (a piece of a journal's context range that does not cross a multiple of RANGE_SPAN)
 * or, with `range` null, the values outside every loop; with what a batch of lines adds to it.
 */
class Piece {
  /** One past the last context the journal has referred to in it. */
  end: number;
  seconds = 0;
  timed = 0;
  touched = false;
  /** In the store already (its row may grow). */
  saved: boolean;
  private readonly streams = new Map<string, StreamRef>();

  constructor(
    readonly range: ContextRange | null,
    readonly start: number | null,
    /** Stored by an earlier ingest (whose streams this reader has not seen). */
    readonly loaded: boolean,
  ) {
    this.end = start ?? 0;
    this.saved = loaded;
  }

  get keys(): string[] {
    return this.range?.keys ?? [];
  }

  stream(name: string): StreamRef {
    let ref = this.streams.get(name);
    if (ref === undefined) {
      ref = { name, ctx: this.start, id: null };
      this.streams.set(name, ref);
    }
    return ref;
  }

  unresolved(): StreamRef[] {
    return [...this.streams.values()].filter((ref) => ref.id === null);
  }
}

/**
 * What ingest holds in memory about one run journal while it reads it, batch by batch: the journal's
 * context ranges, the stored ranges and value streams they map to, and what the current batch adds to
 * them. Memory stays bounded whatever the journal's size: old ranges are forgotten between batches (a
 * journal's next lines only log in the contexts that enclose its latest one), and a reader that resumes
 * a journal another process began reads those back from the store.
 */
export class RunReader {
  readonly ranges: ContextRanges;
  outside: Piece;
  private readonly pieces = new Map<number, Piece>();
  private touched: Piece[] = [];
  private last: Piece | null = null;

  constructor(
    format: JournalFormat,
    private readonly keep: number,
  ) {
    this.ranges = new ContextRanges(format);
    this.outside = new Piece(null, null, false);
  }

  /** Continues a journal an earlier ingest read in part: its latest stored range and the ranges enclosing it. */
  async resume(db: Kysely<Database>, runId: number): Promise<void> {
    this.outside = new Piece(null, null, true);
    const chain = [];
    for (let at = await rangeHolding(db, runId, null); at !== undefined; ) {
      chain.unshift(at);
      at = at.parent_ctx_id === null ? undefined : await rangeHolding(db, runId, at.parent_ctx_id);
    }
    let keys: string[] = [];
    for (const stored of chain) {
      const v = stored.value === null ? undefined : (stored.value as ContextValue);
      keys = [...keys, stored.name, ...(v === undefined ? [] : [`${stored.name}_value`])];
      const range: ContextRange = {
        id: stored.ctx_id,
        p: stored.parent_ctx_id,
        n: stored.name,
        i: stored.iteration,
        v,
        count: stored.count,
        depth: stored.depth,
        outer: stored.outer_dims as Record<string, JsonValue>,
        keys,
      };
      this.ranges.add(range);
      const piece = new Piece(range, range.id, true);
      piece.end = range.id + range.count;
      this.pieces.set(range.id, piece);
    }
  }

  startBatch(): void {
    this.touched = [];
  }

  /** A `ctx` record; a string says why it cannot be placed. */
  open(record: ContextRecord): string | undefined {
    const opened = this.ranges.open(record);
    if (typeof opened === "string") return opened;
    this.piece(opened.range, record.id);
    return undefined;
  }

  /** The stored range of context `ctx`, which the batch then stores; undefined when the journal never opened it. */
  pieceOf(ctx: number): Piece | undefined {
    const range = this.ranges.resolve(ctx);
    return range === undefined ? undefined : this.piece(range, ctx);
  }

  /** Iteration `ctx` took `seconds`; the times of contexts no longer in memory go to `late`, for the store to place. */
  timed(ctx: number, seconds: number, late: { ctx: number[]; seconds: number[] }): void {
    const piece = this.pieceOf(ctx);
    if (piece === undefined) {
      late.ctx.push(ctx);
      late.seconds.push(seconds);
      return;
    }
    piece.seconds += seconds;
    piece.timed++;
  }

  /** The stored ranges this batch touched, as rows to save (`fresh`: first seen in this batch). */
  rangeUpdates(): (RangeUpdate & { fresh: boolean })[] {
    return this.touched.map((piece) => {
      const range = piece.range!;
      const start = piece.start!;
      return {
        ctx: start,
        count: piece.end - start,
        parent: range.p,
        name: range.n,
        iteration: range.i + (start - range.id),
        value: range.v === undefined ? null : storedJson(range.v),
        depth: range.depth,
        outer: JSON.stringify(range.outer),
        seconds: piece.seconds,
        timed: piece.timed,
        fresh: !piece.saved,
      };
    });
  }

  /** Gives every stream the batch used an id: the stored one, or a new one. */
  async resolveStreams(db: Kysely<Database>, runId: number): Promise<void> {
    const pieces = [this.outside, ...this.touched];
    const lookup = pieces.filter((piece) => piece.loaded).flatMap((piece) => piece.unresolved());
    const found = await findStreams(db, runId, lookup);
    lookup.forEach((ref, i) => {
      ref.id = found[i] ?? null;
    });
    const fresh = pieces.flatMap((piece) => piece.unresolved());
    const ids = await insertStreams(db, runId, fresh);
    fresh.forEach((ref, i) => {
      ref.id = ids[i]!;
    });
  }

  /** The batch is stored: its times are counted, and ranges the journal can no longer log in are forgotten. */
  endBatch(): void {
    for (const piece of this.touched) {
      piece.saved = true;
      piece.seconds = 0;
      piece.timed = 0;
      piece.touched = false;
    }
    this.touched = [];
    this.ranges.forget(this.keep);
    if (this.pieces.size > this.keep) {
      for (const [start, piece] of this.pieces) if (this.ranges.find(start) !== piece.range) this.pieces.delete(start);
      this.last = null;
    }
  }

  /** The piece of `range` that holds `ctx`, marked as touched by this batch. */
  private piece(range: ContextRange, ctx: number): Piece {
    const start = Math.max(range.id, ctx - (ctx % RANGE_SPAN));
    let piece: Piece | undefined = this.last ?? undefined;
    if (piece === undefined || piece.start !== start || piece.range !== range) {
      piece = this.pieces.get(start);
      if (piece === undefined || piece.range !== range) {
        piece = new Piece(range, start, false);
        this.pieces.set(start, piece);
      }
      this.last = piece;
    }
    if (ctx >= piece.end) piece.end = ctx + 1;
    if (!piece.touched) {
      piece.touched = true;
      this.touched.push(piece);
    }
    return piece;
  }
}

/** The logged values of a batch, in journal order, to be copied once their streams have ids. */
export class ValueBatch {
  private readonly refs: StreamRef[] = [];
  private readonly ctx: (number | null)[] = [];
  private readonly seq: number[] = [];
  private readonly num: (number | null)[] = [];
  private readonly json: (string | null)[] = [];

  get count(): number {
    return this.refs.length;
  }

  add(ref: StreamRef, ctx: number | null, seq: number, value: JsonValue): void {
    this.refs.push(ref);
    this.ctx.push(ctx);
    this.seq.push(seq);
    if (typeof value === "number") {
      this.num.push(value);
      this.json.push(null);
    } else {
      this.num.push(null);
      this.json.push(storedJson(value));
    }
  }

  /** What the batch adds to its streams' partial aggregates; every stream must have its id by now. */
  stats(): StreamStats {
    const stats = new StreamStats();
    for (let i = 0; i < this.refs.length; i++) stats.add(this.refs[i]!.id!, this.num[i]!, this.json[i]!, false);
    return stats;
  }

  /** The rows, in binary COPY format; every stream must have its id by now. */
  rows(): BinaryRows {
    const rows = new BinaryRows(this.refs.length * 40 + 64);
    for (let i = 0; i < this.refs.length; i++) {
      rows.row(VALUE_COLUMNS.length);
      rows.int4(this.refs[i]!.id);
      rows.int4(this.ctx[i]!);
      rows.int4(this.seq[i]!);
      rows.float8(this.num[i]!);
      rows.jsonb(this.json[i]!);
    }
    return rows;
  }
}
