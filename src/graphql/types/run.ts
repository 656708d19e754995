import type { JsonValue } from "../../journal/records.js";
import { builder, type FlorContext } from "../builder.js";
import { JsonScalar } from "./json.js";
import { badInput, decodeCursor, encodeCursor, PageInfoRef, type PageInfo } from "./page-info.js";

export const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;

interface RunNode {
  id: number;
  tstamp: string;
  filename: string;
  vid: string | null;
  status: string;
  seconds: number | null;
  args: { name: string; value: JsonValue }[];
  logNames: string[];
  logs: number;
}

const ArgRef = builder.objectRef<{ name: string; value: JsonValue }>("Arg").implement({
  fields: (t) => ({
    name: t.exposeString("name"),
    value: t.expose("value", { type: JsonScalar, nullable: true }),
  }),
});

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
    logNames: t.exposeStringList("logNames", { description: "The names the run logged, sorted." }),
    logs: t.exposeInt("logs", { description: "How many values the run logged (flor runs' logs column)." }),
  }),
});

const RunEdgeRef = builder.objectRef<{ cursor: string; node: RunNode }>("RunEdge").implement({
  fields: (t) => ({
    cursor: t.exposeString("cursor"),
    node: t.field({ type: RunRef, resolve: (edge) => edge.node }),
  }),
});

const RunConnectionRef = builder.objectRef<{ edges: { cursor: string; node: RunNode }[]; pageInfo: PageInfo }>("RunConnection").implement({
  fields: (t) => ({
    edges: t.field({ type: [RunEdgeRef], resolve: (c) => c.edges }),
    pageInfo: t.field({ type: PageInfoRef, resolve: (c) => c.pageInfo }),
  }),
});

builder.queryField("runs", (t) => t.field({
  type: RunConnectionRef,
  description: `The project's runs, oldest first, a page at a time (at most ${MAX_PAGE_SIZE}).`,
  args: {
    first: t.arg.int({ required: false, description: `Page size, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).` }),
    after: t.arg.string({ required: false, description: "The endCursor of the previous page." }),
    filename: t.arg.string({ required: false, description: "Only runs of this script." }),
  },
  resolve: (_root, args, context) => runsPage(context, args.first ?? DEFAULT_PAGE_SIZE, args.after ?? null, args.filename ?? null),
}));

/**
 * A keyset page: runs after the cursor's (tstamp, id) in that order, so a page stays the same while
 * runs are being added and the database never counts past skipped rows.
 */
async function runsPage({ store, layout }: FlorContext, first: number, after: string | null, filename: string | null) {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}, not ${first}`);
  const position = after === null ? null : decodeCursor(after);
  let query = store.db.selectFrom("runs as r").innerJoin("projects as p", "p.id", "r.project_id")
    .select(["r.id", "r.tstamp", "r.filename", "r.vid", "r.status", "r.seconds"])
    .where("p.projid", "=", layout.projid);
  if (filename !== null) query = query.where("r.filename", "=", filename);
  if (position !== null) {
    const tstamp = new Date(position.tstamp);
    query = query.where((eb) => eb.or([eb("r.tstamp", ">", tstamp), eb.and([eb("r.tstamp", "=", tstamp), eb("r.id", ">", position.id)])]));
  }
  // One row more than asked says whether there is a next page without a count.
  const rows = await query.orderBy("r.tstamp").orderBy("r.id").limit(first + 1).execute();
  const page = rows.slice(0, first);
  const ids = page.map((r) => r.id);
  const [args, names] = ids.length === 0 ? [[], []] : await Promise.all([
    store.db.selectFrom("args").select(["run_id", "name", "value"]).where("run_id", "in", ids).orderBy("run_id").orderBy("name").execute(),
    store.db.selectFrom("log_names").select(["run_id", "name", "count"]).where("run_id", "in", ids).orderBy("run_id").orderBy("name").execute(),
  ]);
  const edges = page.map((row) => {
    const tstamp = row.tstamp.toISOString();
    const node: RunNode = {
      id: row.id, tstamp, filename: row.filename, vid: row.vid, status: row.status, seconds: row.seconds,
      args: args.filter((a) => a.run_id === row.id).map((a) => ({ name: a.name, value: a.value as JsonValue })),
      logNames: [...new Set(names.filter((n) => n.run_id === row.id).map((n) => n.name))],
      logs: names.filter((n) => n.run_id === row.id).reduce((sum, n) => sum + Number(n.count), 0),
    };
    return { cursor: encodeCursor({ tstamp, id: row.id }), node };
  });
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
