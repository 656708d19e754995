/** @jsxImportSource preact */
import { useEffect, useState } from "preact/hooks";
import { gql } from "./api.js";
import { Chart } from "./chart.js";
import { colorsFor } from "./colors.js";
import { argsText, cell, duration, shortVid, when } from "./format.js";
import { loopPositions, type Series } from "./series.js";

interface Log {
  name: string;
  value: unknown;
  coordinates: Record<string, unknown>;
  replayed: boolean;
  verified: boolean;
}

interface RunDetail {
  id: number;
  tstamp: string;
  filename: string;
  vid: string | null;
  status: string;
  error: string | null;
  seconds: number | null;
  logCount: number;
  replayedLogCount: number;
  args: { name: string; value: unknown }[];
  loops: { name: string; parent: string | null; depth: number; executions: number; iterations: number; seconds: number | null }[];
  checkpoints: { coordinates: Record<string, unknown>; bytes: number; seconds: number }[];
  logNames: string[];
  version: { vid: string; message: string | null; kind: string } | null;
}

const RUN = `query($id: Int!) { run(id: $id) {
  id tstamp filename vid status error seconds logCount replayedLogCount
  args { name value } logNames
  loops { name parent depth executions iterations seconds }
  checkpoints { coordinates bytes seconds }
  version { vid message kind }
} }`;

const LOGS = `query($id: Int!, $after: String) { run(id: $id) { logs(first: 500, after: $after) {
  edges { node { name value coordinates replayed verified } } pageInfo { hasNextPage endCursor }
} } }`;

/** Every value the run logged, a page of 500 at a time (a page of 1000 with these fields passes the cost budget). */
async function allLogs(id: number, signal: AbortSignal): Promise<Log[]> {
  const logs: Log[] = [];
  let after: string | null = null;
  for (;;) {
    const page: { run: { logs: { edges: { node: Log }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } | null } =
      await gql(LOGS, { id, after }, signal);
    if (page.run === null) return logs;
    logs.push(...page.run.logs.edges.map((e) => e.node));
    if (!page.run.logs.pageInfo.hasNextPage) return logs;
    after = page.run.logs.pageInfo.endCursor;
  }
}

export function RunView({ id }: { id: number }) {
  const [run, setRun] = useState<RunDetail | null | undefined>(undefined);
  const [logs, setLogs] = useState<Log[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    setRun(undefined);
    setLogs(null);
    gql<{ run: RunDetail | null }>(RUN, { id }, abort.signal)
      .then((answer) => setRun(answer.run))
      .then(() => allLogs(id, abort.signal))
      .then(setLogs)
      .catch((e: Error) => {
        if (!abort.signal.aborted) setError(e.message);
      });
    return () => abort.abort();
  }, [id]);

  if (error !== null)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (run === undefined) return <p aria-busy="true">Loading run {id}...</p>;
  if (run === null) return <p role="alert">There is no run {id}.</p>;
  const depth = new Map(run.loops.map((l) => [l.name, l.depth]));
  return (
    <section aria-labelledby="run-title">
      <p>
        <a href="#/">&larr; Runs</a>
      </p>
      <h1 id="run-title">
        {run.filename} <span class="subtle">at {when(run.tstamp)} UTC</span>
      </h1>
      <dl class="facts">
        <dt>version</dt>
        <dd class="mono">
          {shortVid(run.vid)} {run.version?.message && <span class="subtle">{run.version.message}</span>}
        </dd>
        <dt>status</dt>
        <dd>
          <span class={`status status-${run.status.toLowerCase()}`}>{run.status}</span>
          {run.error !== null && <pre class="run-error">{run.error}</pre>}
        </dd>
        <dt>duration</dt>
        <dd>{duration(run.seconds)}</dd>
        <dt>args</dt>
        <dd class="mono">{argsText(run.args) || "\u2013"}</dd>
        <dt>values</dt>
        <dd>
          {run.logCount} logged{run.replayedLogCount > 0 ? `, ${run.replayedLogCount} filled by replay` : ""}
        </dd>
      </dl>
      <div class="two-columns">
        <section aria-labelledby="loops-title">
          <h2 id="loops-title">Loops</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">loop</th>
                <th scope="col">in</th>
                <th scope="col">entered</th>
                <th scope="col">iterations</th>
                <th scope="col">time</th>
              </tr>
            </thead>
            <tbody>
              {run.loops.map((l) => (
                <tr key={l.name}>
                  <td style={{ paddingLeft: `${0.5 + l.depth * 1.2}em` }}>{l.name}</td>
                  <td>{l.parent ?? "\u2013"}</td>
                  <td class="num">{l.executions}</td>
                  <td class="num">{l.iterations}</td>
                  <td class="num">{duration(l.seconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="checkpoints-title">
          <h2 id="checkpoints-title">Checkpoints ({run.checkpoints.length})</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">after</th>
                <th scope="col">size</th>
                <th scope="col">time</th>
              </tr>
            </thead>
            <tbody>
              {run.checkpoints.slice(0, 50).map((c) => (
                <tr key={JSON.stringify(c.coordinates)}>
                  <td class="mono">{cell(c.coordinates)}</td>
                  <td class="num">{(c.bytes / 1024).toFixed(1)} KiB</td>
                  <td class="num">{(c.seconds * 1000).toFixed(1)} ms</td>
                </tr>
              ))}
            </tbody>
          </table>
          {run.checkpoints.length > 50 && <p class="subtle">and {run.checkpoints.length - 50} more</p>}
        </section>
      </div>
      <h2>Logged values</h2>
      {logs === null ? (
        <p aria-busy="true">Loading values...</p>
      ) : (
        <LogCharts logs={logs} names={run.logNames} depth={depth} label={shortVid(run.vid)} />
      )}
    </section>
  );
}

function LogCharts({ logs, names, depth, label }: { logs: Log[]; names: string[]; depth: Map<string, number>; label: string }) {
  const colors = colorsFor([""]);
  const byName = new Map<string, Log[]>(names.map((n) => [n, []]));
  for (const log of logs) byName.get(log.name)?.push(log);
  const scalars: Log[] = [];
  return (
    <div>
      <div class="chart-grid">
        {[...byName].map(([name, values]) => {
          const inLoops = values.filter((v) => Object.keys(v.coordinates).length > 0 && typeof v.value === "number");
          if (inLoops.length === 0) {
            scalars.push(...values);
            return null;
          }
          const dims = Object.keys(inLoops[0]!.coordinates)
            .filter((k) => depth.has(k))
            .sort((a, b) => depth.get(a)! - depth.get(b)!);
          const series: Series[] = [
            {
              key: name,
              label: `${name} (${label})`,
              group: "",
              xs: loopPositions(
                inLoops.map((v) => v.coordinates),
                dims,
              ),
              ys: Float64Array.from(inLoops, (v) => v.value as number),
            },
          ];
          const replayed = values.filter((v) => v.replayed).length;
          const unverified = values.filter((v) => !v.verified).length;
          return (
            <section key={name} class="chart-card" aria-label={`${name} over ${dims.join(", ")}`}>
              <h3>
                {name}{" "}
                <span class="subtle">
                  over {dims.join(" \u203a ")}, {values.length} values
                </span>
              </h3>
              {(replayed > 0 || unverified > 0) && (
                <p class={unverified > 0 ? "warning" : "subtle"}>
                  {replayed} filled by replay{unverified > 0 ? `, ${unverified} unverified (a replay did not reproduce the run)` : ""}
                </p>
              )}
              <Chart
                series={series}
                colors={colors}
                xLabel={dims[0] ?? "index"}
                yLabel={name}
                height={220}
                description={`${name} of this run over ${dims.join(" and ")}: ${values.length} values`}
              />
            </section>
          );
        })}
      </div>
      {scalars.length > 0 && (
        <table class="scalars">
          <caption>Values logged outside loops</caption>
          <tbody>
            {scalars.map((v) => (
              <tr key={`${v.name}${JSON.stringify(v.coordinates)}`}>
                <th scope="row">{v.name}</th>
                <td class="num">{cell(v.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
