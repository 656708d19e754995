/** @jsxImportSource preact */
import { useEffect, useRef, useState } from "preact/hooks";
import { gql } from "./api.js";
import { AnswerChart, AnswerTable } from "./answer-chart.js";
import { type Catalog, reloadCatalog } from "./catalog.js";
import { ExplainView } from "./explain-view.js";
import { createFlorqlEditor, type FlorqlEditor } from "./florql-editor.js";
import { type FlorqlError, useFlorql } from "./florql-query.js";
import { HindsightPanel } from "./hindsight.js";

type Tab = "table" | "chart" | "plan";

/** The FlorQL console: an editor, the answer as a table or a chart, the plan, and hindsight fills. */
export function ConsoleView({ catalog, initial }: { catalog: Catalog | null; initial: string }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<FlorqlEditor | null>(null);
  const [tab, setTab] = useState<Tab>("table");
  const [explained, setExplained] = useState<string | null>(null);
  const [explainError, setExplainError] = useState<FlorqlError | null>(null);
  const { state, run, fill, forget } = useFlorql(() => void reloadCatalog());

  const runQuery = () => {
    const text = editor.current?.text() ?? "";
    setExplained(null);
    setExplainError(null);
    if (text.trim() !== "") run(text);
  };
  const explain = () => {
    const text = editor.current?.text() ?? "";
    setExplainError(null);
    gql<{ explain: { __typename: string; explain?: string } & Partial<FlorqlError> }>(
      `query($q: String!) { explain(query: $q) { __typename ... on FlorqlExplanation { explain } ... on FlorqlError { code message line column offset length hint } } }`,
      { q: text },
    ).then(
      ({ explain }) => {
        if (explain.__typename === "FlorqlError") setExplainError(explain as FlorqlError);
        else {
          forget();
          setExplained(explain.explain ?? "");
          setTab("plan");
        }
      },
      (e: Error) =>
        setExplainError({
          __typename: "FlorqlError",
          code: "REQUEST",
          message: e.message,
          line: null,
          column: null,
          offset: null,
          length: null,
          hint: null,
        }),
    );
  };
  // The latest handlers, for the editor's key binding made once.
  const handlers = useRef(runQuery);
  handlers.current = runQuery;

  // biome-ignore lint/correctness/useExhaustiveDependencies: the editor is made once; it calls the latest handler through a ref
  useEffect(() => {
    if (host.current === null) return;
    editor.current = createFlorqlEditor(host.current, initial, () => handlers.current(), "FlorQL query");
    if (initial.trim() !== "") runQuery();
    return () => editor.current?.view.destroy();
  }, []);

  const error = explainError ?? state.error;
  useEffect(() => {
    editor.current?.markError(error === null || error.offset === null ? null : { offset: error.offset, length: error.length ?? 1 });
  }, [error]);

  const answer = state.answer;
  return (
    <section aria-labelledby="console-title">
      <h1 id="console-title">FlorQL</h1>
      <div class="editor" ref={host} />
      <div class="toolbar">
        <button type="button" onClick={runQuery} aria-keyshortcuts="Control+Enter">
          Run <kbd>Ctrl+Enter</kbd>
        </button>
        <button type="button" onClick={explain}>
          Explain
        </button>
        <span class="subtle" aria-live="polite">
          {state.running
            ? "running..."
            : state.ms !== null && answer !== null
              ? `${answer.rows.length} rows in ${Math.round(state.ms)} ms`
              : ""}
        </span>
      </div>
      {error !== null && <ErrorView error={error} />}
      {state.failure !== null && (
        <p class="error" role="alert">
          {state.failure}
        </p>
      )}
      <HindsightPanel state={state} onFill={fill} />
      {(answer !== null || explained !== null) && (
        <div>
          <div class="tabs" role="tablist" aria-label="Answer">
            {(answer === null ? (["plan"] as const) : (["table", "chart", "plan"] as const)).map((t) => (
              <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
                {t}
              </button>
            ))}
          </div>
          <div role="tabpanel">
            {tab === "table" && answer !== null && <AnswerTable columns={answer.columns} rows={answer.rows} />}
            {tab === "chart" && answer !== null && catalog !== null && (
              <AnswerChart columns={answer.columns} rows={answer.rows} catalog={catalog} />
            )}
            {tab === "plan" && <ExplainView text={explained ?? answer?.explain ?? ""} />}
          </div>
        </div>
      )}
    </section>
  );
}

/** A FlorQL error as the CLI prints it: the code, where, what, and the hint. */
export function ErrorView({ error }: { error: FlorqlError }) {
  return (
    <div class="florql-error" role="alert">
      <p>
        <strong>{error.code}</strong>
        {error.line !== null && ` at line ${error.line}, column ${error.column}`}: {error.message}
      </p>
      {error.hint !== null && <p class="hint">{error.hint}</p>}
    </div>
  );
}
