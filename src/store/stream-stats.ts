/** One stream's part of a batch: what it adds to the stream's row of log_stream_stats. */
interface StreamPart {
  values: number;
  present: number;
  numbers: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  unverified: number;
}

/** What a batch of values adds to their streams' partial aggregates, as columns to store. */
export interface StreamStatsRows {
  stream: number[];
  values: number[];
  present: number[];
  numbers: number[];
  sum: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
  unverified: number[];
}

/**
 * PostgreSQL's float8 order, which its min and max follow: NaN above every number (and equal to
 * itself), so that stored minima and maxima combine as the aggregates over the values would.
 */
function below(a: number, b: number): boolean {
  if (Number.isNaN(a)) return false;
  return Number.isNaN(b) || a < b;
}

/**
 * Per stream, the count, sum, min and max of a batch of values as ingest stores them (see
 * LogStreamStatsTable): numbers are `num` (a logged number, NaN and infinities included); a value
 * stored as JSON is never a number, and JSON `null` is not present.
 */
export class StreamStats {
  private readonly parts = new Map<number, StreamPart>();

  add(stream: number, num: number | null, json: string | null, unverified: boolean): void {
    let part = this.parts.get(stream);
    if (part === undefined) {
      part = { values: 0, present: 0, numbers: 0, sum: null, min: null, max: null, unverified: 0 };
      this.parts.set(stream, part);
    }
    part.values++;
    if (unverified) part.unverified++;
    if (num !== null) {
      part.present++;
      part.numbers++;
      part.sum = part.sum === null ? num : part.sum + num;
      if (part.min === null || below(num, part.min)) part.min = num;
      if (part.max === null || below(part.max, num)) part.max = num;
    } else if (json !== null && json !== "null") part.present++;
  }

  rows(): StreamStatsRows {
    const rows: StreamStatsRows = { stream: [], values: [], present: [], numbers: [], sum: [], min: [], max: [], unverified: [] };
    for (const [stream, part] of this.parts) {
      rows.stream.push(stream);
      rows.values.push(part.values);
      rows.present.push(part.present);
      rows.numbers.push(part.numbers);
      rows.sum.push(part.sum);
      rows.min.push(part.min);
      rows.max.push(part.max);
      rows.unverified.push(part.unverified);
    }
    return rows;
  }
}
