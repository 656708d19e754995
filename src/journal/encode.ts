import type { CheckpointCheckRecord, CheckpointRecord, ContextValue, JournalRecord } from "./records.js";
import { nameProblem } from "./names.js";
import { encodeLogValue } from "./value-encoding.js";

/**
 * Encodes a record as its journal line (with the newline). Each kind has one spelling: the hot-path
 * encoders below (JournalEncoder) and the checkpoint thread write the same bytes as this.
 */
export function encodeRecord(record: JournalRecord): string {
  switch (record.k) {
    case "log":
      return logLine(record.c, JSON.stringify(record.n), record.v);
    case "ctx":
      return contextLine(record.id, record.p, JSON.stringify(record.n), record.i, record.v);
    case "it":
      return iterationEndLine(record.id, record.s);
    case "its":
      return iterationTimesLine(record.id, record.s);
    case "ckpt":
      return encodeCheckpoint(record);
    case "ckcheck":
      return encodeCheckpointCheck(record);
    case "ckpolicy": {
      const { k, max, taken, skipped, fg, bg, loop } = record;
      return `${JSON.stringify({ k, max, taken, skipped, fg, bg, loop })}\n`;
    }
    case "run": {
      const { k, format, projid, tstamp, filename, vid, pid, host, argv, node, imp } = record;
      return `${JSON.stringify({ k, format, projid, tstamp, filename, vid, pid, host, argv, node, imp })}\n`;
    }
    case "arg": {
      // A non-finite number keeps its value (`"x"`, as in a log record) instead of turning into null.
      const { n, v, src } = record;
      if (typeof v === "number" && !Number.isFinite(v))
        return `{"k":"arg","n":${JSON.stringify(n)},${encodeLogValue(v)},"src":${JSON.stringify(src)}}\n`;
      return `${JSON.stringify({ k: record.k, n, v, src })}\n`;
    }
    case "loop": {
      const { k, c, n, count, t0, s } = record;
      return `${JSON.stringify({ k, c, n, count, t0, s })}\n`;
    }
    case "end": {
      const { k, status, exit, s, error } = record;
      return `${JSON.stringify({ k, status, exit, s, error })}\n`;
    }
    case "replay": {
      // The order replay journals have always had: the run's identity as the replay spec holds it (a jsonb column).
      const { k, format, vid, projid, tstamp, filename, job, task, attempt, names, loop, segments, before, after, pid, host, node } =
        record;
      return `${JSON.stringify({
        k,
        format,
        vid,
        projid,
        tstamp,
        filename,
        job,
        task,
        attempt,
        names,
        loop: loop === null ? null : { name: loop.name, iterations: loop.iterations },
        segments,
        before,
        after,
        pid,
        host,
        node,
      })}\n`;
    }
    case "phase":
      return `{"k":"phase","p":${JSON.stringify(record.p)}}\n`;
  }
}

/**
 * The encoders of the records a run writes per loop and per logged value. `flor.log` must stay a
 * cheap buffer append, so these build the line with one template string, and each name's JSON is
 * computed once per run.
 */
export class JournalEncoder {
  private readonly names = new Map<string, string>();

  /** Throws a TypeError (from encodeLogValue) for a value that cannot be logged. */
  log(c: number | null, name: string, value: unknown): string {
    return logLine(c, this.jsonName(name), value);
  }

  context(id: number, p: number | null, name: string, i: number, v: ContextValue | undefined): string {
    return contextLine(id, p, this.jsonName(name), i, v);
  }

  iterationTimes(id: number, s: readonly number[]): string {
    return iterationTimesLine(id, s);
  }

  private jsonName(name: string): string {
    let json = this.names.get(name);
    if (json === undefined) {
      // Checked once per name, off the hot path of later calls.
      const problem = nameProblem(name);
      if (problem !== null) throw new TypeError(problem);
      json = JSON.stringify(name);
      this.names.set(name, json);
    }
    return json;
  }
}

/**
 * The `ckpt` line. It must stay self-contained (no imports, no helpers): the checkpoint thread, an
 * eval'd worker that cannot import this module, runs its source (see src/checkpoints/checkpoint-writer.ts).
 */
export function encodeCheckpoint(record: CheckpointRecord): string {
  return `${JSON.stringify({ k: "ckpt", c: record.c, o: record.o, b: record.b, w: record.w, s: record.s })}\n`;
}

/** The `ckcheck` line; self-contained like encodeCheckpoint, for the same reason. */
export function encodeCheckpointCheck(record: CheckpointCheckRecord): string {
  return record.ok
    ? `${JSON.stringify({ k: "ckcheck", c: record.c, ok: true })}\n`
    : `${JSON.stringify({ k: "ckcheck", c: record.c, ok: false, o: record.o, p: record.p, r: record.r })}\n`;
}

function logLine(c: number | null, jsonName: string, value: unknown): string {
  return `{"k":"log","c":${c},"n":${jsonName},${encodeLogValue(value)}}\n`;
}

function contextLine(id: number, p: number | null, jsonName: string, i: number, v: ContextValue | undefined): string {
  return `{"k":"ctx","id":${id},"p":${p},"n":${jsonName},"i":${i}${v === undefined ? "" : `,"v":${JSON.stringify(v)}`}}\n`;
}

function iterationEndLine(id: number, s: number): string {
  return `{"k":"it","id":${id},"s":${s}}\n`;
}

function iterationTimesLine(id: number, s: readonly number[]): string {
  return `{"k":"its","id":${id},"s":[${s.join(",")}]}\n`;
}
