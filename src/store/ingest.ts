import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import path from "node:path";
import type { Kysely } from "kysely";
import type { ProjectLayout } from "../project-layout.js";
import type { JsonValue } from "../journal/records.js";
import { isAlive } from "./pglite-lock.js";
import { IncompleteReplay, ingestReplayJournal, type ReplayIngestResult } from "./ingest-replay.js";
import type { Database } from "./schema.js";
import type { Store, StoreTransaction } from "./open-store.js";
import { analyzeRecordedTables, ensureProject, forgetProject } from "./queries/projects.js";
import { journalStates, saveJournal } from "./queries/journals.js";
import { endRun, insertRun, markRunIncomplete } from "./queries/runs.js";
import { mergeLogNames, setIterationSeconds, storedContexts } from "./queries/logs.js";
import { activeTaskIds } from "./queries/replay-tasks.js";

export interface IngestReport {
  /** The store's id of the project, created by the first ingest. */
  projectId: number;
  /** Journal files found. */
  journals: number;
  /** Journal files that had something new. */
  read: number;
  runs: number;
  rows: number;
  /** Malformed lines and skipped journals, one message each, with file and line. */
  problems: string[];
  seconds: number;
}

/** Bytes of journal handled per transaction: bounds memory, and a crash mid-ingest loses no progress. */
const CHUNK_BYTES = 16 * 1024 * 1024;
const MAX_PROBLEMS_PER_JOURNAL = 5;
const ANALYZE_AFTER_ROWS = 50_000;

/** Where ingestion of one journal stands; persisted in `journals`, rebuilt from it on the next call. */
interface JournalState {
  path: string;
  runId: number | null;
  offset: number;
  lines: number;
  badLines: number;
  complete: boolean;
  tstamp: Date | null;
  pid: number | null;
  host: string | null;
  /** ctx id → its dims and the dimension keys (outer loop first); filled from the journal or the store. */
  contexts: Map<number, { dims: Record<string, JsonValue>; keys: string[]; depth: number }>;
  problems: string[];
}

/**
 * Ingests the journals under `.flor/journals/` that are new or grew since the last call. Incremental
 * and idempotent: each journal's ingested byte offset is committed in the same transaction as its rows,
 * so a re-run adds nothing and an interrupted one resumes where it stopped. `rebuild` first forgets the
 * project's data and reads every journal from the start.
 */
export async function ingest(store: Store, layout: ProjectLayout, options: { rebuild?: boolean } = {}): Promise<IngestReport> {
  const started = performance.now();
  const db = store.db;
  const projectId = await ensureProject(db, layout.projid);
  if (options.rebuild) await store.transaction(({ db: trx }) => forgetProject(trx, projectId));

  const files = existsSync(layout.journalsDir)
    ? readdirSync(layout.journalsDir)
        .filter((f) => f.endsWith(".jsonl"))
        .sort()
    : [];
  const known = await journalStates({ db, projectId });

  const report: IngestReport = { projectId, journals: files.length, read: 0, runs: 0, rows: 0, problems: [], seconds: 0 };
  for (const file of files) {
    const relative = `journals/${file}`;
    const absolute = path.join(layout.journalsDir, file);
    const size = statSync(absolute).size;
    const row = known.get(relative);
    const state: JournalState = {
      path: relative,
      runId: row?.runId ?? null,
      offset: row?.offset ?? 0,
      lines: row?.lines ?? 0,
      badLines: row?.badLines ?? 0,
      complete: row?.complete ?? false,
      tstamp: row?.tstamp ?? null,
      pid: row?.pid ?? null,
      host: row?.host ?? null,
      contexts: new Map(),
      problems: [],
    };
    if (state.complete) continue;
    if (
      state.offset >= size &&
      state.runId !== null &&
      state.pid !== null &&
      state.host !== null &&
      isAlive({ pid: state.pid, host: state.host })
    )
      continue;
    report.read++;
    if (state.runId === null) report.runs++;
    report.rows += await ingestJournal(store, projectId, absolute, size, state);
    report.problems.push(...state.problems);
  }
  report.rows += await ingestReplayJournals(store, layout, projectId, new Set(known.keys()), report);
  // Query plans depend on table statistics, and PGlite has no autovacuum to gather them: after a large
  // ingest a pivot over a million rows otherwise runs as a million index lookups.
  if (report.rows >= ANALYZE_AFTER_ROWS) await analyzeRecordedTables(db);
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/**
 * Ingests finished replay journals that the store does not have: after a rebuild, or when the process
 * that ran a task died before storing it. Journals of attempts that failed, or of tasks still queued or
 * running somewhere, are left alone; coverage keeps a value from being stored twice.
 */
async function ingestReplayJournals(
  store: Store,
  layout: ProjectLayout,
  projectId: number,
  known: Set<string>,
  report: IngestReport,
): Promise<number> {
  if (!existsSync(layout.replaysDir)) return 0;
  const active = await activeTaskIds(store.db);
  let rows = 0;
  for (const job of readdirSync(layout.replaysDir).sort()) {
    const dir = path.join(layout.replaysDir, job);
    if (!statSync(dir).isDirectory()) continue;
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith(".jsonl"))
      .sort()) {
      const relative = `replays/${job}/${file}`;
      const task = Number(/^task-(\d+)-/.exec(file)?.[1]);
      if (known.has(relative) || active.has(task)) continue;
      const absolute = path.join(dir, file);
      try {
        rows += await store.transaction(async (tx) => (await storeReplayJournal(tx, projectId, layout, absolute, null)).values);
        report.read++;
      } catch (error) {
        if (!(error instanceof IncompleteReplay)) throw error;
        // A failed attempt: remembered, so it is not read again.
        await saveJournal(store.db, projectId, finishedJournal(relative, null, absolute), { keepExisting: true });
      }
    }
  }
  return rows;
}

/**
 * Stores a finished replay journal inside `tx`: its values (see ingestReplayJournal) and the journal as
 * read, so it is never read again. Throws IncompleteReplay for a journal of a failed attempt.
 */
export async function storeReplayJournal(
  tx: StoreTransaction,
  projectId: number,
  layout: ProjectLayout,
  absolute: string,
  taskId: number | null,
): Promise<ReplayIngestResult & { journal: string }> {
  const result = await ingestReplayJournal(tx, projectId, absolute, taskId);
  const relative = path.relative(layout.florDir, absolute).split(path.sep).join("/");
  await saveJournal(tx.db, projectId, finishedJournal(relative, result.runId, absolute), { keepExisting: true });
  return { ...result, journal: relative };
}

/** A replay journal as stored once read: complete, at its full size. */
function finishedJournal(relative: string, runId: number | null, absolute: string) {
  return { path: relative, runId, offset: statSync(absolute).size, lines: 0, badLines: 0, complete: true };
}

async function ingestJournal(store: Store, projectId: number, file: string, size: number, state: JournalState): Promise<number> {
  let rows = 0;
  const fd = openSync(file, "r");
  try {
    let chunkSize = CHUNK_BYTES;
    while (state.offset < size && !state.complete) {
      const length = Math.min(chunkSize, size - state.offset);
      const buffer = Buffer.allocUnsafe(length);
      const read = readSync(fd, buffer, 0, length, state.offset);
      const end = buffer.lastIndexOf(10, read - 1);
      if (end < 0) {
        if (state.offset + read < size) {
          chunkSize *= 2; // one line longer than a chunk
          continue;
        }
        break; // an unfinished last line: the run is still writing it, or was killed mid-write
      }
      const text = buffer.toString("utf8", 0, end + 1);
      await store.transaction(async (tx) => {
        rows += await ingestLines(tx, projectId, text, state);
        state.offset += end + 1;
        await saveState(tx.db, projectId, state);
      });
    }
    if (!state.complete) await settleStatus(store, projectId, state, size);
  } finally {
    closeSync(fd);
  }
  return rows;
}

/** A journal without an `end` record: its run is still going, or it died (then it is incomplete). */
async function settleStatus(store: Store, projectId: number, state: JournalState, size: number): Promise<void> {
  if (state.runId === null) return;
  const alive = state.pid !== null && state.host !== null && isAlive({ pid: state.pid, host: state.host });
  if (alive) return;
  if (state.offset < size) {
    state.problems.push(
      `${state.path}: ignored an unfinished last line (${size - state.offset} bytes; the run was killed while writing it)`,
    );
    state.offset = size;
  }
  state.complete = true;
  await store.transaction(async ({ db }) => {
    await markRunIncomplete(db, state.runId!);
    await saveState(db, projectId, state);
  });
}

async function saveState(trx: Kysely<Database>, projectId: number, state: JournalState): Promise<void> {
  await saveJournal(trx, projectId, state);
}

type Parsed = { line: number; record: Record<string, unknown> };

async function ingestLines(tx: StoreTransaction, projectId: number, text: string, state: JournalState): Promise<number> {
  const trx = tx.db;
  const bad = (line: number, why: string): void => {
    state.badLines++;
    if (state.problems.length < MAX_PROBLEMS_PER_JOURNAL) state.problems.push(`${state.path}:${line}: ${why}`);
    else if (state.problems.length === MAX_PROBLEMS_PER_JOURNAL) state.problems.push(`${state.path}: more malformed lines skipped`);
  };

  const parsed: Parsed[] = [];
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf("\n", start);
    const raw = text.slice(start, newline);
    start = newline + 1;
    const line = ++state.lines;
    if (raw.trim() === "") continue;
    try {
      const record: unknown = JSON.parse(raw);
      if (typeof record !== "object" || record === null || Array.isArray(record)) bad(line, "not a JSON object");
      else parsed.push({ line, record: record as Record<string, unknown> });
    } catch (error) {
      bad(line, `not valid JSON (${(error as Error).message})`);
    }
  }

  if (state.runId === null) {
    const first = parsed.shift();
    const header = first?.record;
    if (header === undefined || header["k"] !== "run" || typeof header["tstamp"] !== "string" || typeof header["filename"] !== "string") {
      bad(
        first?.line ?? state.lines,
        "the journal does not start with a run header; nothing in it can be attributed to a run, so it was skipped",
      );
      state.complete = true;
      return 0;
    }
    state.tstamp = new Date(header["tstamp"]);
    state.pid = typeof header["pid"] === "number" ? header["pid"] : null;
    state.host = typeof header["host"] === "string" ? header["host"] : null;
    state.runId = await insertRun(trx, projectId, {
      tstamp: state.tstamp,
      filename: header["filename"],
      vid: typeof header["vid"] === "string" ? header["vid"] : null,
      pid: state.pid,
      host: state.host,
      argv: Array.isArray(header["argv"]) ? (header["argv"] as JsonValue[]) : [],
      node: typeof header["node"] === "string" ? header["node"] : null,
    });
  }
  const runId = state.runId;

  await loadMissingContexts(trx, runId, parsed, state);

  const args = { name: [] as string[], value: [] as string[], source: [] as string[] };
  const loops = {
    ctx: [] as number[],
    parent: [] as (number | null)[],
    name: [] as string[],
    iteration: [] as number[],
    value: [] as (string | null)[],
    depth: [] as number[],
    dims: [] as string[],
    seconds: [] as (number | null)[],
  };
  const logs = {
    seq: [] as number[],
    ctx: [] as (number | null)[],
    name: [] as string[],
    num: [] as (number | null)[],
    value: [] as (string | null)[],
  };
  const summaries = {
    parent: [] as (number | null)[],
    name: [] as string[],
    iterations: [] as number[],
    start: [] as number[],
    seconds: [] as number[],
  };
  const checkpoints = {
    ctx: [] as number[],
    objects: [] as string[],
    bytes: [] as number[],
    written: [] as number[],
    seconds: [] as number[],
  };
  const loopIndex = new Map<number, number>();
  const lateSeconds = { ctx: [] as number[], seconds: [] as number[] };
  const catalog = new Map<string, { keys: string[]; count: number }>();
  let end: Record<string, unknown> | null = null;

  for (const { line, record } of parsed) {
    switch (record["k"]) {
      case "log": {
        const c = record["c"];
        const n = record["n"];
        if (typeof n !== "string" || !(c === null || Number.isInteger(c))) {
          bad(line, 'a log record needs a name "n" and a context "c"');
          break;
        }
        const context = c === null ? null : state.contexts.get(c as number);
        if (context === undefined) {
          bad(line, `log "${n}" refers to loop context ${c}, which the journal never opened`);
          break;
        }
        const x = record["x"];
        const v = record["v"];
        logs.seq.push(line);
        logs.ctx.push(c as number | null);
        logs.name.push(n);
        if (x !== undefined) {
          logs.num.push(x === "NaN" ? NaN : x === "-Infinity" ? -Infinity : Infinity);
          logs.value.push(null);
        } else if (typeof v === "number") {
          logs.num.push(v);
          logs.value.push(null);
        } else {
          logs.num.push(null);
          logs.value.push(JSON.stringify(v ?? null));
        }
        const entry = catalog.get(n);
        const keys = context === null ? [] : context.keys;
        if (entry === undefined) catalog.set(n, { keys, count: 1 });
        else {
          entry.count++;
          if (entry.keys !== keys) entry.keys = mergeKeys(entry.keys, keys);
        }
        break;
      }
      case "ctx": {
        const { id, p, n, i, v } = record;
        if (!Number.isInteger(id) || !(p === null || Number.isInteger(p)) || typeof n !== "string" || !Number.isInteger(i)) {
          bad(line, 'a ctx record needs integer "id", "i", a parent "p" and a name "n"');
          break;
        }
        const parent = p === null ? null : state.contexts.get(p as number);
        if (parent === undefined) {
          bad(line, `loop "${n}" is nested in context ${p}, which the journal never opened`);
          break;
        }
        const dims: Record<string, JsonValue> = { ...(parent?.dims ?? {}), [n]: i as number };
        const keys = [...(parent?.keys ?? []), n];
        if (v !== undefined) {
          dims[`${n}_value`] = v as JsonValue;
          keys.push(`${n}_value`);
        }
        const depth = (parent?.depth ?? -1) + 1;
        state.contexts.set(id as number, { dims, keys, depth });
        loopIndex.set(id as number, loops.ctx.length);
        loops.ctx.push(id as number);
        loops.parent.push(p as number | null);
        loops.name.push(n);
        loops.iteration.push(i as number);
        loops.value.push(v === undefined ? null : JSON.stringify(v));
        loops.depth.push(depth);
        loops.dims.push(JSON.stringify(dims));
        loops.seconds.push(null);
        break;
      }
      case "it": {
        const { id, s } = record;
        if (!Number.isInteger(id) || typeof s !== "number") {
          bad(line, 'an it record needs an integer "id" and seconds "s"');
          break;
        }
        const index = loopIndex.get(id as number);
        if (index !== undefined) loops.seconds[index] = s;
        else {
          lateSeconds.ctx.push(id as number);
          lateSeconds.seconds.push(s);
        }
        break;
      }
      case "arg": {
        if (typeof record["n"] !== "string") {
          bad(line, 'an arg record needs a name "n"');
          break;
        }
        args.name.push(record["n"]);
        args.value.push(JSON.stringify(record["v"] ?? null));
        args.source.push(record["src"] === "kwargs" ? "kwargs" : "default");
        break;
      }
      case "ckpt": {
        const { c, o, b, w, s } = record;
        if (!Number.isInteger(c) || typeof o !== "object" || o === null || typeof b !== "number" || typeof s !== "number") {
          bad(line, 'a ckpt record needs "c", "o", "b" and "s"');
          break;
        }
        checkpoints.ctx.push(c as number);
        checkpoints.objects.push(JSON.stringify(o));
        checkpoints.bytes.push(b);
        checkpoints.written.push(typeof w === "number" ? w : b);
        checkpoints.seconds.push(s);
        break;
      }
      case "loop": {
        const { c, n, count, t0, s } = record;
        if (!(c === null || Number.isInteger(c)) || typeof n !== "string" || !Number.isInteger(count) || typeof s !== "number") {
          bad(line, 'a loop record needs "c", "n", "count" and "s"');
          break;
        }
        summaries.parent.push(c as number | null);
        summaries.name.push(n);
        summaries.iterations.push(count as number);
        summaries.start.push(typeof t0 === "number" ? t0 : 0);
        summaries.seconds.push(s);
        break;
      }
      case "end":
        end = record;
        break;
      case "run":
        bad(line, "a second run header in one journal");
        break;
      default:
        bad(line, `unknown record kind ${JSON.stringify(record["k"])}`);
    }
  }

  const constant = <T>(value: T, count: number): T[] => new Array<T>(count).fill(value);
  await tx.copy("args", [
    { name: "run_id", values: constant(runId, args.name.length) },
    { name: "name", values: args.name },
    { name: "value", values: args.value },
    { name: "source", values: args.source },
  ]);
  await tx.copy("loops", [
    { name: "run_id", values: constant(runId, loops.ctx.length) },
    { name: "ctx_id", values: loops.ctx },
    { name: "parent_ctx_id", values: loops.parent },
    { name: "name", values: loops.name },
    { name: "iteration", values: loops.iteration },
    { name: "value", values: loops.value },
    { name: "depth", values: loops.depth },
    { name: "dims", values: loops.dims },
    { name: "seconds", values: loops.seconds },
  ]);
  await setIterationSeconds(trx, runId, lateSeconds.ctx, lateSeconds.seconds);
  await tx.copy("logs", [
    { name: "run_id", values: constant(runId, logs.seq.length) },
    { name: "seq", values: logs.seq },
    { name: "ctx_id", values: logs.ctx },
    { name: "name", values: logs.name },
    { name: "num", values: logs.num },
    { name: "value", values: logs.value },
  ]);
  await tx.copy("loop_summaries", [
    { name: "run_id", values: constant(runId, summaries.name.length) },
    { name: "parent_ctx_id", values: summaries.parent },
    { name: "name", values: summaries.name },
    { name: "iterations", values: summaries.iterations },
    { name: "start_offset", values: summaries.start },
    { name: "seconds", values: summaries.seconds },
  ]);
  await tx.copy("checkpoints", [
    { name: "run_id", values: constant(runId, checkpoints.ctx.length) },
    { name: "ctx_id", values: checkpoints.ctx },
    { name: "objects", values: checkpoints.objects },
    { name: "bytes", values: checkpoints.bytes },
    { name: "written_bytes", values: checkpoints.written },
    { name: "seconds", values: checkpoints.seconds },
  ]);
  const names = [...catalog.keys()];
  await mergeLogNames(
    trx,
    runId,
    names,
    names.map((n) => catalog.get(n)!.keys),
    names.map((n) => catalog.get(n)!.count),
  );
  if (end !== null) {
    const seconds = typeof end["s"] === "number" ? end["s"] : null;
    const status = (["ok", "failed"] as const).find((s) => s === end!["status"]) ?? "failed";
    await endRun(trx, runId, {
      status,
      seconds,
      exitCode: typeof end["exit"] === "number" ? end["exit"] : null,
      error: typeof end["error"] === "string" ? end["error"] : null,
      endedAt: seconds === null || state.tstamp === null ? null : new Date(state.tstamp.getTime() + seconds * 1000),
    });
    state.complete = true;
  }
  return args.name.length + loops.ctx.length + logs.seq.length + summaries.name.length + checkpoints.ctx.length;
}

/** When a journal is ingested in several calls, contexts opened earlier are read back from the store. */
async function loadMissingContexts(trx: Kysely<Database>, runId: number, parsed: Parsed[], state: JournalState): Promise<void> {
  const defined = new Set<number>();
  const missing = new Set<number>();
  for (const { record } of parsed) {
    if (record["k"] === "ctx" && Number.isInteger(record["id"])) defined.add(record["id"] as number);
    const ref = record["k"] === "ctx" ? record["p"] : record["k"] === "log" ? record["c"] : null;
    if (Number.isInteger(ref) && !defined.has(ref as number) && !state.contexts.has(ref as number)) missing.add(ref as number);
  }
  if (missing.size === 0) return;
  const { rows, tree: keys } = await storedContexts(trx, runId, [...missing]);
  const byId = new Map(keys.map((k) => [k.ctx_id, k]));
  for (const row of rows) {
    const path: string[] = [];
    for (let at = byId.get(row.ctx_id); at !== undefined; at = at.parent_ctx_id === null ? undefined : byId.get(at.parent_ctx_id)) {
      path.unshift(...(at.value === null ? [at.name] : [at.name, `${at.name}_value`]));
    }
    state.contexts.set(row.ctx_id, { dims: row.dims as Record<string, JsonValue>, keys: path, depth: row.depth });
  }
}

/** The union of two dimension-key lists, keeping first appearance order. */
function mergeKeys(a: string[], b: string[]): string[] {
  const merged = [...a];
  for (const key of b) if (!merged.includes(key)) merged.push(key);
  return merged;
}
