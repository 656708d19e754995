import { readFileSync } from "node:fs";
import path from "node:path";
import type { JsonValue } from "../journal/records.js";
import type { ProjectStore } from "../store/project-store.js";
import { journalsFingerprint } from "../store/queries/journals.js";
import { catalogRows } from "../store/queries/runs.js";
import { logStatements, moduleSources } from "../replay/logging-sources.js";
import { statementLevel } from "../replay/statement-level.js";

export interface CatalogRun {
  id: number;
  tstamp: Date;
  filename: string;
  vid: string | null;
  status: string;
  args: Map<string, JsonValue>;
}

/** A logged name: the loop dimensions its values carry (outer first), and whether only hindsight would give it. */
export interface CatalogLog {
  dims: string[];
  /** Logged by no run yet; the newest version of a script logs it (the query can fill it by replay). */
  hindsight: boolean;
}

/**
 * What FlorQL names can refer to in a project: run dimensions, loop dimensions, args, the names the runs
 * logged, and (looked up only when a query needs them) the names the newest version of each script
 * logs, which replay can fill.
 */
/** The run dimensions every run has. */
const RUN_DIMENSIONS = ["projid", "tstamp", "filename", "vid", "status"] as const;

const CACHE = new WeakMap<object, Map<string, { fingerprint: string; catalog: QueryCatalog }>>();

export class QueryCatalog {
  newest: Map<string, CatalogLog> | null = null;

  constructor(
    readonly projid: string,
    readonly root: string,
    readonly runs: CatalogRun[],
    readonly args: Set<string>,
    readonly loops: Map<string, { valued: boolean }>,
    readonly logs: Map<string, CatalogLog>,
  ) {}

  /** Runs (by id) that recorded each name themselves, and runs that replay filled each name for. */
  recordedBy = new Map<string, Set<number>>();
  replayedFor = new Map<string, Set<number>>();

  /**
   * Loads the catalog, or returns the one loaded before when the store has not changed since: every
   * change to runs, logs and replayed values comes with a change to the `journals` table, whose
   * fingerprint is one cheap query.
   */
  static async load(project: ProjectStore, root: string): Promise<QueryCatalog> {
    const { store, projid } = project;
    const fingerprint = await journalsFingerprint(project);
    const key = `${projid}\u0000${root}`;
    let cached = CACHE.get(store)?.get(key);
    if (cached === undefined || cached.fingerprint !== fingerprint) {
      cached = { fingerprint, catalog: await QueryCatalog.read(project, root) };
      const forStore = CACHE.get(store) ?? new Map<string, { fingerprint: string; catalog: QueryCatalog }>();
      forStore.set(key, cached);
      CACHE.set(store, forStore);
    }
    // What the working tree logs can change without the store changing: looked up afresh.
    cached.catalog.newest = null;
    return cached.catalog;
  }

  private static async read(project: ProjectStore, root: string): Promise<QueryCatalog> {
    const { projid } = project;
    const { runRows, argRows, logRows, coverage } = await catalogRows(project);
    const byId = new Map<number, CatalogRun>(
      runRows.map((r) => [r.id, { id: r.id, tstamp: r.tstamp, filename: r.filename, vid: r.vid, status: r.status, args: new Map() }]),
    );
    for (const a of argRows) byId.get(a.run_id)?.args.set(a.name, a.value);
    // Loops are known by the dimensions of the values logged in them: `x_value` next to `x` is an item value.
    const keys = new Set(logRows.flatMap((l) => l.dim_keys));
    const loops = new Map<string, { valued: boolean }>();
    for (const key of keys)
      if (!(key.endsWith("_value") && keys.has(key.slice(0, -6)))) loops.set(key, { valued: keys.has(`${key}_value`) });
    const logs = new Map<string, CatalogLog>();
    const catalog = new QueryCatalog(projid, root, [...byId.values()], new Set(argRows.map((a) => a.name)), loops, logs);
    const replayed = new Set(coverage.map((c) => `${c.run_id}\u0000${c.name}`));
    for (const { run_id, name, dim_keys } of logRows) {
      const entry = logs.get(name) ?? { dims: [], hindsight: false };
      for (const key of dim_keys) if (!entry.dims.includes(key)) entry.dims.push(key);
      logs.set(name, entry);
      const into = replayed.has(`${run_id}\u0000${name}`) ? catalog.replayedFor : catalog.recordedBy;
      (into.get(name) ?? into.set(name, new Set()).get(name)!).add(run_id);
    }
    return catalog;
  }

  /** Every name a query can use, for "did you mean". */
  allNames(): string[] {
    return [...RUN_DIMENSIONS, ...this.loopDimensions(), ...this.args, ...this.logs.keys(), ...this.newestLogs().keys()];
  }

  loopDimensions(): string[] {
    return [...this.loops].flatMap(([name, { valued }]) => (valued ? [name, `${name}_value`] : [name]));
  }

  /** A logged name: recorded by some run, or logged by the newest version of a script (hindsight). */
  log(name: string): CatalogLog | undefined {
    return this.logs.get(name) ?? this.newestLogs().get(name);
  }

  /**
   * The names the working tree's version of each recorded script logs that no run has: their dims come
   * from where the statement is (inside which loops), read from its syntax.
   */
  private newestLogs(): Map<string, CatalogLog> {
    if (this.newest !== null) return this.newest;
    this.newest = new Map();
    for (const filename of new Set(this.runs.map((r) => r.filename))) {
      // A log inside a function runs where the function is called, maybe from another module.
      const modules = moduleSources(this.root, filename);
      for (const [file, statements] of logStatements(this.root, filename)) {
        let code: string;
        try {
          code = readFileSync(path.join(this.root, file), "utf8");
        } catch {
          continue;
        }
        for (const { name, line } of statements) {
          if (this.logs.has(name) || this.newest.has(name)) continue;
          const level = statementLevel(code, file, line, name, modules);
          const loops = level.kind === "loop" ? level.loops : [];
          this.newest.set(name, {
            dims: loops.flatMap((loop) => (this.loops.get(loop)?.valued ? [loop, `${loop}_value`] : [loop])),
            hindsight: true,
          });
        }
      }
    }
    return this.newest;
  }
}
