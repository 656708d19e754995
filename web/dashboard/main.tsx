/** @jsxImportSource preact */
// The FlorDB dashboard `flor serve` ships at /: runs, a run's page, curves across versions, the FlorQL
// console and hindsight fills, all over /graphql. Bundled at build time (scripts/build-web.mjs): the page
// loads nothing from outside the server.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, saveToken } from "./api.js";
import { type Catalog, catalog as loadCatalog } from "./catalog.js";
import { ConsoleView } from "./console-view.js";
import { CurvesView } from "./curves-view.js";
import { RunView } from "./run-view.js";
import { RunsView } from "./runs-view.js";
import "./style.css";

type Route = { view: "runs"; pageSize: number } | { view: "run"; id: number } | { view: "curves" } | { view: "query"; text: string };

const DEFAULT_QUERY = "SELECT *";

function route(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?");
  const run = /^\/run\/(\d+)$/.exec(path);
  if (run) return { view: "run", id: Number(run[1]) };
  if (path === "/curves") return { view: "curves" };
  if (path === "/query") return { view: "query", text: new URLSearchParams(search).get("q") ?? DEFAULT_QUERY };
  const size = Number(new URLSearchParams(search).get("size"));
  return { view: "runs", pageSize: Number.isInteger(size) && size >= 1 && size <= 100 ? size : 50 };
}

function useHashRoute(): Route {
  const [current, setCurrent] = useState(() => route(location.hash));
  useEffect(() => {
    const changed = () => setCurrent(route(location.hash));
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return current;
}

function App() {
  const current = useHashRoute();
  const [catalog, setCatalog] = useState<Catalog | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [locked, setLocked] = useState(false);
  useEffect(() => {
    loadCatalog().then(setCatalog, (e: Error) => {
      // Off loopback, reads need the token too: ask for it rather than show empty views.
      if (e instanceof ApiError && e.code === "UNAUTHENTICATED") setLocked(true);
      else setProblem(e.message);
    });
  }, []);
  // A new view takes the focus, as a new page would, so a screen reader starts reading it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the view changes
  useEffect(() => {
    document.getElementById("main")?.focus({ preventScroll: true });
  }, [current.view]);
  if (locked) return <TokenGate />;
  const link = (view: Route["view"], href: string, text: string) => (
    <a href={href} aria-current={current.view === view || (view === "runs" && current.view === "run") ? "page" : undefined}>
      {text}
    </a>
  );
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById("main")?.focus()}>
        Skip to content
      </button>
      <header>
        <span class="brand">FlorDB</span>
        <nav aria-label="Views">
          {link("runs", "#/", "Runs")}
          {link("curves", "#/curves", "Across versions")}
          {link("query", "#/query", "FlorQL")}
          <a href="/graphql">GraphiQL</a>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {problem !== null && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        {current.view === "runs" && <RunsView key={current.pageSize} filenames={catalog?.filenames ?? []} pageSize={current.pageSize} />}
        {current.view === "run" && <RunView id={current.id} />}
        {current.view === "curves" && (catalog === null ? <p aria-busy="true">Loading runs...</p> : <CurvesView catalog={catalog} />)}
        {current.view === "query" && <ConsoleView key={current.text} catalog={catalog} initial={current.text} />}
      </main>
    </>
  );
}

/** Asks for the token when this server wants it for every request (it listens beyond loopback). */
function TokenGate() {
  const [token, setToken] = useState("");
  return (
    <main id="main" class="gate">
      <h1>FlorDB</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          saveToken(token);
          location.reload();
        }}
      >
        <p>This server answers only with its token (it listens beyond this machine).</p>
        <label>
          token (<code>.flor/graphql-token</code>, kept for this tab only)
          <input type="password" autoComplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        </label>
        <button type="submit">Open</button>
      </form>
    </main>
  );
}

const root = document.getElementById("root");
if (root !== null) {
  root.textContent = "";
  render(<App />, root);
}
