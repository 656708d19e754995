import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import path from "node:path";
import type { Kysely } from "kysely";
import type { ProjectLayout } from "../project-layout.js";
import type { EndRecord, JournalFormat, JournalRecord, JsonValue } from "../journal/records.js";
import { BadLine, decodeRecord } from "../journal/decode.js";
import { mergeKeys } from "../journal/dimension-keys.js";
import { describeProblem } from "../checkpoints/round-trip.js";
import { isAlive } from "./pglite-lock.js";
import { IncompleteReplay, ingestReplayJournal, replayStartOfJournal, type ReplayIngestResult, type ReplayStart } from "./ingest-replay.js";
import type { Database } from "./schema.js";
import type { Store, StoreTransaction } from "./open-store.js";
import { analyzeRecordedTables, ensureProject, forgetProject } from "./queries/projects.js";
import { journalStates, saveJournal } from "./queries/journals.js";
import { endRun, insertRun, markRunIncomplete, setCheckpointFacts } from "./queries/runs.js";
import { mergeLogNames, summarizeNewValues } from "./queries/logs.js";
import { addStreamStats } from "./queries/log-stream-stats.js";
import { addIterationTimes, saveRanges } from "./queries/loop-ranges.js";
import { KEEP_RANGES, RunReader, VALUE_COLUMNS, ValueBatch } from "./run-reader.js";
import { activeTaskIds } from "./queries/replay-tasks.js";
import { storedJson } from "../journal/lossless-json.js";

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

export interface IngestOptions {
  /** Forget the project's data and read every journal from the start. */
  rebuild?: boolean;
  /**
   * Bytes of journal handled per transaction (default 1 MiB): bounds memory, and a crash mid-ingest
   * loses no progress. A batch's records live until it is stored: 4 MiB batches held 40–50 MB more
   * at ingest's peak, for no faster ingest. Tests make it small to put batch boundaries everywhere.
   */
  chunkBytes?: number;
  /** Loop ranges a journal's reader keeps between batches (default 10,000; see RunReader). */
  keepRanges?: number;
}
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
  /** The journal's loop structure and value streams, while this process reads it. */
  reader: RunReader | null;
  keepRanges: number;
  problems: string[];
}

/**
 * Ingests the journals under `.flor/journals/` that are new or grew since the last call. Incremental
 * and idempotent: each journal's ingested byte offset is committed in the same transaction as its rows,
 * so a re-run adds nothing and an interrupted one resumes where it stopped. `rebuild` first forgets the
 * project's data and reads every journal from the start.
 */
export async function ingest(store: Store, layout: ProjectLayout, options: IngestOptions = {}): Promise<IngestReport> {
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
      reader: null,
      keepRanges: options.keepRanges ?? KEEP_RANGES,
      problems: [],
    };
    // A journal is complete once its `end` was read or its writer was found dead; one that grew since was
    // settled too early (by a flordb that decided liveness before reading) and is read on.
    if (state.complete && state.offset >= size) continue;
    state.complete = false;
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
    report.rows += await ingestJournal(store, projectId, absolute, size, state, options.chunkBytes ?? 1024 * 1024);
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
      // Counted with the runs' journals: `read` counts both, and must not exceed the total.
      report.journals++;
      const task = Number(/^task-(\d+)-/.exec(file)?.[1]);
      if (known.has(relative) || active.has(task)) continue;
      const absolute = path.join(dir, file);
      try {
        rows += await store.transaction(
          async (tx) => (await storeReplayJournal(tx, projectId, layout, absolute, null, replayStartOfJournal(absolute))).values,
        );
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
  start: ReplayStart,
): Promise<ReplayIngestResult & { journal: string }> {
  const result = await ingestReplayJournal(tx, projectId, absolute, taskId, start);
  const relative = path.relative(layout.florDir, absolute).split(path.sep).join("/");
  await saveJournal(tx.db, projectId, finishedJournal(relative, result.runId, absolute), { keepExisting: true });
  return { ...result, journal: relative };
}

/** A replay journal as stored once read: complete, at its full size. */
function finishedJournal(relative: string, runId: number | null, absolute: string) {
  return { path: relative, runId, offset: statSync(absolute).size, lines: 0, badLines: 0, complete: true };
}

async function ingestJournal(
  store: Store,
  projectId: number,
  file: string,
  sizeAtStart: number,
  state: JournalState,
  chunkBytes: number,
): Promise<number> {
  let size = sizeAtStart;
  let rows = 0;
  const fd = openSync(file, "r");
  try {
    if (state.runId !== null && state.reader === null && state.offset < size) {
      state.reader = new RunReader(headerFormat(fd), state.keepRanges);
      await state.reader.resume(store.db, state.runId);
    }
    let chunkSize = chunkBytes;
    for (;;) {
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
      if (state.complete || writerAlive(state)) break;
      // The writer is dead, so the journal is final now; it may have grown since its size was taken (the
      // run ended meanwhile, writing its last batch and its end), and that is read before settling.
      const final = fstatSync(fd).size;
      if (final <= size) {
        rows += await lastRecordWithoutNewline(store, projectId, fd, size, state);
        if (!state.complete) await settleStatus(store, projectId, state, size);
        break;
      }
      size = final;
    }
  } finally {
    closeSync(fd);
  }
  return rows;
}

/**
 * The end of a journal whose writer is dead, when it is a whole record without its newline (the write
 * of its batch was cut just before it): that record was written, so it is read like the others.
 */
async function lastRecordWithoutNewline(store: Store, projectId: number, fd: number, size: number, state: JournalState): Promise<number> {
  if (state.offset >= size) return 0;
  const tail = Buffer.allocUnsafe(size - state.offset);
  const text = tail.toString("utf8", 0, readSync(fd, tail, 0, tail.length, state.offset));
  if (decodeRecord(text) instanceof BadLine) return 0;
  return store.transaction(async (tx) => {
    const rows = await ingestLines(tx, projectId, `${text}\n`, state);
    state.offset = size;
    await saveState(tx.db, projectId, state);
    return rows;
  });
}

/** Whether the process writing a journal (as its header names it) still runs. */
function writerAlive(state: JournalState): boolean {
  return state.pid !== null && state.host !== null && isAlive({ pid: state.pid, host: state.host });
}

/** A journal read to its final size without an `end` record, its writer dead: the run is incomplete. */
async function settleStatus(store: Store, projectId: number, state: JournalState, size: number): Promise<void> {
  if (state.runId === null) return;
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

/** The format of a journal whose run header an earlier ingest read (a journal that grew since). */
function headerFormat(fd: number): JournalFormat {
  const buffer = Buffer.allocUnsafe(64 * 1024);
  const read = readSync(fd, buffer, 0, buffer.length, 0);
  const end = buffer.indexOf(10);
  const header = decodeRecord(buffer.toString("utf8", 0, end < 0 ? read : end));
  return header instanceof BadLine || header.k !== "run" ? 1 : header.format;
}

async function saveState(trx: Kysely<Database>, projectId: number, state: JournalState): Promise<void> {
  await saveJournal(trx, projectId, state);
}

/**
 * A line that is a JSON object: a record, or why it is not a valid one (reported in line order with the
 * rest); or a line that is not even that (reported at once), which may have been a `ctx` record.
 */
type Parsed = { line: number; record: JournalRecord | BadLine | "unreadable" };

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
    const record = decodeRecord(raw);
    if (record instanceof BadLine && record.unreadable) {
      bad(line, record.reason);
      parsed.push({ line, record: "unreadable" });
    } else parsed.push({ line, record });
  }

  if (state.runId === null) {
    while (parsed[0]?.record === "unreadable") parsed.shift();
    const first = parsed.shift();
    const header = first?.record as JournalRecord | BadLine | undefined;
    if (header === undefined || header instanceof BadLine || header.k !== "run") {
      const why = header instanceof BadLine ? ` (${header.reason})` : "";
      bad(
        first?.line ?? state.lines,
        `the journal does not start with a run header${why}; nothing in it can be attributed to a run, so it was skipped`,
      );
      state.complete = true;
      return 0;
    }
    state.tstamp = new Date(header.tstamp);
    state.pid = header.pid;
    state.host = header.host;
    state.runId = await insertRun(trx, projectId, {
      tstamp: state.tstamp,
      filename: header.filename,
      vid: header.vid,
      pid: state.pid,
      host: state.host,
      argv: header.argv,
      node: header.node,
      importSeconds: header.imp ?? null,
    });
    state.reader = new RunReader(header.format, state.keepRanges);
  }
  const runId = state.runId;
  const reader = state.reader!;

  const args = { name: [] as string[], value: [] as string[], source: [] as string[] };
  const values = new ValueBatch();
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
  const lateTimes = { ctx: [] as number[], seconds: [] as number[] };
  const catalog = new Map<string, { keys: string[]; count: number }>();
  let end: EndRecord | null = null;
  const checkpointFacts: { unusable?: string; policy?: JsonValue } = {};
  reader.startBatch();

  for (const { line, record } of parsed) {
    if (record === "unreadable") {
      reader.ranges.lostTrack();
      continue;
    }
    if (record instanceof BadLine) {
      bad(line, record.reason);
      continue;
    }
    switch (record.k) {
      case "log": {
        const { c, n, v } = record;
        const piece = c === null ? reader.outside : reader.pieceOf(c);
        if (piece === undefined) {
          bad(line, `log "${n}" refers to loop context ${c}, which the journal never opened`);
          break;
        }
        values.add(piece.stream(n), c, line, v);
        const keys = piece.keys;
        const entry = catalog.get(n);
        if (entry === undefined) catalog.set(n, { keys, count: 1 });
        else {
          entry.count++;
          if (entry.keys !== keys) entry.keys = mergeKeys(entry.keys, keys);
        }
        break;
      }
      case "ctx": {
        const opened = reader.open(record);
        if (typeof opened === "string") bad(line, opened);
        break;
      }
      case "it":
        reader.timed(record.id, record.s, lateTimes);
        break;
      case "its":
        for (let k = 0; k < record.s.length; k++) reader.timed(record.id + k, record.s[k]!, lateTimes);
        break;
      case "arg":
        args.name.push(record.n);
        args.value.push(storedJson(record.v));
        args.source.push(record.src);
        break;
      case "ckpt":
        checkpoints.ctx.push(record.c);
        checkpoints.objects.push(JSON.stringify(record.o));
        checkpoints.bytes.push(record.b);
        checkpoints.written.push(record.w);
        checkpoints.seconds.push(record.s);
        break;
      case "ckcheck":
        if (!record.ok) checkpointFacts.unusable = describeProblem({ object: record.o!, path: record.p!, reason: record.r! });
        break;
      case "ckpolicy": {
        const { max, taken, skipped, fg, bg, loop } = record;
        checkpointFacts.policy = { max, taken, skipped, fg, bg, loop };
        break;
      }
      case "loop":
        summaries.parent.push(record.c);
        summaries.name.push(record.n);
        summaries.iterations.push(record.count);
        summaries.start.push(record.t0);
        summaries.seconds.push(record.s);
        break;
      case "end":
        end = record;
        break;
      case "run":
        bad(line, "a second run header in one journal");
        break;
      case "replay":
      case "phase":
        bad(line, `a ${record.k} record belongs in a replay journal, not in a run's`);
        break;
    }
  }

  const constant = <T>(value: T, count: number): T[] => new Array<T>(count).fill(value);
  await tx.copy("args", [
    { name: "run_id", values: constant(runId, args.name.length) },
    { name: "name", values: args.name },
    { name: "value", values: args.value },
    { name: "source", values: args.source },
  ]);
  const ranges = reader.rangeUpdates();
  await saveRanges(trx, runId, ranges);
  await addIterationTimes(trx, runId, lateTimes.ctx, lateTimes.seconds);
  await reader.resolveStreams(trx, runId);
  await tx.copyBinary("log_values", VALUE_COLUMNS, values.rows());
  if (values.count > 0) await summarizeNewValues(trx);
  await addStreamStats(trx, values.stats().rows());
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
  if (checkpointFacts.unusable !== undefined || checkpointFacts.policy !== undefined) await setCheckpointFacts(trx, runId, checkpointFacts);
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
  reader.endBatch();
  return args.name.length + values.count + ranges.filter((r) => r.fresh).length + summaries.name.length + checkpoints.ctx.length;
}
