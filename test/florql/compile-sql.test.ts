import fc from "fast-check";
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../../src/florql/analyze.js";
import { QueryCatalog } from "../../src/florql/catalog.js";
import { compileSql } from "../../src/florql/compile-sql.js";
import { FlorQLError } from "../../src/florql/florql-error.js";
import { parseQuery } from "../../src/florql/parse.js";
import { printName, printQuery } from "../../src/florql/print.js";
import { layoutFor } from "../../src/project-layout.js";
import { ingest } from "../../src/store/ingest.js";
import type { Store } from "../../src/store/open-store.js";
import { bindProject } from "../../src/store/project-store.js";
import { TestRepo } from "../helpers/repo.js";
import { backends } from "../helpers/stores.js";
import { queryArbitrary } from "./florql-arbitraries.js";
import { analyzeText, CATALOG, type CatalogSpec } from "./florql-helpers.js";

/** Kysely without a database, to compile (not run) statements for PostgreSQL. */
const db = new Kysely<unknown>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (kysely) => new PostgresIntrospector(kysely),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

function compiled(text: string, options: { spec?: CatalogSpec; runIds?: number[]; lacking?: Map<string, number[]> } = {}) {
  const analyzed = analyzeText(text, options.spec ?? CATALOG);
  const { query, outputs } = compileSql(analyzed, "project", options.runIds ?? null, options.lacking ?? new Map());
  const { sql, parameters } = query.compile(db);
  return { sql: sql.replace(/\s+/g, " ").trim(), parameters, outputs };
}

describe("SQL compilation", () => {
  it("compiles a query without logs to one statement over runs and args", () => {
    const { sql, parameters, outputs } = compiled("SELECT vid, lr WHERE opt = 'adam'");
    expect(sql).toBe(
      'select r."vid" as "o0", null::float8 as "o1n", "a0".value as "o1v" from "flor"."runs" r' +
        ' left join "flor"."args" "a0" on "a0".run_id = r.id and "a0".name = $1' +
        ' left join "flor"."args" "a1" on "a1".run_id = r.id and "a1".name = $2' +
        ' where r.project_id = (select id from "flor"."projects" where projid = $3)' +
        ` and coalesce((((case when jsonb_typeof("a1".value) = 'string' then "a1".value #>> '{}' end) collate "C") = ($4::text collate "C")), false)` +
        " order by r.tstamp, r.id",
    );
    expect(parameters).toEqual(["lr", "opt", "project", "adam"]);
    // A value known only per row (an arg) is two columns: its number and its JSON.
    expect(outputs).toEqual([
      { label: "vid", columns: ["o0"] },
      { label: "lr", columns: ["o1n", "o1v"] },
    ]);
  });

  it("pivots logged values, pushing a loop-dimension filter into each relation that carries it", () => {
    const { sql, parameters } = compiled("SELECT epoch, loss, acc WHERE epoch >= 18 AND lr < 0.1");
    // The filter first selects the streams whose loop range can match (its own iterations, or its
    // enclosing loops' index), then their values; only then are values read, and tested one by one.
    expect(sql).toContain(
      'from "flor"."log_streams" s left join "flor"."loop_ranges" r on r.run_id = s.run_id and r.ctx_id = s.ctx_id' +
        ' where s.name = $5 and (("r"."name" = $6 and ("r"."iteration" + "r"."count" - 1) >= $7::int)' +
        ' or ("r"."name" <> $8 and ("r"."outer_dims" ->> $9)::int >= $10::int)) offset 0) st' +
        ' join "flor"."log_values" lg on lg.stream_id = st.id' +
        ' where true and (case when st."i0" then lg.ctx_id - st.base else st."o0" end) >= $11::int) t0',
    );
    // acc shares only epoch with loss: joined on the run and epoch.
    expect(sql).toContain('full join (select st.run_id, (case when st."i0" then lg.ctx_id - st.base else st."o0" end) as "d0"');
    expect(sql).toContain('"t1" using ("run_id", "d0")');
    // The pushed conjunct is only a presence test outside; the other conjunct is evaluated there.
    expect(sql).toContain(
      `and p."d0" is not null and coalesce(((case when jsonb_typeof("a0".value) = 'number' then ("a0".value #>> '{}')::float8 end) < $23::float8), false)`,
    );
    // Rows with the same coordinates come in logging order.
    expect(sql.endsWith('order by r.tstamp, r.id, p."d0", p."d1", p."q0", p."q1"')).toBe(true);
    expect(parameters).toEqual([
      "epoch",
      "epoch",
      "step",
      "step",
      "loss",
      "epoch",
      18,
      "epoch",
      "epoch",
      18,
      18,
      "epoch",
      "epoch",
      "acc",
      "epoch",
      18,
      "epoch",
      "epoch",
      18,
      18,
      "lr",
      "project",
      0.1,
    ]);
  });

  it("groups by names as columns, orders by aliases, and binds LIMIT and OFFSET", () => {
    const { sql, parameters } = compiled("SELECT opt, count(*) AS n, max(acc) GROUP BY opt ORDER BY n DESC LIMIT 5 OFFSET 2");
    // Aggregates of one log name by run columns combine its per-stream partial aggregates.
    expect(sql).toMatch(
      /^select null::float8 as "o0n", "a0".value as "o0v", coalesce\(sum\(p."c0"\), 0\)::float8 as "o1", max\(p."h0"\) as "o2"/,
    );
    expect(sql).toContain('join "flor"."log_stream_stats" x on x.stream_id = st.id union all');
    expect(sql.endsWith('group by null::float8, "a0".value order by "o1" desc limit $11 offset $12')).toBe(true);
    expect(parameters.slice(-2)).toEqual([5, 2]);
  });

  it("computes a GROUP BY expression with a literal once, in a LATERAL subquery, and uses it wherever it is selected", () => {
    const { sql, parameters } = compiled("SELECT (lr + 1) * 2 AS x, count(*) GROUP BY lr + 1 ORDER BY lr + 1 DESC");
    expect(sql).toBe(
      'select ("g0".g * $1::float8) as "o0", count(*)::float8 as "o1" from "flor"."runs" r' +
        ' left join "flor"."args" "a0" on "a0".run_id = r.id and "a0".name = $2' +
        ` cross join lateral (select ((case when jsonb_typeof("a0".value) = 'number' then ("a0".value #>> '{}')::float8 end) + $3::float8) as g) "g0"` +
        ' where r.project_id = (select id from "flor"."projects" where projid = $4) group by "g0".g order by "g0".g desc',
    );
    expect(parameters).toEqual([2, "lr", 1, "project"]);
    // Without a literal, PostgreSQL matches the expression itself.
    expect(compiled("SELECT lr * lr, count(*) GROUP BY lr * lr").sql).not.toContain("lateral");
  });

  it("emits every operand as the type the typing pass gave it", () => {
    const where = (predicate: string) => {
      const { sql } = compiled(`SELECT loss WHERE ${predicate}`);
      return sql.slice(sql.indexOf(" and coalesce(") + " and coalesce(".length, sql.lastIndexOf(", false)"));
    };
    // Parameters $1 to $5 are the pivot's, $6 the project's.
    expect(where("tstamp > '2026-11-01'")).toBe('(r."tstamp" > $7::timestamptz)');
    expect(compiled("SELECT loss WHERE tstamp > '2026-11-01 12:00+02:00'").parameters).toContain("2026-11-01T10:00:00.000Z");
    expect(where("tstamp LIKE '2026-%'")).toBe(`(to_char(r.tstamp at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') like $7::text)`);
    expect(where("epoch + 1 LIKE '1%'")).toBe('(((p."d0" + $7::float8))::text like $8::text)');
    expect(where("note")).toBe(`(case when jsonb_typeof(p."v1") = 'boolean' then (p."v1" #>> '{}')::boolean end)`);
    expect(where("-NULL IS NULL")).toBe("((- null::float8) is null)");
    // Division by zero is NULL, not an error that aborts the query.
    expect(where("lr / 0 IS NULL")).toContain("/ nullif($8::float8, 0)) is null)");
  });

  it("reads runs in scope and fills the rows of runs that lack a value with an empty skeleton", () => {
    const { sql, parameters } = compiled("SELECT epoch, grad_norm", { runIds: [3, 5], lacking: new Map([["grad_norm", [5]]]) });
    expect(sql).toContain(
      'where s.name = $5 and s.run_id = any($6::int[]) offset 0) st join "flor"."log_values" lg on lg.stream_id = st.id where true' +
        ' union all select r.run_id, (case when r.name = $7 then r.iteration + g else (r.outer_dims ->> $8)::int end) as "d0",' +
        ' (case when r.name = $9 then r.iteration + g else (r.outer_dims ->> $10)::int end) as "d1",' +
        ' null::float8 as "n0", null::jsonb as "v0", null::boolean as "u0", null::integer as "q0"' +
        ' from "flor"."loop_ranges" r cross join lateral generate_series(0, r.count - 1) as g where r.name = $11 and r.run_id = any($12::int[])' +
        ' and not exists (select 1 from "flor"."log_streams" s join "flor"."log_values" lg on lg.stream_id = s.id' +
        " where s.name = $13 and s.run_id = r.run_id and s.ctx_id = r.ctx_id and lg.ctx_id = r.ctx_id + g)) t0",
    );
    expect(sql).toContain("and r.id = any($15::int[])");
    expect(parameters).toEqual([
      "epoch",
      "epoch",
      "step",
      "step",
      "grad_norm",
      [3, 5],
      "epoch",
      "epoch",
      "step",
      "step",
      "step",
      [5],
      "grad_norm",
      "project",
      [3, 5],
    ]);
  });

  it("binds every name and literal the user wrote as a parameter: none of their text is in the SQL", () => {
    // A marker that SQL keywords and FlorDB's identifiers never contain, followed by anything.
    const userText = fc.string({ unit: "binary", maxLength: 12 }).map((s) => `Zq${s}`);
    fc.assert(
      fc.property(userText, userText, userText, userText, (arg, log, literal, pattern) => {
        fc.pre(arg !== log);
        const spec: CatalogSpec = { args: [arg], loops: { epoch: false }, logs: { [log]: ["epoch"] }, scripts: ["train.ts"] };
        const quoted = `'${literal.replaceAll("'", "''")}'`;
        const text = `SELECT ${printName(log)}, arg.${printName(arg)} WHERE arg.${printName(arg)} = ${quoted} OR ${printName(log)} NOT LIKE '${pattern.replaceAll("'", "''")}' ORDER BY ${printName(log)}`;
        let result: ReturnType<typeof compiled>;
        try {
          result = compiled(text, { spec });
        } catch (error) {
          // Text FlorQL refuses (a control character, an unpaired surrogate) never reaches SQL.
          if (error instanceof FlorQLError) return;
          throw error;
        }
        expect(result.sql).not.toContain("Zq");
        for (const value of [arg, log, literal, pattern]) expect(result.parameters).toContain(value);
      }),
      { numRuns: 300 },
    );
  });
});

const TYPED_NAMES = {
  number: ["epoch", "step"],
  string: ["vid", "status", "projid", "filename"],
  timestamp: ["tstamp"],
  json: ["lr", "opt", "loss", "acc", "note", "final"],
};

let repo: TestRepo;

beforeAll(() => {
  repo = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
  repo.commitAll("fixture");
  for (const kwargs of [
    ["lr=0.1", "opt=sgd"],
    ["lr=0.01", "opt=adam"],
  ])
    expect(repo.runScript("train.mjs", ["--kwargs", ...kwargs]).status).toBe(0);
});

afterAll(() => repo.remove());

for (const backend of backends()) {
  describe(`compiled queries on ${backend.name}`, () => {
    let store: Store;
    let catalog: QueryCatalog;

    beforeAll(async () => {
      await backend.prepare(repo.dir);
      const layout = layoutFor(repo.dir);
      store = await backend.open(layout);
      await ingest(store, layout);
      catalog = await QueryCatalog.load(await bindProject(store, layout.projid), layout.root);
    });

    afterAll(async () => {
      await store.close();
      await backend.cleanup();
    });

    it("run without an error whenever analysis accepts them: the types say what PostgreSQL will accept", async () => {
      const layout = layoutFor(repo.dir);
      let ran = 0;
      await fc.assert(
        fc.asyncProperty(queryArbitrary(TYPED_NAMES), async (tree) => {
          const text = printQuery(tree);
          const query = parseQuery(text);
          let compiledQuery: ReturnType<typeof compileSql>;
          try {
            compiledQuery = compileSql(analyze(query, text, catalog), layout.projid, null);
          } catch (error) {
            if (error instanceof FlorQLError) return;
            throw error;
          }
          await expect(compiledQuery.query.execute(store.db), text).resolves.toBeDefined();
          ran++;
        }),
        { numRuns: 300 },
      );
      expect(ran).toBeGreaterThan(100);
    });
  });
}
