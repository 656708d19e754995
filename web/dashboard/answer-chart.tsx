/** @jsxImportSource preact */
import { useMemo, useState } from "preact/hooks";
import type { Catalog } from "./catalog.js";
import { Chart } from "./chart.js";
import { colorsFor } from "./colors.js";
import { argsText, cell, shortVid, when } from "./format.js";
import { chartPlan, type Series, seriesOf } from "./series.js";

type Row = Record<string, unknown>;

/**
 * A FlorQL answer as curves: one per run, coloured by its version, x along the answer's loop columns,
 * y one of its numeric columns (chosen when there are several). The legend lists the versions; a
 * curve's run (time, version, args) is named under the pointer.
 */
export function AnswerChart({ columns, rows, catalog }: { columns: string[]; rows: Row[]; catalog: Catalog }) {
  const plan = useMemo(() => chartPlan(columns, rows, catalog.loopDepth), [columns, rows, catalog]);
  const [chosen, setChosen] = useState<string | null>(null);
  const measure = chosen !== null && plan.measures.includes(chosen) ? chosen : (plan.measures[plan.measures.length - 1] ?? null);
  const series = useMemo(() => {
    if (measure === null) return [];
    return seriesOf(plan, rows, measure, (row) => {
      const run = typeof row["tstamp"] === "string" ? catalog.byTstamp.get(row["tstamp"]) : undefined;
      const vid = (typeof row["vid"] === "string" ? row["vid"] : run?.vid) ?? "";
      const args = run === undefined ? "" : argsText(run.args);
      const at = typeof row["tstamp"] === "string" ? when(row["tstamp"]) : "all rows";
      return { label: `${shortVid(vid)} ${at}${args === "" ? "" : ` ${args}`}`, group: vid };
    });
  }, [plan, rows, measure, catalog]);
  // Versions in the order they were made, so colours stay put as runs are added.
  const { groups, colors, argsOf } = useMemo(() => {
    const order = catalog.versions.map((v) => v.vid);
    const groups = [...new Set(series.map((s) => s.group))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    return { groups, colors: colorsFor(groups), argsOf: varyingArgs(series, catalog) };
  }, [series, catalog]);
  if (measure === null) return <p>No numeric column to draw: select a logged value (and the loop it is logged in, e.g. epoch).</p>;
  const xLabel = plan.dims.length === 0 ? "row" : plan.dims.join(" \u203a ");
  return (
    <div class="answer-chart">
      {plan.measures.length > 1 && (
        <label>
          draw{" "}
          <select value={measure} onChange={(e) => setChosen(e.currentTarget.value)}>
            {plan.measures.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
      )}
      <Chart
        series={series}
        colors={colors}
        xLabel={xLabel}
        yLabel={measure}
        description={`${measure} over ${xLabel}: ${series.length} curves, one per run, coloured by version (${groups.length} versions)`}
      />
      <ul class="legend" aria-label="Versions">
        {groups.map((g) => {
          const version = catalog.versions.find((v) => v.vid === g);
          const runs = series.filter((s) => s.group === g).length;
          return (
            <li key={g} data-vid={g}>
              <span class="swatch" style={{ background: colors.get(g) }} aria-hidden="true" />
              <span class="mono">{shortVid(g)}</span> {version?.message ?? ""}{" "}
              <span class="subtle">
                ({runs} run{runs === 1 ? "" : "s"}
                {argsOf.has(g) ? `: ${[...argsOf.get(g)!].join("; ")}` : ""})
              </span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/**
 * For each version, the args of its curves' runs that set the runs apart (those whose values differ
 * across all the curves), e.g. "hidden=32": what the legend says besides the version.
 */
function varyingArgs(series: readonly Series[], catalog: Catalog): Map<string, Set<string>> {
  const runs = series.map((s) => ({ group: s.group, run: catalog.byTstamp.get(s.key.split(" ").pop() ?? "") }));
  const values = new Map<string, Set<string>>();
  for (const { run } of runs)
    for (const a of run?.args ?? []) {
      const seen = values.get(a.name) ?? new Set<string>();
      seen.add(JSON.stringify(a.value));
      values.set(a.name, seen);
    }
  const varying = [...values].filter(([, seen]) => seen.size > 1).map(([name]) => name);
  const byGroup = new Map<string, Set<string>>();
  for (const { group, run } of runs) {
    if (run === undefined || varying.length === 0) continue;
    const text = argsText(run.args.filter((a) => varying.includes(a.name)));
    const set = byGroup.get(group) ?? new Set<string>();
    set.add(text);
    byGroup.set(group, set);
  }
  return byGroup;
}

/** The first rows of an answer as a table. */
export function AnswerTable({ columns, rows, limit = 200 }: { columns: string[]; rows: Row[]; limit?: number }) {
  return (
    <div class="table-scroll">
      <table class="answer">
        <caption class="visually-hidden">Query result</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, limit).map((row, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: an answer's rows are shown in its order, never reordered
            <tr key={i}>
              {columns.map((c) => (
                <td key={c} class={typeof row[c] === "number" ? "num" : row[c] === null ? "null" : undefined}>
                  {c === "vid" && typeof row[c] === "string" ? shortVid(row[c]) : cell(row[c])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > limit && (
        <p class="subtle">
          Showing {limit} of {rows.length} rows.
        </p>
      )}
    </div>
  );
}
