import { readFileSync } from "node:fs";
import type { Kysely } from "kysely";
import type { JournalRecord, JsonValue, PhaseRecord, ReplayHeaderRecord } from "../journal/records.js";
import { BadLine, decodeRecord } from "../journal/decode.js";
import { mergeKeys } from "../journal/dimension-keys.js";
import type { Database } from "./schema.js";
import type { StoreTransaction } from "./open-store.js";
import { findRunId } from "./queries/runs.js";
import {
  findStreams,
  insertStreams,
  loggedNames,
  logNameRows,
  recordedValues,
  replaceLogNames,
  summarizeNewValues,
  type StreamKey,
} from "./queries/logs.js";
import { allRanges, rangesOverlapping, topRanges } from "./queries/loop-ranges.js";
import { RecordedContexts } from "./recorded-contexts.js";
import { withExplicitContexts } from "../journal/context-ranges.js";
import { BinaryRows } from "./binary-rows.js";
import { VALUE_COLUMNS } from "./run-reader.js";
import { StreamStats } from "./stream-stats.js";
import { addStreamStats } from "./queries/log-stream-stats.js";
import { claimParts, coveredParts, replayedNames } from "./queries/replay-coverage.js";
import { fromStored, storedJson } from "../journal/lossless-json.js";
import {
  deleteTaskDivergences,
  insertDivergences,
  numericDifference,
  type DivergenceSummary,
  type NewDivergence,
} from "./queries/replay-divergences.js";

/** What one replay journal added to the store. */
export interface ReplayIngestResult {
  runId: number;
  /** New values stored (for the names the replay was asked for). */
  values: number;
  /** Values the original run had logged that the replay logged again, and how many of them differed. */
  compared: number;
  divergences: number;
  /** Iterations of the outermost loop the replay executed. */
  iterations: number;
  /** The replay restored checkpoints and diverged: nothing of it was stored (the run is to be replayed from its start). */
  refused: boolean;
  /** Values stored marked unverified: the replay ran from the run's start and still diverged. */
  unverified: number;
  /** What the divergences looked like; null when there were none. */
  summary: DivergenceSummary | null;
}

/**
 * How a replay is checked: `checkpoints` when it restored checkpoints, so state the script did not
 * register may make it differ from the recorded run (a divergence refuses its values); `start` when
 * it ran from the run's start (a divergence marks its values unverified: nothing could do better).
 */
export type ReplayStart = "checkpoints" | "start";

type Phase = "before" | PhaseRecord["p"];

interface ReplayLog {
  line: number;
  ctx: number | null;
  phase: Phase;
  name: string;
  num: number | null;
  value: JsonValue | null;
}

/** How a replay child runs, as far as checking it goes (a ReplaySpec's segments and final state). */
interface ReplayRestores {
  segments: readonly { to: number; start: number; restore: unknown }[];
  final: unknown;
  /** Iterations run without their inner loops, from their end-of-iteration checkpoints. */
  suffix?: { states: readonly unknown[] } | null;
}

/**
 * Whether a replay restores checkpoints, the way the child's director (src/sdk/replay-director.ts) uses
 * them: a segment starts from its checkpoint unless the previous one ran right up to it, and the loop's
 * final state is loaded when given.
 */
export function replayStart(spec: ReplayRestores): ReplayStart {
  const restores = spec.segments.some(
    (segment, i) => segment.restore !== null && segment.start !== (i === 0 ? 0 : spec.segments[i - 1]!.to),
  );
  return restores || spec.final !== null || (spec.suffix?.states.length ?? 0) > 0 ? "checkpoints" : "start";
}

/** How the replay that wrote `journal` ran, from the spec written next to it; a journal without one (older) counts as from the start. */
export function replayStartOfJournal(journal: string): ReplayStart {
  try {
    return replayStart(JSON.parse(readFileSync(journal.replace(/\.jsonl$/, ".spec.json"), "utf8")) as ReplayRestores);
  } catch {
    return "start";
  }
}

/** Why a replay journal cannot be ingested: it is not a finished, successful replay. */
export class IncompleteReplay extends Error {
  override readonly name = "IncompleteReplay";
}

/**
 * Reads a finished replay journal (written by a replay child, see src/sdk/replay-spec.ts) into the store
 * inside `tx`. Values the original run had logged are compared with the replay's, and every difference
 * is recorded as a divergence. A replay that restored checkpoints and diverged stores nothing else
 * (`refused`): its values are not to be trusted, and the caller replays the run from its start. Otherwise
 * new values of the asked-for names land on the original run's loop contexts (marked unverified when
 * this replay from the start diverged), and the parts covered are recorded so that nothing is replayed
 * or stored twice. A recorded value is never changed. Throws IncompleteReplay for a journal without a
 * successful end, so a failed attempt leaves nothing behind.
 */
export async function ingestReplayJournal(
  tx: StoreTransaction,
  projectId: number,
  file: string,
  taskId: number | null,
  start: ReplayStart,
): Promise<ReplayIngestResult> {
  const lines = readFileSync(file, "utf8").split("\n");
  const written: JournalRecord[] = [];
  for (const [index, text] of lines.entries()) {
    if (text === "") continue;
    const record = decodeRecord(text);
    if (record instanceof BadLine) {
      if (record.unreadable) throw new IncompleteReplay(`${file}: a malformed line; the replay did not finish writing it`);
      throw new IncompleteReplay(`${file}:${index + 1}: ${record.reason}`);
    }
    written.push(record);
  }
  const header = written[0];
  const end = written[written.length - 1];
  if (header?.k !== "replay") throw new IncompleteReplay(`${file} is not a replay journal`);
  // Line numbers order the stored values: the implied contexts (format 2) take none.
  const lineOf = new Map<JournalRecord, number>(written.map((record, index) => [record, index + 1]));
  const records = withExplicitContexts(written, header.format);
  if (end?.k !== "end" || end.status !== "ok") throw new IncompleteReplay(`${file}: the replay did not end successfully`);

  const db = tx.db;
  const found = await findRunId(db, projectId, new Date(header.tstamp), header.filename);
  if (found === null) throw new IncompleteReplay(`${file} replays a run (${header.filename} at ${header.tstamp}) that is not in the store`);
  const runId = found;

  const executedTop = header.loop === null ? null : records.flatMap((r) => (r.k === "ctx" && r.p === null ? [`${r.n}\u0000${r.i}`] : []));
  const contexts = await originalContexts(db, runId, executedTop);
  const mapped = new Map<number, number | null>();
  const topLevel = new Map<number, number>();
  const childrenSeen = new Map<number, number>();
  let topSeen = 0;
  const logs: ReplayLog[] = [];
  const structural: { line: number; detail: string }[] = [];
  let phase: Phase = header.loop === null ? "loop" : "before";
  let iterations = 0;

  for (const record of records) {
    const line = lineOf.get(record) ?? 0;
    switch (record.k) {
      case "phase":
        phase = record.p;
        break;
      case "ctx": {
        const { id, p: parent, n: name, i: iteration } = record;
        let original: number | undefined;
        if (parent === null) {
          iterations++;
          original = header.loop === null ? contexts.child(null, topSeen) : contexts.top(name, iteration);
          topSeen++;
          if (original !== undefined) topLevel.set(id, iteration);
        } else {
          const parentOriginal = mapped.get(parent);
          if (parentOriginal !== undefined && parentOriginal !== null) {
            const k = childrenSeen.get(parent) ?? 0;
            childrenSeen.set(parent, k + 1);
            original = contexts.child(parentOriginal, k);
          }
          if (topLevel.has(parent)) topLevel.set(id, topLevel.get(parent)!);
          else if (mapped.has(parent)) topLevel.set(id, topLevel.get(parent) ?? -1);
        }
        const context = original === undefined ? undefined : contexts.get(original);
        if (context === undefined || context.name !== name || context.iteration !== iteration) {
          mapped.set(id, null);
          structural.push({
            line,
            detail: `loop "${name}" iteration ${iteration} (replay context ${id}) has no counterpart in the recorded run`,
          });
        } else {
          mapped.set(id, original!);
        }
        break;
      }
      case "log": {
        const { c, n, v } = record;
        const num = typeof v === "number" ? v : null;
        logs.push({ line, ctx: c, phase, name: n, num, value: num === null ? v : null });
        break;
      }
    }
  }

  // Names an earlier replay filled are in the catalog too, but only the run's own values are compared.
  const replayed = await replayedNames(db, runId);
  const originalNames = new Set((await loggedNames(db, runId)).filter((name) => !replayed.has(name)));
  const asked = new Set(header.names.filter((name) => !originalNames.has(name)));
  const compared = logs.filter((log) => originalNames.has(log.name));
  const contextsUsed = new Set<number>();
  for (const log of compared)
    if (log.ctx !== null) {
      const ctx = mapped.get(log.ctx);
      if (ctx !== undefined && ctx !== null) contextsUsed.add(ctx);
    }
  const originals = await originalValues(db, runId, [...new Set(compared.map((log) => log.name))], [...contextsUsed]);

  const divergences: (NewDivergence & { line: number })[] = structural.map(({ line, detail }) => ({
    run_id: runId,
    task_id: taskId,
    ctx_id: null,
    name: "(loop structure)",
    occurrence: 0,
    recorded: null,
    replayed: null,
    detail,
    stage: start,
    line,
  }));
  const storing: ReplayLog[] = [];
  const occurrences = new Map<string, number>();
  const afterCounts = new Map<string, number>();
  for (const log of compared)
    if (log.ctx === null && log.phase === "after") afterCounts.set(log.name, (afterCounts.get(log.name) ?? 0) + 1);

  for (const log of logs) {
    const ctx = log.ctx === null ? null : mapped.get(log.ctx);
    if (ctx === undefined) continue; // a context the journal never opened: not a finished SDK journal line
    if (ctx === null && log.ctx !== null) continue; // reported above as a structural divergence
    if (asked.has(log.name)) {
      storing.push(log);
    } else if (originalNames.has(log.name)) {
      const key = `${ctx}\u0000${log.name}\u0000${log.phase === "after" ? "a" : "b"}`;
      const k = occurrences.get(key) ?? 0;
      occurrences.set(key, k + 1);
      const recordedAll = originals.get(`${ctx}\u0000${log.name}`) ?? [];
      // Values logged outside every loop after it align with the end of the original's, those before with its start.
      const index = ctx === null && log.phase === "after" ? recordedAll.length - afterCounts.get(log.name)! + k : k;
      const recorded = recordedAll[index];
      if (recorded === undefined || !sameValue(recorded, log)) {
        divergences.push({
          run_id: runId,
          task_id: taskId,
          ctx_id: ctx,
          name: log.name,
          occurrence: index,
          recorded: recorded === undefined ? null : storedJson(asJson(recorded)),
          replayed: storedJson(asJson(log)),
          detail: recorded === undefined ? "logged by the replay, not by the recorded run" : "a different value than the recorded run's",
          stage: start,
          line: log.line,
        });
      }
    }
  }

  const summary = summarize(divergences, contexts);
  const rows = divergences.map(({ line: _line, ...row }) => row);
  if (start === "checkpoints" && divergences.length > 0) {
    // A task that is run again after a crash diverges again: its earlier report is replaced, not repeated.
    if (taskId !== null) await deleteTaskDivergences(db, taskId, "checkpoints");
    await insertDivergences(db, rows);
    return {
      runId,
      values: 0,
      compared: compared.length,
      divergences: divergences.length,
      iterations,
      refused: true,
      unverified: 0,
      summary,
    };
  }

  const coverage = await claimCoverage(db, runId, header, [...asked], taskId);
  const unverified = divergences.length > 0 ? true : null;
  const inserted = {
    seq: [] as number[],
    ctx: [] as (number | null)[],
    name: [] as string[],
    num: [] as (number | null)[],
    value: [] as (string | null)[],
  };
  for (const log of storing) {
    const ctx = log.ctx === null ? null : mapped.get(log.ctx)!;
    const part = log.ctx === null ? (log.phase === "loop" ? "all" : log.phase) : header.loop === null ? "all" : "loop";
    const iteration = log.ctx === null ? -1 : (topLevel.get(log.ctx) ?? -1);
    if (!storable(coverage, log.name, part, iteration)) continue;
    inserted.seq.push((log.phase === "after" ? 2_000_000_000 : 1_000_000_000) + log.line);
    inserted.ctx.push(ctx);
    inserted.name.push(log.name);
    inserted.num.push(log.num);
    inserted.value.push(log.num === null ? storedJson(log.value) : null);
  }

  if (inserted.seq.length > 0) {
    const streams = await streamIds(
      db,
      runId,
      inserted.name.map((name, i) => ({ name, ctx: inserted.ctx[i] === null ? null : contexts.get(inserted.ctx[i]!)!.range })),
    );
    const rows = new BinaryRows();
    const stats = new StreamStats();
    inserted.seq.forEach((seq, i) => {
      stats.add(streams[i]!, inserted.num[i]!, inserted.value[i]!, unverified === true);
      rows.row(VALUE_COLUMNS.length + 1);
      rows.int4(streams[i]!);
      rows.int4(inserted.ctx[i]!);
      rows.int4(seq);
      rows.float8(inserted.num[i]!);
      rows.jsonb(inserted.value[i]!);
      rows.bool(unverified);
    });
    await tx.copyBinary("log_values", [...VALUE_COLUMNS, "unverified"], rows);
    await summarizeNewValues(db);
    await addStreamStats(db, stats.rows());
    await addToCatalog(db, runId, inserted.name, inserted.ctx, contexts);
  }
  await insertDivergences(db, rows);
  return {
    runId,
    values: inserted.seq.length,
    compared: compared.length,
    divergences: divergences.length,
    iterations,
    refused: false,
    unverified: unverified === true ? inserted.seq.length : 0,
    summary,
  };
}

/**
 * The divergences in a few facts: which names, where the first one is (by journal line: the earliest
 * point the replay left the recorded run), and the largest absolute and relative differences of numbers.
 */
function summarize(divergences: readonly (NewDivergence & { line: number })[], contexts: RecordedContexts): DivergenceSummary | null {
  if (divergences.length === 0) return null;
  const first = divergences.reduce((a, b) => (b.line < a.line ? b : a));
  let maxAbs: number | null = null;
  let maxRel: number | null = null;
  for (const d of divergences) {
    const difference = numericDifference(parseJson(d.recorded), parseJson(d.replayed));
    if (difference === null) continue;
    maxAbs = Math.max(maxAbs ?? 0, difference.absolute);
    if (difference.relative !== null) maxRel = Math.max(maxRel ?? 0, difference.relative);
  }
  return {
    count: divergences.length,
    names: [...new Set(divergences.map((d) => d.name))].sort(),
    first: {
      name: first.name,
      coordinates: first.ctx_id === null ? {} : coordinatesOf(first.ctx_id, contexts),
      recorded: parseJson(first.recorded),
      replayed: parseJson(first.replayed),
      detail: first.detail,
    },
    maxAbs,
    maxRel,
  };
}

function parseJson(text: string | null): JsonValue | null {
  return text === null ? null : (JSON.parse(text) as JsonValue);
}

/** A context's place as loop name → iteration, outer loops first. */
function coordinatesOf(ctx: number, contexts: RecordedContexts): Record<string, number> {
  const chain: [string, number][] = [];
  for (let at: number | null = ctx; at !== null; ) {
    const context = contexts.get(at);
    if (context === undefined) break;
    chain.unshift([context.name, context.iteration]);
    at = context.parent;
  }
  return Object.fromEntries(chain);
}

/** The stream id of each key, created where the run has none yet. */
async function streamIds(db: Kysely<Database>, runId: number, keys: StreamKey[]): Promise<number[]> {
  const distinct = [...new Map(keys.map((key) => [`${key.ctx}\u0000${key.name}`, key])).values()];
  const found = await findStreams(db, runId, distinct);
  const missing = distinct.filter((_, i) => found[i] === null);
  const created = await insertStreams(db, runId, missing);
  const ids = new Map<string, number>();
  distinct.forEach((key, i) => {
    if (found[i] !== null) ids.set(`${key.ctx}\u0000${key.name}`, found[i]!);
  });
  missing.forEach((key, i) => {
    ids.set(`${key.ctx}\u0000${key.name}`, created[i]!);
  });
  return keys.map((key) => ids.get(`${key.ctx}\u0000${key.name}`)!);
}

/**
 * The original run's loop contexts that a replay can map to: every one for a whole-script replay
 * (`executedTop` null), else the top-level contexts and the subtrees of the executed ones. Context ids
 * are assigned in execution order, so a subtree is the id range up to the next top-level context: read
 * as stored ranges by primary key, never the whole run (a run can have millions of contexts).
 */
async function originalContexts(db: Kysely<Database>, runId: number, executedTop: string[] | null): Promise<RecordedContexts> {
  if (executedTop === null) return new RecordedContexts(await allRanges(db, runId));
  const top = await topRanges(db, runId);
  const tops = new RecordedContexts(top);
  const windows: [number, number][] = [];
  for (const key of new Set(executedTop)) {
    const [name, iteration] = key.split("\u0000") as [string, string];
    const ctx = tops.top(name, Number(iteration));
    const window = ctx === undefined ? null : tops.subtree(ctx);
    if (window !== null) windows.push(window);
  }
  return new RecordedContexts([...top, ...(await rangesOverlapping(db, runId, mergeWindows(windows)))]);
}

/** Windows of ids, sorted, with those that touch or overlap merged (an executed stretch of epochs is one window). */
function mergeWindows(windows: [number, number][]): [number, number][] {
  const merged: [number, number][] = [];
  for (const [from, to] of windows.sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1);
    if (last !== undefined && from <= last[1] + 2) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/** The original run's values of `names` in `contexts` (and outside every loop), per context and name, in logging order. */
async function originalValues(
  db: Kysely<Database>,
  runId: number,
  names: string[],
  contexts: number[],
): Promise<Map<string, { num: number | null; value: JsonValue | null }[]>> {
  const values = new Map<string, { num: number | null; value: JsonValue | null }[]>();
  if (names.length === 0) return values;
  const rows = await recordedValues(db, runId, names, contexts);
  const wanted = new Set(contexts);
  for (const row of rows) {
    if (row.ctx_id !== null && !wanted.has(row.ctx_id)) continue;
    const key = `${row.ctx_id}\u0000${row.name}`;
    const list = values.get(key) ?? [];
    list.push({ num: row.num === null ? null : Number(row.num), value: fromStored(row.value) });
    values.set(key, list);
  }
  return values;
}

/**
 * Records the parts this journal covers for each asked-for name and returns those that no earlier
 * replay covered: only their values are stored, so a retried or repeated task never stores twice.
 */
async function claimCoverage(
  db: Kysely<Database>,
  runId: number,
  header: ReplayHeaderRecord,
  names: string[],
  taskId: number | null,
): Promise<{ fresh: Set<string>; earlier: Set<string> }> {
  const parts: { part: "before" | "loop" | "after" | "all"; iteration: number }[] = [];
  if (header.loop === null) parts.push({ part: "all", iteration: -1 });
  else {
    if (header.before) parts.push({ part: "before", iteration: -1 });
    for (const [from, to] of header.segments) for (let i = from; i < to; i++) parts.push({ part: "loop", iteration: i });
    if (header.after) parts.push({ part: "after", iteration: -1 });
  }
  const earlier = new Set<string>();
  const fresh = new Set<string>();
  if (names.length === 0) return { fresh, earlier };
  for (const row of await coveredParts(db, runId, names)) earlier.add(`${row.name}\u0000${row.part}\u0000${row.iteration}`);
  const rows = names.flatMap((name) => parts.map(({ part, iteration }) => ({ run_id: runId, name, part, iteration, task_id: taskId })));
  for (const row of await claimParts(db, rows)) fresh.add(`${row.name}\u0000${row.part}\u0000${row.iteration}`);
  return { fresh, earlier };
}

/**
 * Whether a value in `part` is this journal's to store: its part was not covered before, and no
 * coarser or finer earlier replay (a whole-script fallback, or tasks for single iterations) covers it.
 */
function storable(coverage: { fresh: Set<string>; earlier: Set<string> }, name: string, part: string, iteration: number): boolean {
  const key = (p: string, i: number) => `${name}\u0000${p}\u0000${i}`;
  if (part === "all") {
    if (!coverage.fresh.has(key("all", -1))) return false;
    if (iteration >= 0) return !coverage.earlier.has(key("loop", iteration));
    return !coverage.earlier.has(key("before", -1)) && !coverage.earlier.has(key("after", -1));
  }
  return coverage.fresh.has(key(part, part === "loop" ? iteration : -1)) && !coverage.earlier.has(key("all", -1));
}

/** Adds the stored values to the run's catalog rows: their count and the loop dimensions they carry (outer first). */
async function addToCatalog(
  db: Kysely<Database>,
  runId: number,
  names: string[],
  ctxs: (number | null)[],
  contexts: RecordedContexts,
): Promise<void> {
  const added = new Map<string, { keys: string[]; count: number }>();
  const keysOf = new Map<number, string[]>();
  names.forEach((name, i) => {
    const entry = added.get(name) ?? { keys: [], count: 0 };
    entry.count++;
    const ctx = ctxs[i]!;
    if (ctx !== null) {
      let keys = keysOf.get(ctx);
      if (keys === undefined) {
        keys = dimensionKeys(ctx, contexts);
        keysOf.set(ctx, keys);
      }
      entry.keys = mergeKeys(entry.keys, keys);
    }
    added.set(name, entry);
  });
  const existing = new Map((await logNameRows(db, runId, [...added.keys()])).map((row) => [row.name, row]));
  await replaceLogNames(
    db,
    runId,
    [...added].map(([name, { keys, count }]) => {
      const before = existing.get(name);
      return { name, dimKeys: mergeKeys(before?.dim_keys ?? [], keys), count: Number(before?.count ?? 0) + count };
    }),
  );
}

function dimensionKeys(ctx: number, contexts: RecordedContexts): string[] {
  const keys: string[] = [];
  for (let at: number | null = ctx; at !== null; ) {
    const context = contexts.get(at);
    if (context === undefined) break;
    keys.unshift(...(context.hasValue ? [context.name, `${context.name}_value`] : [context.name]));
    at = context.parent;
  }
  return keys;
}

function sameValue(recorded: { num: number | null; value: JsonValue | null }, replayed: ReplayLog): boolean {
  if (recorded.num !== null || replayed.num !== null) return Object.is(recorded.num, replayed.num);
  return JSON.stringify(recorded.value) === JSON.stringify(replayed.value);
}

function asJson(value: { num: number | null; value: JsonValue | null }): JsonValue {
  if (value.num === null) return value.value;
  return Number.isFinite(value.num) ? value.num : String(value.num);
}
