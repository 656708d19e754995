/** @jsxImportSource preact */
import { useEffect, useState } from "preact/hooks";
import { gql } from "./api.js";
import { AnswerChart } from "./answer-chart.js";
import { type Catalog, reloadCatalog } from "./catalog.js";
import { ErrorView } from "./console-view.js";
import { askFlorql, useFlorql } from "./florql-query.js";
import { shortVid } from "./format.js";
import { HindsightPanel } from "./hindsight.js";

/** A name or path as FlorQL reads it: bare when it can be, else quoted. */
const name = (text: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(text) ? text : `\`${text.replace(/`/g, "")}\``);
const script = (path: string) => (/^[A-Za-z0-9_./-]+$/.test(path) ? path : `'${path.replace(/'/g, "''")}'`);

/**
 * The query that draws `expression` across versions: per run (tstamp, vid), over the loops it is
 * logged in. Which loops those are, FlorQL says: a loop the value does not carry is refused (FQL022)
 * with its span, and is left out.
 */
async function curvesQuery(filename: string, expression: string, loops: string[]): Promise<string> {
  let dims = [...loops];
  for (;;) {
    const text = `SELECT tstamp, vid, ${[...dims, expression].join(", ")} FROM ${script(filename)} ORDER BY tstamp${dims.map((d) => `, ${d}`).join("")}`;
    const probe = await askFlorql(`${text} LIMIT 1`, "NONE");
    if (probe.__typename !== "FlorqlError" || probe.code !== "FQL022" || probe.offset === null) return text;
    const culprit = text.slice(probe.offset, probe.offset + (probe.length ?? 0));
    if (!dims.includes(culprit)) return text;
    dims = dims.filter((d) => d !== culprit);
  }
}

export function CurvesView({ catalog }: { catalog: Catalog }) {
  const [filename, setFilename] = useState(catalog.filenames[0] ?? "");
  const runsOfScript = catalog.runs.filter((r) => r.filename === filename);
  const names = [...new Set(runsOfScript.flatMap((r) => r.logNames))].sort();
  const [picked, setPicked] = useState(names.includes("loss") ? "loss" : (names[0] ?? ""));
  const [expression, setExpression] = useState("");
  const [query, setQuery] = useState<string | null>(null);
  const { state, run, fill } = useFlorql(() => void reloadCatalog());

  const draw = (event?: Event) => {
    event?.preventDefault();
    const what = expression.trim() !== "" ? expression.trim() : name(picked);
    if (what === "" || filename === "") return;
    const loops = [...new Map(runsOfScript.flatMap((r) => r.loops).map((l) => [l.name, l.depth])).entries()]
      .sort((a, b) => a[1] - b[1])
      .map(([loop]) => loop);
    curvesQuery(filename, what, loops).then((text) => {
      setQuery(text);
      run(text);
    });
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: draws the default curves once, on arrival
  useEffect(() => draw(), []);

  return (
    <section aria-labelledby="curves-title">
      <h1 id="curves-title">Across versions</h1>
      <form class="filters" onSubmit={draw} aria-label="What to draw">
        <label>
          script
          <select value={filename} onChange={(e) => setFilename(e.currentTarget.value)}>
            {catalog.filenames.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        <label>
          logged name
          <select value={picked} onChange={(e) => setPicked(e.currentTarget.value)}>
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label>
          or a FlorQL expression
          <input
            type="text"
            class="mono"
            value={expression}
            placeholder="w2_norm, or loss * 100"
            onInput={(e) => setExpression(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Draw</button>
      </form>
      {query !== null && (
        <p class="subtle">
          <code>{query}</code> <a href={`#/query?q=${encodeURIComponent(query)}`}>open in the console</a>
        </p>
      )}
      {state.error !== null && <ErrorView error={state.error} />}
      {state.failure !== null && (
        <p class="error" role="alert">
          {state.failure}
        </p>
      )}
      <HindsightPanel state={state} onFill={fill} />
      {state.answer !== null && <AnswerChart columns={state.answer.columns} rows={state.answer.rows} catalog={catalog} />}
      <VersionDiff catalog={catalog} />
    </section>
  );
}

/** Two versions' code (all files, or one), as a unified diff. */
function VersionDiff({ catalog }: { catalog: Catalog }) {
  const versions = catalog.versions.filter((v) => v.kind !== "missing");
  const [from, setFrom] = useState(versions[versions.length - 2]?.vid ?? "");
  const [to, setTo] = useState(versions[versions.length - 1]?.vid ?? "");
  const [filename, setFilename] = useState("");
  const [diff, setDiff] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const files = [...new Set(versions.filter((v) => v.vid === from || v.vid === to).flatMap((v) => v.filenames))].sort();
  const label = (v: (typeof versions)[number]) => `${shortVid(v.vid)} ${v.message ?? `(${v.kind})`}`.slice(0, 60);
  return (
    <section aria-labelledby="diff-title" class="diff-section">
      <h2 id="diff-title">Code between two versions</h2>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setError(null);
          gql<{ diff: string | null }>("query($from: String!, $to: String!, $f: String) { diff(from: $from, to: $to, filename: $f) }", {
            from,
            to,
            f: filename || null,
          })
            .then((answer) => setDiff(answer.diff))
            .catch((e: Error) => setError(e.message));
        }}
      >
        <label>
          from
          <select value={from} onChange={(e) => setFrom(e.currentTarget.value)}>
            {versions.map((v) => (
              <option key={v.vid} value={v.vid}>
                {label(v)}
              </option>
            ))}
          </select>
        </label>
        <label>
          to
          <select value={to} onChange={(e) => setTo(e.currentTarget.value)}>
            {versions.map((v) => (
              <option key={v.vid} value={v.vid}>
                {label(v)}
              </option>
            ))}
          </select>
        </label>
        <label>
          file
          <select value={filename} onChange={(e) => setFilename(e.currentTarget.value)}>
            <option value="">all files</option>
            {files.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show the diff</button>
      </form>
      {error !== null && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {diff !== null &&
        (diff === "" ? (
          <p>The two versions do not differ{filename === "" ? "" : ` in ${filename}`}.</p>
        ) : (
          <pre class="diff">
            {diff.split("\n").map((line, i) => (
              <span
                // biome-ignore lint/suspicious/noArrayIndexKey: the diff's lines, in order, never reordered
                key={i}
                class={line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : undefined}
              >
                {line}
                {"\n"}
              </span>
            ))}
          </pre>
        ))}
    </section>
  );
}
