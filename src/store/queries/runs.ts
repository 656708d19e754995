import type { JsonValue, RunStatus } from "../../journal/records.js";
import type { Store } from "../open-store.js";

export interface RunSummary {
  projid: string;
  tstamp: string;
  filename: string;
  vid: string | null;
  status: RunStatus;
  seconds: number | null;
  args: Record<string, JsonValue>;
  logs: number;
}

/** The project's runs, oldest first, with their arguments and how many values each logged. */
export async function listRuns(store: Store, projid: string): Promise<RunSummary[]> {
  const rows = await store.db
    .selectFrom("runs as r")
    .innerJoin("projects as p", "p.id", "r.project_id")
    .select((eb) => [
      "p.projid",
      "r.id",
      "r.tstamp",
      "r.filename",
      "r.vid",
      "r.status",
      "r.seconds",
      eb
        .selectFrom("log_names as n")
        .whereRef("n.run_id", "=", "r.id")
        .select((e) => e.fn.coalesce(e.fn.sum<string>("n.count"), e.lit(0)).as("c"))
        .as("logs"),
    ])
    .where("p.projid", "=", projid)
    .orderBy("r.tstamp")
    .orderBy("r.id")
    .execute();
  const args = await store.db
    .selectFrom("args as a")
    .innerJoin("runs as r", "r.id", "a.run_id")
    .innerJoin("projects as p", "p.id", "r.project_id")
    .select(["a.run_id", "a.name", "a.value"])
    .where("p.projid", "=", projid)
    .orderBy("a.run_id")
    .orderBy("a.name")
    .execute();
  const argsByRun = new Map<number, Record<string, JsonValue>>();
  for (const arg of args) {
    const record = argsByRun.get(arg.run_id) ?? {};
    record[arg.name] = arg.value;
    argsByRun.set(arg.run_id, record);
  }
  return rows.map((row) => ({
    projid: row.projid,
    tstamp: row.tstamp.toISOString(),
    filename: row.filename,
    vid: row.vid,
    status: row.status,
    seconds: row.seconds,
    args: argsByRun.get(row.id) ?? {},
    logs: Number(row.logs ?? 0),
  }));
}
