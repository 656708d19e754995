/** @jsxImportSource preact */
import { useEffect, useState } from "preact/hooks";
import { gql } from "./api.js";
import { type ArgFilter, parseArgFilters } from "./arg-filters.js";
import { argsText, duration, shortVid, when } from "./format.js";

interface RunRow {
  id: number;
  tstamp: string;
  filename: string;
  vid: string | null;
  status: string;
  error: string | null;
  seconds: number | null;
  args: { name: string; value: unknown }[];
  logNames: string[];
  replayedLogCount: number;
}

interface Page {
  runs: { edges: { node: RunRow }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } | null;
}

const STATUSES = ["OK", "FAILED", "RUNNING", "INCOMPLETE"] as const;

const QUERY = `query Runs($first: Int, $after: String, $filename: String, $status: [RunStatus!], $args: [ArgFilter!], $since: String, $until: String) {
  runs(first: $first, after: $after, filename: $filename, status: $status, args: $args, since: $since, until: $until) {
    edges { node { id tstamp filename vid status error seconds args { name value } logNames replayedLogCount } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface Filters {
  filename: string;
  status: string[];
  args: ArgFilter[];
  since: string;
  until: string;
}

const NO_FILTERS: Filters = { filename: "", status: [], args: [], since: "", until: "" };

/** The runs table; `pageSize` (1 to 100, the API's limit) comes from the address, e.g. #/?size=100. */
export function RunsView({ filenames, pageSize }: { filenames: string[]; pageSize: number }) {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // The cursors of the pages before this one: Previous goes back along them.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<Page["runs"] | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);

  const after = cursors[cursors.length - 1] ?? null;
  useEffect(() => {
    const abort = new AbortController();
    setError(null);
    gql<Page>(
      QUERY,
      {
        first: pageSize,
        after,
        filename: filters.filename || null,
        status: filters.status.length === 0 ? null : filters.status,
        args: filters.args.length === 0 ? null : filters.args,
        since: filters.since || null,
        until: filters.until || null,
      },
      abort.signal,
    )
      .then((answer) => {
        setPage(answer.runs);
        // When the first runs are on screen, in the page's own clock (read by the browser test).
        if (performance.getEntriesByName("flor:runs-shown").length === 0) requestAnimationFrame(() => performance.mark("flor:runs-shown"));
      })
      .catch((e: Error) => {
        if (!abort.signal.aborted) setError(e.message);
      });
    return () => abort.abort();
  }, [filters, after, pageSize]);

  const first = (cursors.length - 1) * pageSize + 1;
  const rows = page?.edges ?? [];
  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Runs</h1>
      <FilterForm
        filenames={filenames}
        onApply={(next) => {
          setFilters(next);
          setCursors([null]);
        }}
      />
      {error !== null && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="runs">
        <caption class="visually-hidden">Runs, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">started (UTC)</th>
            <th scope="col">script</th>
            <th scope="col">version</th>
            <th scope="col">status</th>
            <th scope="col">duration</th>
            <th scope="col">args</th>
            <th scope="col">logged</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ node: run }) => (
            <tr key={run.id} data-run={run.id}>
              <td>
                <a href={`#/run/${run.id}`}>{when(run.tstamp)}</a>
              </td>
              <td>{run.filename}</td>
              <td class="mono">{shortVid(run.vid)}</td>
              <td>
                <span class={`status status-${run.status.toLowerCase()}`}>{run.status}</span>
                {run.error !== null && (
                  <span class="run-error" title={run.error}>
                    {" "}
                    {run.error.split("\n")[0]}
                  </span>
                )}
              </td>
              <td class="num">{duration(run.seconds)}</td>
              <td class="mono">{argsText(run.args)}</td>
              <td>
                {run.logNames.join(", ")}
                {run.replayedLogCount > 0 && <span class="badge"> +{run.replayedLogCount} replayed</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page !== undefined && rows.length === 0 && <p>No runs match.</p>}
      <nav class="pager" aria-label="Pages of runs">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <span aria-live="polite">{rows.length === 0 ? "" : `runs ${first}\u2013${first + rows.length - 1}`}</span>
        <button
          type="button"
          disabled={page?.pageInfo.hasNextPage !== true}
          onClick={() => page?.pageInfo.endCursor && setCursors([...cursors, page.pageInfo.endCursor])}
        >
          Next
        </button>
      </nav>
    </section>
  );
}

function FilterForm({ filenames, onApply }: { filenames: string[]; onApply(filters: Filters): void }) {
  const [filename, setFilename] = useState("");
  const [status, setStatus] = useState<string[]>([]);
  const [args, setArgs] = useState("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <form
      class="filters"
      aria-label="Filter runs"
      onSubmit={(event) => {
        event.preventDefault();
        try {
          onApply({ filename, status, args: parseArgFilters(args), since, until });
          setProblem(null);
        } catch (e) {
          setProblem((e as Error).message);
        }
      }}
    >
      <label>
        script
        <select value={filename} onChange={(e) => setFilename(e.currentTarget.value)}>
          <option value="">all</option>
          {filenames.map((f) => (
            <option key={f} value={f}>
              {f}
            </option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>status</legend>
        {STATUSES.map((s) => (
          <label key={s} class="inline">
            <input
              type="checkbox"
              checked={status.includes(s)}
              onChange={(e) => setStatus(e.currentTarget.checked ? [...status, s] : status.filter((x) => x !== s))}
            />
            {s.toLowerCase()}
          </label>
        ))}
      </fieldset>
      <label>
        args
        <input
          type="text"
          value={args}
          placeholder="lr>=0.01 hidden=32"
          aria-describedby={problem === null ? undefined : "filter-problem"}
          onInput={(e) => setArgs(e.currentTarget.value)}
        />
      </label>
      <label>
        since
        <input type="date" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
      </label>
      <label>
        before
        <input type="date" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
      </label>
      <button type="submit">Filter</button>
      {problem !== null && (
        <p id="filter-problem" class="error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}
