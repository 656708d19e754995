// What the console and the curves need to know about the project's runs: the loops (to tell x from y),
// the scripts, the logged names, and each run's version and args (for legends).
import { gql } from "./api.js";

export interface RunSummary {
  id: number;
  tstamp: string;
  filename: string;
  vid: string | null;
  status: string;
  args: { name: string; value: unknown }[];
  logNames: string[];
  loops: { name: string; depth: number }[];
}

export interface VersionSummary {
  vid: string;
  message: string | null;
  kind: string;
  runs: number;
  firstRun: string;
  filenames: string[];
}

export interface Catalog {
  runs: RunSummary[];
  byTstamp: Map<string, RunSummary>;
  loopDepth: Map<string, number>;
  filenames: string[];
  logNames: string[];
  versions: VersionSummary[];
}

const RUN_FIELDS = "id tstamp filename vid status args { name value } logNames loops { name depth }";
/** Pages of 50 stay under the server's cost budget with every field above. */
const PAGE = 50;

let loading: Promise<Catalog> | null = null;

/** The catalog, loaded once per page view (reload() after a replay adds names). */
export function catalog(): Promise<Catalog> {
  loading ??= load();
  return loading;
}

export function reloadCatalog(): Promise<Catalog> {
  loading = load();
  return loading;
}

async function load(): Promise<Catalog> {
  const runs: RunSummary[] = [];
  let after: string | null = null;
  const versionsAnswer = gql<{ versions: VersionSummary[] | null }>("{ versions { vid message kind runs firstRun filenames } }");
  for (;;) {
    const page: { runs: { edges: { node: RunSummary }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } | null } =
      await gql(
        `query($after: String) { runs(first: ${PAGE}, after: $after) { edges { node { ${RUN_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
    if (page.runs === null) break;
    runs.push(...page.runs.edges.map((e) => e.node));
    if (!page.runs.pageInfo.hasNextPage) break;
    after = page.runs.pageInfo.endCursor;
  }
  const loopDepth = new Map<string, number>();
  for (const run of runs) for (const loop of run.loops) if (!loopDepth.has(loop.name)) loopDepth.set(loop.name, loop.depth);
  return {
    runs,
    byTstamp: new Map(runs.map((r) => [r.tstamp, r])),
    loopDepth,
    filenames: [...new Set(runs.map((r) => r.filename))].sort(),
    logNames: [...new Set(runs.flatMap((r) => r.logNames))].sort(),
    versions: (await versionsAnswer).versions ?? [],
  };
}
