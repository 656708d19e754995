import { render } from "../text/render-table.js";
import { replayRunsTable } from "../replay/describe-runs.js";
import type { QueryPlan } from "./query-service.js";
import type { AggregatePath } from "./stream-aggregates.js";

/**
 * EXPLAIN for people: the run scope after pushdown, which versions have each column (recorded, filled by
 * an earlier replay, to fill by replay, or cannot), the replay tasks with their iteration ranges and the
 * estimated cost, and the SQL with its parameters.
 */
export function explainText(plan: QueryPlan): string {
  const lines: string[] = [];
  const { analyzed } = plan;
  lines.push(
    `scope: ${plan.runIds.length} of ${plan.totalRuns} runs${analyzed.filename === null ? "" : ` of ${analyzed.filename}`}` +
      `${analyzed.query.where === null ? "" : " (run-level predicates pushed down)"}`,
  );
  if (plan.availability.length > 0 && analyzed.logs.length > 0) {
    lines.push("", "columns by code version:");
    lines.push(
      render(
        ["vid", "script", "runs", ...analyzed.logs.map((l) => l.name)],
        plan.availability.map((a) => ({
          vid: a.vid?.slice(0, 10) ?? null,
          script: a.filename,
          runs: a.runs,
          ...a.columns,
        })),
        "table",
      ).trimEnd(),
    );
  }
  const replay = plan.replay;
  if (replay !== null && replay.tasks.length > 0) {
    lines.push(
      "",
      `replay: ${replay.tasks.length} tasks on ${replay.estimate.workers} workers, estimated ${replay.estimate.wallSeconds.toFixed(1)} s ` +
        `(${replay.estimate.cpuSeconds.toFixed(1)} s of work; re-running those runs from scratch: ${replay.estimate.fullSeconds.toFixed(1)} s)`,
    );
    lines.push(replayRunsTable(replay));
    for (const run of replay.runs) for (const note of run.notes) lines.push(`  note for run ${run.tstamp}: ${note}`);
  } else if (analyzed.logs.length > 0) {
    lines.push("", "replay: none needed");
  }
  for (const { name, runs, reasons } of plan.unfillable) lines.push(`cannot fill ${name} for ${runs} run(s): ${reasons.join("; ")}`);
  if (analyzed.logs.length > 0) lines.push("", `path: ${pathText(plan.compiled.path)}`);
  lines.push("", "sql:", plan.sql.text.replace(/\s+/g, " ").trim(), `parameters: ${JSON.stringify(plan.sql.parameters)}`);
  lines.push(
    `planning: parse ${plan.timings.parseMs.toFixed(2)} ms, catalog ${plan.timings.catalogMs.toFixed(1)} ms, analysis and SQL ${plan.timings.planMs.toFixed(2)} ms`,
  );
  return `${lines.join("\n")}\n`;
}

/** Which values the SQL reads: per-stream partial aggregates, or every value of the query's names (and why). */
function pathText(path: AggregatePath): string {
  if (path.plan === null) return `reads every value (${path.reason})`;
  const { name, indexKeys } = path.plan;
  const own =
    indexKeys.length === 0 ? "" : `; streams whose own loop is ${indexKeys.join(" or ")}, over more than one iteration, read their values`;
  return `combines per-stream partial aggregates of ${name} kept at ingest${own}`;
}
