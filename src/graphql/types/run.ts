import type { JsonValue, RunStatus } from "../../journal/records.js";
import type { ProjectStore } from "../../store/project-store.js";
import { logNamesByRun as logNamesOf } from "../../store/queries/logs.js";
import { runArgs, runById, runPage, type RunRow } from "../../store/queries/runs.js";
import {
  checkpointSummaries,
  loopStructures,
  runLogs,
  type CheckpointSummary,
  type LogEntry,
  type LogPosition,
  type LoopStructure,
} from "../../store/queries/run-details.js";
import { batched } from "../batch.js";
import { builder, type FlorContext } from "../builder.js";
import { pageCost } from "../limits.js";
import { withUserErrors } from "../user-errors.js";
import { JsonScalar } from "./json.js";
import { badInput, connectionRef, decodeCursor, encodeCursor, isInt4, type Connection } from "./page-info.js";
import { VersionRef, versionsByVid } from "./version.js";
import { CONTROL_CHARACTERS } from "../../text/control-characters.js";

export const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;
export const MAX_LOG_PAGE_SIZE = 1000;
const DEFAULT_LOG_PAGE_SIZE = 100;
/** Each argument filter is a subquery; a request needs a handful, not hundreds. */
const MAX_ARG_FILTERS = 20;

interface RunNode {
  id: number;
  tstamp: string;
  filename: string;
  vid: string | null;
  status: string;
  seconds: number | null;
  error: string | null;
  args: { name: string; value: JsonValue }[];
}

const ArgRef = builder.objectRef<{ name: string; value: JsonValue }>("Arg").implement({
  fields: (t) => ({
    name: t.exposeString("name"),
    value: t.expose("value", { type: JsonScalar, nullable: true }),
  }),
});

const LoopRef = builder.objectRef<LoopStructure>("Loop").implement({
  description: "A flor.loop of a run: all executions of the loop with this name at one place in the nesting.",
  fields: (t) => ({
    name: t.exposeString("name"),
    parent: t.exposeString("parent", { nullable: true, description: "The enclosing loop's name; null for an outermost loop." }),
    depth: t.exposeInt("depth", { description: "0 for an outermost loop, 1 for one nested in it, ..." }),
    executions: t.exposeInt("executions", { description: "How many times the loop was entered (once per iteration of its parent)." }),
    iterations: t.exposeInt("iterations", { description: "Iterations over all executions." }),
    seconds: t.exposeFloat("seconds", {
      nullable: true,
      description: "Time spent in its iterations; null when none recorded it (a killed run).",
    }),
  }),
});

const CheckpointRef = builder.objectRef<CheckpointSummary>("Checkpoint").implement({
  description: "The registered state, saved at the end of a loop iteration.",
  fields: (t) => ({
    coordinates: t.expose("coordinates", {
      type: JsonScalar,
      description: 'The iteration it ends, as loop name → index (and <loop>_value → item), e.g. {"epoch": 3}.',
    }),
    objects: t.expose("objects", { type: JsonScalar, description: "Object name → content hash in the checkpoint store." }),
    bytes: t.exposeFloat("bytes", { description: "Serialised size (a Float: sizes can pass 2^31)." }),
    writtenBytes: t.exposeFloat("writtenBytes", { description: "Bytes newly written; the rest was stored already." }),
    seconds: t.exposeFloat("seconds"),
  }),
});

const LogRef = builder.objectRef<LogEntry>("Log").implement({
  description: "One value a run logged.",
  fields: (t) => ({
    name: t.exposeString("name"),
    value: t.expose("value", { type: JsonScalar, nullable: true, description: "The value (NaN and infinities as null)." }),
    coordinates: t.expose("coordinates", {
      type: JsonScalar,
      description:
        'Where it was logged, as loop name → iteration index (and <loop>_value → item), e.g. {"epoch": 3, "step": 10}; {} outside every loop.',
    }),
    replayed: t.exposeBoolean("replayed", { description: "Filled by a replay, not logged by the run itself." }),
    verified: t.exposeBoolean("verified", {
      description:
        "False for a replayed value no replay could verify (a replay from the run's start did not reproduce the run's recorded values); true for recorded values and faithful replays.",
    }),
  }),
});

const LogConnectionRef = connectionRef("Log", LogRef);

const RunRef = builder.objectRef<RunNode>("Run").implement({
  description: "One execution of a script.",
  fields: (t) => ({
    id: t.exposeInt("id", { description: "The store's id of the run." }),
    tstamp: t.exposeString("tstamp", { description: "ISO-8601 start time, millisecond resolution." }),
    filename: t.exposeString("filename", { description: "Entry script, relative to the repository root." }),
    vid: t.exposeString("vid", { nullable: true, description: "The git commit of the code that ran." }),
    status: t.exposeString("status"),
    seconds: t.exposeFloat("seconds", { nullable: true }),
    args: t.field({ type: [ArgRef], resolve: (run) => run.args }),
    logNames: t.stringList({
      description: "The names the run logged, sorted.",
      resolve: async (run, _args, context) => (await batched(context, logNamesByRun, run.id))?.names ?? [],
    }),
    logCount: t.int({
      description: "How many values the run logged itself (the logs column of flor runs).",
      resolve: async (run, _args, context) => (await batched(context, logNamesByRun, run.id))?.count ?? 0,
    }),
    replayedLogCount: t.int({
      description: "How many values replays filled for it since (the replayed column of flor runs).",
      resolve: async (run, _args, context) => (await batched(context, logNamesByRun, run.id))?.replayed ?? 0,
    }),
    error: t.exposeString("error", {
      nullable: true,
      description: "Why the run failed (the exception its journal's end record has); null for a run that did not fail.",
    }),
    loops: t.field({
      type: [LoopRef],
      description: "The run's loops, outer before inner, in the order they were first entered.",
      resolve: async (run, _args, context) => (await batched(context, loopsByRun, run.id)) ?? [],
    }),
    checkpoints: t.field({
      type: [CheckpointRef],
      description: "The checkpoints taken, in order.",
      resolve: async (run, _args, context) => (await batched(context, checkpointsByRun, run.id)) ?? [],
    }),
    version: t.field({
      type: VersionRef,
      nullable: true,
      description: "The code version that ran; null for a run recorded without one.",
      resolve: async (run, _args, context) => (run.vid === null ? null : ((await batched(context, versionsByVid, run.vid)) ?? null)),
    }),
    logs: t.field({
      type: LogConnectionRef,
      complexity: pageCost(DEFAULT_LOG_PAGE_SIZE, MAX_LOG_PAGE_SIZE),
      description: `The values the run logged, a page at a time (at most ${MAX_LOG_PAGE_SIZE}): name by name in code-point order; within a name, values logged in loops in loop order, then those logged outside every loop.`,
      args: {
        names: t.arg.stringList({ required: false, description: "Only these names (default: all)." }),
        first: t.arg.int({ required: false, description: `Page size, 1 to ${MAX_LOG_PAGE_SIZE} (default ${DEFAULT_LOG_PAGE_SIZE}).` }),
        after: t.arg.string({ required: false, description: "The endCursor of the previous page." }),
      },
      resolve: (run, args, { session }) =>
        logsPage(session.project, run.id, args.names ?? null, args.first ?? DEFAULT_LOG_PAGE_SIZE, args.after ?? null),
    }),
  }),
});

const RunConnectionRef = connectionRef("Run", RunRef);

const RunStatusEnum = builder.enumType("RunStatus", {
  description: "A run's status (Run.status, upper-cased).",
  values: ["OK", "FAILED", "RUNNING", "INCOMPLETE"] as const,
});

const ArgFilterRef = builder.inputType("ArgFilter", {
  description: "Runs whose argument `name` meets every condition given; with none, runs that have the argument.",
  fields: (t) => ({
    name: t.string({ required: true }),
    value: t.field({
      type: JsonScalar,
      required: false,
      description: "Equal as JSON (1 and 1.0 are equal); an explicit null matches a null argument.",
    }),
    gt: t.float({ required: false, description: "A number greater than this." }),
    gte: t.float({ required: false }),
    lt: t.float({ required: false }),
    lte: t.float({ required: false }),
  }),
});

interface RunFilters {
  filename: string | null;
  vid: string | null;
  status: readonly string[] | null;
  since: string | null;
  until: string | null;
  args: readonly ArgFilter[] | null;
}

builder.queryFields((t) => ({
  runs: t.field({
    type: RunConnectionRef,
    nullable: true,
    complexity: pageCost(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    description: `The project's runs, oldest first, a page at a time (at most ${MAX_PAGE_SIZE}), optionally filtered (filters combine with AND). A cursor is a position in start order: it stays valid when runs are added and with other filters.`,
    args: {
      first: t.arg.int({ required: false, description: `Page size, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).` }),
      after: t.arg.string({ required: false, description: "The endCursor of the previous page." }),
      filename: t.arg.string({ required: false, description: "Only runs of this script." }),
      vid: t.arg.string({
        required: false,
        description: "Only runs of this version: a commit id, or a prefix of at least 4 hex digits naming one version.",
      }),
      status: t.arg({ type: [RunStatusEnum], required: false, description: "Only runs with one of these statuses." }),
      since: t.arg.string({
        required: false,
        description: "Only runs started at or after this ISO-8601 instant (e.g. 2026-01-31T12:00:00Z; a date alone is midnight UTC).",
      }),
      until: t.arg.string({ required: false, description: "Only runs started before this ISO-8601 instant." }),
      args: t.arg({
        type: [ArgFilterRef],
        required: false,
        description: `Only runs whose arguments match every filter (at most ${MAX_ARG_FILTERS}).`,
      }),
    },
    resolve: (_root, args, context) =>
      withUserErrors(() =>
        runsPage(context, args.first ?? DEFAULT_PAGE_SIZE, args.after ?? null, {
          filename: args.filename ?? null,
          vid: args.vid ?? null,
          status: args.status ?? null,
          since: args.since ?? null,
          until: args.until ?? null,
          args: args.args ?? null,
        }),
      ),
  }),
  run: t.field({
    type: RunRef,
    nullable: true,
    description: "One run of the project by its id; null when the project has no such run.",
    args: { id: t.arg.int({ required: true }) },
    resolve: async (_root, { id }, { session }) => {
      const row = await runById(session.project, id);
      return row === null ? null : ((await runNodes(session.project, [row]))[0] ?? null);
    },
  }),
}));

/**
 * A keyset page: runs after the cursor's (tstamp, id) in that order, so a page stays the same while
 * runs are being added and the database never counts past skipped rows. Filters only narrow the rows
 * after that position; every value is bound as a parameter.
 */
async function runsPage({ session }: FlorContext, first: number, after: string | null, filters: RunFilters): Promise<Connection<RunNode>> {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE)
    throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}, not ${first}`);
  const position = after === null ? null : decodeCursor(after);
  const since = filters.since === null ? null : parseInstant("since", filters.since);
  const until = filters.until === null ? null : parseInstant("until", filters.until);
  if ((filters.args?.length ?? 0) > MAX_ARG_FILTERS)
    throw badInput(`at most ${MAX_ARG_FILTERS} argument filters, not ${filters.args!.length}`);
  const vid = filters.vid === null ? null : await session.resolveVersion(filters.vid);
  const empty = (filters.vid !== null && vid === null) || filters.status?.length === 0;
  // One row more than asked says whether there is a next page without a count.
  const rows = empty
    ? []
    : await runPage(session.project, {
        filename: filters.filename,
        vid,
        status: filters.status === null || filters.status.length === 0 ? null : filters.status.map((s) => s.toLowerCase() as RunStatus),
        since,
        until,
        args: (filters.args ?? []).map(({ name, gt, gte, lt, lte, ...rest }) => ({
          name,
          gt,
          gte,
          lt,
          lte,
          ...("value" in rest ? { value: (rest.value ?? null) as JsonValue } : {}),
        })),
        after: position === null ? null : { tstamp: new Date(position.tstamp), id: position.id },
        limit: first + 1,
      });
  const edges = (await runNodes(session.project, rows.slice(0, first))).map((node) => ({
    cursor: encodeCursor({ tstamp: node.tstamp, id: node.id }),
    node,
  }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage: position !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

type ArgFilter = typeof ArgFilterRef.$inferInput;

/** Runs with their arguments: one query for the whole page (logged names load only when asked for). */
async function runNodes(project: ProjectStore, rows: readonly RunRow[]): Promise<RunNode[]> {
  const ids = rows.map((r) => r.id);
  const args = await runArgs(project.db, ids);
  const byRun = new Map<number, { name: string; value: JsonValue }[]>(ids.map((id) => [id, []]));
  for (const a of args) byRun.get(a.run_id)!.push({ name: a.name, value: a.value });
  return rows.map((row) => ({
    id: row.id,
    tstamp: row.tstamp.toISOString(),
    filename: row.filename,
    vid: row.vid,
    status: row.status,
    seconds: row.seconds,
    error: row.error,
    args: byRun.get(row.id)!,
  }));
}

function logNamesByRun(
  { session }: FlorContext,
  runIds: readonly number[],
): Promise<Map<number, { names: string[]; count: number; replayed: number }>> {
  return logNamesOf(session.project.db, runIds);
}

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?$/i;

/**
 * An ISO-8601 instant: a date (midnight UTC) or a date and time with Z or an offset. Date.parse alone
 * accepts far more (and reads a time without a zone as local time), so the form is checked here and
 * impossible dates (February 30) are refused. Start times have millisecond resolution: a finer instant
 * rounds up, which keeps `>= since` and `< until` exact.
 */
function parseInstant(argument: string, text: string): Date {
  const match = INSTANT.exec(text);
  const refuse = () =>
    badInput(`${argument} must be an ISO-8601 instant such as 2026-01-31T12:00:00Z, not "${text.replace(CONTROL_CHARACTERS, "?")}"`);
  if (match === null) throw refuse();
  const [, y, mo, d, h = "0", mi = "0", s = "0", fraction = "", zone = "Z"] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const local = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const sameFields =
    local.getUTCFullYear() === year &&
    local.getUTCMonth() === month - 1 &&
    local.getUTCDate() === day &&
    local.getUTCHours() === hour &&
    local.getUTCMinutes() === minute &&
    local.getUTCSeconds() === second;
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== "Z") {
    const [oh, om] = zone.slice(1).split(":").map(Number) as [number, number];
    if (oh > 23 || om > 59) throw refuse();
    offsetMinutes = (zone.startsWith("-") ? -1 : 1) * (oh * 60 + om);
  }
  if (!sameFields) throw refuse();
  const millis = Number(fraction.padEnd(3, "0").slice(0, 3)) + (/[1-9]/.test(fraction.slice(3)) ? 1 : 0);
  return new Date(local.getTime() - offsetMinutes * 60_000 + millis);
}

async function logsPage(
  project: ProjectStore,
  runId: number,
  names: readonly string[] | null,
  first: number,
  after: string | null,
): Promise<Connection<LogEntry>> {
  if (!Number.isInteger(first) || first < 1 || first > MAX_LOG_PAGE_SIZE)
    throw badInput(`first must be between 1 and ${MAX_LOG_PAGE_SIZE}, not ${first}`);
  const position = after === null ? null : decodeLogCursor(after);
  const entries = await runLogs(project.db, runId, names, position, first + 1);
  const edges = entries.slice(0, first).map((node) => ({ cursor: encodeLogCursor(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: entries.length > first,
      hasPreviousPage: position !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

function encodeLogCursor({ name, ctx, seq }: LogPosition): string {
  return Buffer.from(JSON.stringify(["log", name, ctx, seq])).toString("base64url");
}

function decodeLogCursor(cursor: string): LogPosition {
  try {
    const [tag, name, ctx, seq] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    if (tag === "log" && typeof name === "string" && (ctx === null || isInt4(ctx)) && isInt4(seq))
      return { name, ctx: ctx as number | null, seq: seq as number };
  } catch {
    // Not base64 JSON: reported below like any other foreign cursor.
  }
  throw badInput(`"${cursor}" is not a log cursor this server gave out`);
}

async function loopsByRun({ session }: FlorContext, runIds: readonly number[]): Promise<Map<number, LoopStructure[]>> {
  return groupByRun(runIds, await loopStructures(session.project.db, runIds));
}

async function checkpointsByRun({ session }: FlorContext, runIds: readonly number[]): Promise<Map<number, CheckpointSummary[]>> {
  return groupByRun(runIds, await checkpointSummaries(session.project.db, runIds));
}

function groupByRun<T extends { runId: number }>(runIds: readonly number[], items: readonly T[]): Map<number, T[]> {
  const byRun = new Map(runIds.map((id) => [id, [] as T[]]));
  for (const item of items) byRun.get(item.runId)?.push(item);
  return byRun;
}
