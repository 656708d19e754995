import type {
  ArgRecord,
  CheckpointCheckRecord,
  CheckpointPolicyRecord,
  CheckpointRecord,
  ContextRecord,
  EndRecord,
  IterationEndRecord,
  IterationTimesRecord,
  JournalFormat,
  JournalRecord,
  JsonValue,
  LogRecord,
  LoopEndRecord,
  PhaseRecord,
  ReplayHeaderRecord,
  RunRecord,
} from "./records.js";
import { nonFiniteNumber } from "./value-encoding.js";

/** Why a journal line is not a record. */
export class BadLine {
  constructor(
    /** What is wrong, for a message that names the file and line. */
    readonly reason: string,
    /**
     * The line is not a JSON object at all (a torn or corrupt write), rather than a JSON object that is
     * not a valid record.
     */
    readonly unreadable: boolean,
  ) {}
}

type JsonObject = { [key: string]: JsonValue };

/**
 * Decodes one journal line (without its newline) into a record, checking every field a reader uses;
 * a line that is not one gets a BadLine that says why. Fields a record does not know are ignored.
 */
export function decodeRecord(line: string): JournalRecord | BadLine {
  const log = decodeLogLine(line);
  if (log !== null) return log;
  let value: JsonValue;
  try {
    value = parseJson(line);
  } catch (error) {
    return new BadLine(`not valid JSON (${error instanceof Error ? error.message : String(error)})`, true);
  }
  if (!isObject(value)) return new BadLine("not a JSON object", true);
  const record = decodeObject(value);
  return typeof record === "string" ? new BadLine(record, false) : record;
}

/** JSON.parse (without a reviver) yields JSON values and nothing else. */
function parseJson(text: string): JsonValue {
  return JSON.parse(text);
}

/** The record, or the reason it is not one. */
function decodeObject(o: JsonObject): JournalRecord | string {
  switch (o["k"]) {
    case "log":
      return decodeLog(o);
    case "ctx":
      return decodeContext(o);
    case "it":
      return decodeIterationEnd(o);
    case "its":
      return decodeIterationTimes(o);
    case "arg":
      return decodeArg(o);
    case "ckpt":
      return decodeCheckpoint(o);
    case "ckcheck":
      return decodeCheckpointCheck(o);
    case "ckpolicy":
      return decodeCheckpointPolicy(o);
    case "loop":
      return decodeLoopEnd(o);
    case "end":
      return decodeEnd(o);
    case "run":
      return decodeRun(o);
    case "replay":
      return decodeReplayHeader(o);
    case "phase":
      return decodePhase(o);
    default:
      return `unknown record kind ${JSON.stringify(o["k"])}`;
  }
}

function decodeLog(o: JsonObject): LogRecord | string {
  const { c, n, v, x } = o;
  if (typeof n !== "string" || !isContextRef(c)) return 'a log record needs a name "n" and a context "c"';
  if (x !== undefined) {
    const number = nonFiniteNumber(x);
    if (number === undefined) return `a log record's "x" must be "NaN", "Infinity" or "-Infinity", got ${JSON.stringify(x)}`;
    return { k: "log", c, n, v: number };
  }
  if (v === undefined) return 'a log record needs a value "v" (or "x" for NaN and ±Infinity)';
  return { k: "log", c, n, v };
}

function decodeContext(o: JsonObject): ContextRecord | string {
  const { id, p, n, i, v } = o;
  if (!isInteger(id) || !isContextRef(p) || typeof n !== "string" || !isInteger(i))
    return 'a ctx record needs integer "id", "i", a parent "p" and a name "n"';
  if (v === undefined) return { k: "ctx", id, p, n, i };
  if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean")
    return `a ctx record's item "v" must be a string, number or boolean, got ${JSON.stringify(v)}`;
  return { k: "ctx", id, p, n, i, v };
}

function decodeIterationEnd(o: JsonObject): IterationEndRecord | string {
  const { id, s } = o;
  if (!isInteger(id) || typeof s !== "number") return 'an it record needs an integer "id" and seconds "s"';
  return { k: "it", id, s };
}

function decodeIterationTimes(o: JsonObject): IterationTimesRecord | string {
  const { id, s } = o;
  if (!isInteger(id) || !Array.isArray(s) || !s.every((x) => typeof x === "number"))
    return 'an its record needs an integer "id" and the seconds "s" of each iteration';
  return { k: "its", id, s: s as number[] };
}

function decodeArg(o: JsonObject): ArgRecord | string {
  const { n, v, x, src } = o;
  if (typeof n !== "string") return 'an arg record needs a name "n"';
  if (src !== "default" && src !== "kwargs")
    return `an arg record's source "src" must be "default" or "kwargs", got ${JSON.stringify(src)}`;
  if (x !== undefined) {
    const number = nonFiniteNumber(x);
    if (number === undefined) return `an arg record's "x" must be "NaN", "Infinity" or "-Infinity", got ${JSON.stringify(x)}`;
    return { k: "arg", n, v: number, src };
  }
  // JSON.stringify drops an undefined value, which a JavaScript caller can pass as a default.
  return { k: "arg", n, v: v ?? null, src };
}

function decodeCheckpoint(o: JsonObject): CheckpointRecord | string {
  const { c, o: objects, b, w, s } = o;
  if (!isInteger(c) || !isObject(objects) || typeof b !== "number" || typeof s !== "number")
    return 'a ckpt record needs "c", "o", "b" and "s"';
  if (typeof w !== "number") return 'a ckpt record needs the bytes written "w"';
  const hashes: Record<string, string> = {};
  for (const [name, hash] of Object.entries(objects)) {
    if (typeof hash !== "string") return `a ckpt record's object "${name}" needs a content hash, got ${JSON.stringify(hash)}`;
    hashes[name] = hash;
  }
  return { k: "ckpt", c, o: hashes, b, w, s };
}

function decodeCheckpointCheck(o: JsonObject): CheckpointCheckRecord | string {
  const { c, ok, o: object, p, r } = o;
  if (!isInteger(c) || typeof ok !== "boolean") return 'a ckcheck record needs "c" and "ok"';
  if (ok) return { k: "ckcheck", c, ok };
  if (typeof object !== "string" || typeof p !== "string" || typeof r !== "string")
    return 'a failed ckcheck record needs the object "o", the path "p" and the reason "r"';
  return { k: "ckcheck", c, ok, o: object, p, r };
}

function decodeCheckpointPolicy(o: JsonObject): CheckpointPolicyRecord | string {
  const { max, taken, skipped, fg, bg, loop } = o;
  if (!(max === null || typeof max === "number")) return 'a ckpolicy record needs the bound "max" (a fraction, or null)';
  if (!isInteger(taken) || !isInteger(skipped)) return 'a ckpolicy record needs integer "taken" and "skipped"';
  if (typeof fg !== "number" || typeof bg !== "number" || typeof loop !== "number")
    return 'a ckpolicy record needs seconds "fg", "bg" and "loop"';
  return { k: "ckpolicy", max, taken, skipped, fg, bg, loop };
}

function decodeLoopEnd(o: JsonObject): LoopEndRecord | string {
  const { c, n, count, t0, s } = o;
  if (!isContextRef(c) || typeof n !== "string" || !isInteger(count) || typeof s !== "number")
    return 'a loop record needs "c", "n", "count" and "s"';
  if (typeof t0 !== "number") return 'a loop record needs its start "t0"';
  return { k: "loop", c, n, count, t0, s };
}

function decodeEnd(o: JsonObject): EndRecord | string {
  const { status, exit, s, error } = o;
  if (status !== "ok" && status !== "failed") return `an end record's status must be "ok" or "failed", got ${JSON.stringify(status)}`;
  if (typeof s !== "number" || !(exit === null || isInteger(exit)))
    return 'an end record needs seconds "s" and an exit code "exit" (or null)';
  if (error === undefined) return { k: "end", status, exit, s };
  if (typeof error !== "string") return `an end record's "error" must be a string, got ${JSON.stringify(error)}`;
  return { k: "end", status, exit, s, error };
}

function decodeRun(o: JsonObject): RunRecord | string {
  const { format, projid, tstamp, filename, vid, pid, host, argv, node, imp } = o;
  if (!isFormat(format))
    return `a run header of journal format ${JSON.stringify(format)}; this flordb reads formats ${FORMATS.join(" and ")}`;
  const identity = runIdentity("a run header", projid, tstamp, filename, vid);
  if (typeof identity === "string") return identity;
  if (!isInteger(pid) || typeof host !== "string" || typeof node !== "string")
    return 'a run header needs the process id "pid", "host" and "node" version';
  if (!isStringArray(argv)) return 'a run header needs the script arguments "argv" (strings)';
  if (imp === undefined) return { k: "run", format, ...identity, pid, host, argv, node };
  if (typeof imp !== "number" || !(imp >= 0)) return `a run header's import seconds "imp" must be a number ≥ 0, got ${JSON.stringify(imp)}`;
  return { k: "run", format, ...identity, pid, host, argv, node, imp };
}

function decodeReplayHeader(o: JsonObject): ReplayHeaderRecord | string {
  const { format, projid, tstamp, filename, vid, job, task, attempt, names, loop, segments, before, after, pid, host, node } = o;
  if (!isFormat(format)) return `a replay header of format ${JSON.stringify(format)}; this flordb reads formats ${FORMATS.join(" and ")}`;
  const identity = runIdentity("a replay header", projid, tstamp, filename, vid);
  if (typeof identity === "string") return identity;
  if (!isInteger(job) || !isInteger(task) || !isInteger(attempt)) return 'a replay header needs integer "job", "task" and "attempt"';
  if (!isStringArray(names)) return 'a replay header needs the asked-for log "names" (strings)';
  let fastForwarded: ReplayHeaderRecord["loop"] = null;
  if (loop !== null) {
    if (!isObject(loop) || typeof loop["name"] !== "string" || !isInteger(loop["iterations"]))
      return 'a replay header\'s "loop" must be null or a loop "name" with its "iterations"';
    fastForwarded = { name: loop["name"], iterations: loop["iterations"] };
  }
  if (!Array.isArray(segments)) return 'a replay header needs iteration "segments"';
  const ranges: [number, number][] = [];
  for (const segment of segments) {
    if (!Array.isArray(segment) || segment.length !== 2 || !isInteger(segment[0]) || !isInteger(segment[1]))
      return `a replay header's segment must be [from, to], got ${JSON.stringify(segment)}`;
    ranges.push([segment[0], segment[1]]);
  }
  if (typeof before !== "boolean" || typeof after !== "boolean") return 'a replay header needs booleans "before" and "after"';
  if (!isInteger(pid) || typeof host !== "string" || typeof node !== "string")
    return 'a replay header needs the process id "pid", "host" and "node" version';
  return {
    k: "replay",
    format,
    ...identity,
    job,
    task,
    attempt,
    names,
    loop: fastForwarded,
    segments: ranges,
    before,
    after,
    pid,
    host,
    node,
  };
}

function decodePhase(o: JsonObject): PhaseRecord | string {
  const p = o["p"];
  if (p !== "loop" && p !== "after") return `a phase record's "p" must be "loop" or "after", got ${JSON.stringify(p)}`;
  return { k: "phase", p };
}

/** The run a header names: the same four fields in run and replay headers. */
function runIdentity(
  what: string,
  projid: JsonValue | undefined,
  tstamp: JsonValue | undefined,
  filename: JsonValue | undefined,
  vid: JsonValue | undefined,
): { vid: string | null; projid: string; tstamp: string; filename: string } | string {
  if (typeof projid !== "string" || typeof filename !== "string") return `${what} needs the project "projid" and the script "filename"`;
  if (typeof tstamp !== "string" || Number.isNaN(Date.parse(tstamp))) return `${what} needs the run's start "tstamp" (an ISO-8601 time)`;
  if (!(vid === null || typeof vid === "string")) return `${what} needs the code version "vid" (or null)`;
  return { vid, projid, tstamp, filename };
}

const FORMATS: readonly JournalFormat[] = [1, 2];

function isFormat(value: JsonValue | undefined): value is JournalFormat {
  return value === 1 || value === 2;
}

const LOG_PREFIX = '{"k":"log","c":';

/**
 * The common `log` line as the encoder spells it (an integer or null context, a name without escapes,
 * a finite number), read without JSON.parse: ingest reads millions of them. Any other line is null and
 * goes the general way, which reads every spelling.
 */
function decodeLogLine(line: string): LogRecord | null {
  if (!line.startsWith(LOG_PREFIX)) return null;
  let at = LOG_PREFIX.length;
  let c: number | null;
  if (line.startsWith("null", at)) {
    c = null;
    at += 4;
  } else {
    const end = digitsEnd(line, at);
    if (end === at || end - at > 15 || (line.charCodeAt(at) === 48 && end - at > 1)) return null;
    c = Number(line.slice(at, end));
    at = end;
  }
  if (!line.startsWith(',"n":"', at)) return null;
  const nameStart = at + 6;
  const nameEnd = line.indexOf('"', nameStart);
  if (nameEnd < 0) return null;
  const n = line.slice(nameStart, nameEnd);
  if (n.includes("\\") || hasControl(n)) return null;
  if (!line.startsWith(',"v":', nameEnd + 1)) return null;
  const valueStart = nameEnd + 6;
  if (line.charCodeAt(line.length - 1) !== 125) return null;
  const v = jsonNumber(line, valueStart, line.length - 1);
  return v === null ? null : { k: "log", c, n, v };
}

/** The end of a run of ASCII digits starting at `at`. */
function digitsEnd(text: string, at: number): number {
  let end = at;
  for (let code = text.charCodeAt(end); code >= 48 && code <= 57; code = text.charCodeAt(++end));
  return end;
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 32) return true;
  return false;
}

/** The JSON number that is exactly text[from, to), or null when it is not one. */
function jsonNumber(text: string, from: number, to: number): number | null {
  let at = from;
  if (text.charCodeAt(at) === 45) at++;
  const intEnd = digitsEnd(text, at);
  if (intEnd === at || (text.charCodeAt(at) === 48 && intEnd - at > 1)) return null;
  at = intEnd;
  if (text.charCodeAt(at) === 46) {
    const fracEnd = digitsEnd(text, at + 1);
    if (fracEnd === at + 1) return null;
    at = fracEnd;
  }
  const e = text.charCodeAt(at);
  if (e === 101 || e === 69) {
    at++;
    const sign = text.charCodeAt(at);
    if (sign === 43 || sign === 45) at++;
    const expEnd = digitsEnd(text, at);
    if (expEnd === at) return null;
    at = expEnd;
  }
  return at === to ? Number(text.slice(from, to)) : null;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isInteger(value: JsonValue | undefined): value is number {
  return Number.isInteger(value);
}

/** A context id, or null for outside every loop. */
function isContextRef(value: JsonValue | undefined): value is number | null {
  return value === null || Number.isInteger(value);
}

function isStringArray(value: JsonValue | undefined): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}
