// GraphiQL for `flor serve`, bundled at build time (scripts/build-web.mjs) so the page loads nothing from
// outside the server: the editor's workers are files of the same bundle, not a CDN's.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { createRoot } from "react-dom/client";

// Monaco asks for a worker per language; each is a bundle next to this one.
const WORKERS: Record<string, string> = { json: "json.worker.js", graphql: "graphql.worker.js" };
globalThis.MonacoEnvironment = {
  getWorker: (_id: string, label: string) => new Worker(new URL(WORKERS[label] ?? "editor.worker.js", import.meta.url), { type: "module" }),
};

const EXAMPLE = `# FlorDB's GraphQL API. Reads are open on loopback; mutations need the
# token: under Headers, {"Authorization": "Bearer <.flor/graphql-token>"}
{
  project { projid runCount }
  runs(first: 5) {
    edges { node { id tstamp filename status args { name value } } }
  }
}
`;

// The page is served at the endpoint itself, so its own address is the endpoint (behind a proxy too).
const fetcher = createGraphiQLFetcher({ url: window.location.pathname });
const root = document.getElementById("root");
if (root !== null) createRoot(root).render(<GraphiQL fetcher={fetcher} defaultQuery={EXAMPLE} />);
