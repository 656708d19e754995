import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { createPgConfig } from "@electric-sql/pglite/node-postgres";
import { Kysely, Migrator, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectSession } from "../../src/app/project-session.js";
import { layoutFor, type ProjectLayout } from "../../src/project-layout.js";
import { ingest } from "../../src/store/ingest.js";
import { migrationProvider } from "../../src/store/migrations.js";
import type { Store } from "../../src/store/open-store.js";
import { checkpointSummaries, loopStructures, runLogs } from "../../src/store/queries/run-details.js";
import { backends } from "../helpers/stores.js";
import { FIXTURES } from "../helpers/repo.js";

const FIXTURE = path.join(FIXTURES, "journal-v1");
/** Non-finite numbers are spelled "#NaN", "#Infinity", "#-Infinity" in the fixture's JSON. */
const revive = (_key: string, value: unknown): unknown =>
  typeof value === "string" && /^#(NaN|-?Infinity)$/.test(value) ? Number(value.slice(1)) : value;
const read = (file: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(FIXTURE, file), "utf8"), revive);
const expected = read("expected.json") as {
  report: { problems: string[] };
  runs: unknown[];
  answers: Record<string, { columns: string[]; rows: unknown[] } | { error: string }>;
  dataframes: Record<string, unknown>;
  loops: { seconds: number | null }[];
  checkpoints: unknown[];
  logPages: unknown[];
};

/** The repository the fixture was recorded in, recreated: the same files and commit give the same vid. */
function fixtureRepository(): { root: string; remove(): void } {
  const parent = mkdtempSync(path.join(tmpdir(), "flor-format-1-"));
  const root = path.join(parent, "fixture-project");
  mkdirSync(root);
  const when = "2026-01-01T00:00:00Z";
  const who = { name: "Fixture", email: "fixture@example.com" };
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: who.name,
    GIT_AUTHOR_EMAIL: who.email,
    GIT_AUTHOR_DATE: when,
    GIT_COMMITTER_NAME: who.name,
    GIT_COMMITTER_EMAIL: who.email,
    GIT_COMMITTER_DATE: when,
  };
  const git = (...args: string[]) => execFileSync("git", args, { cwd: root, env, encoding: "utf8" }).trim();
  git("init", "-q", "-b", "main");
  writeFileSync(path.join(root, ".gitignore"), "node_modules/\n");
  cpSync(path.join(FIXTURE, "train.mjs"), path.join(root, "train.mjs"));
  git("add", "-A");
  git("commit", "-q", "-m", "the fixture script");
  expect(git("rev-parse", "HEAD")).toBe("08f19401b983842553b5520286530445eb1a14dc");
  return { root, remove: () => rmSync(parent, { recursive: true, force: true }) };
}

/** The fixture's journals in the project, with this machine's host name: their writers are then known dead. */
function copyJournals(layout: ProjectLayout): void {
  cpSync(path.join(FIXTURE, "flor"), layout.florDir, { recursive: true });
  for (const file of readdirSync(layout.journalsDir)) {
    const journal = path.join(layout.journalsDir, file);
    writeFileSync(journal, readFileSync(journal, "utf8").replace(/"host":"vm"/, `"host":${JSON.stringify(hostname())}`));
  }
}

/** The names the fixture's replay journal filled. */
const FILLED = ["grad", "gstep"];

/** Everything the fixture's expected.json holds, read from a store. */
async function answersOf(store: Store, layout: ProjectLayout) {
  const session = await ProjectSession.over(store, layout, { workers: 1, lifetime: "command" });
  try {
    const answers: Record<string, unknown> = {};
    for (const query of Object.keys(expected.answers)) {
      try {
        const answer = await session.answerQuery(query, "none");
        answers[query] = { columns: answer.columns, rows: answer.rows };
      } catch (error) {
        answers[query] = { error: String((error as Error).message) };
      }
    }
    // What later flordbs added to their answers is left out: that flordb had none of it. Replay's
    // verification marks (the fixture's replay diverged, so the values it filled may be marked
    // unverified: the values stay the same), a run's error, and its count of values split into logged
    // and replayed.
    const dataframes: Record<string, unknown> = {};
    for (const names of Object.keys(expected.dataframes)) {
      const { unverified, columns, rows } = await session.dataframe(names === "" ? [] : names.split(","));
      expect(unverified.every(({ name }) => FILLED.includes(name))).toBe(true);
      const mark = (column: string) => column.endsWith("__verified");
      dataframes[names] = {
        columns: columns.filter((column) => !mark(column)),
        rows: rows.map((row) => Object.fromEntries(Object.entries(row).filter(([column]) => !mark(column)))),
      };
    }
    const runIds = (await store.db.selectFrom("runs").select("id").orderBy("id").execute()).map((r) => r.id);
    const logPages = [];
    for (const id of runIds)
      logPages.push(
        (await runLogs(store.db, id, null, null, 1000)).map(({ replayed: _, verified, ...entry }) => {
          expect(verified || FILLED.includes(entry.name)).toBe(true);
          return entry;
        }),
      );
    return {
      runs: (await session.runs()).map(({ replayed, error, ...run }) => {
        expect(error).toBeNull();
        return { ...run, logs: run.logs + replayed };
      }),
      answers,
      dataframes,
      loops: await loopStructures(store.db, runIds),
      checkpoints: await checkpointSummaries(store.db, runIds),
      logPages,
    };
  } finally {
    await session.close();
  }
}

/** Loop times are sums of the same per-iteration times, added in another order: equal to the last bits. */
const roundedSeconds = (loops: { seconds: number | null }[]) =>
  loops.map((loop) => ({ ...loop, seconds: loop.seconds === null ? null : Math.round(loop.seconds * 1e9) / 1e9 }));

/** Rows as a sorted list of their JSON: the same rows, whatever their order. */
const asSet = (answer: unknown): unknown => {
  if (typeof answer !== "object" || answer === null || !("rows" in answer)) return answer;
  const { rows, ...rest } = answer as { rows: unknown[] };
  return { ...rest, rows: rows.map((row) => JSON.stringify(row)).sort() };
};

/**
 * Queries whose ORDER BY leaves rows tied (values logged outside loops, a name logged twice in a step):
 * the flordb that wrote the fixture gave them in whatever order its plan did, now they come in logging order.
 */
const TIED = new Set(["SELECT * ", "SELECT summary, start, nothing", "SELECT epoch, step, loss, even, twice WHERE step >= 2"]);
const TIED_FRAMES = new Set(["", "summary,start,lr", "twice,even"]);

/**
 * Queries that sum floats over values a plan reads in an order SQL leaves open: the same values added in
 * another order (another index, another join) can differ in the last bits (6.1 or 6.1000000000000005).
 */
const SUMMED = new Set([
  "SELECT label, epoch, first(loss) AS f, last(loss) AS l, sum(loss) AS s GROUP BY label, epoch ORDER BY label, epoch",
]);

/** The answer with its numbers to 12 significant digits. */
const toLastBits = (answer: unknown): unknown =>
  JSON.parse(JSON.stringify(answer), (_key, value: unknown) => (typeof value === "number" ? Number(value.toPrecision(12)) : value));

function expectSameAnswers(actual: Awaited<ReturnType<typeof answersOf>>): void {
  for (const [query, answer] of Object.entries(expected.answers)) {
    if (TIED.has(query)) expect(asSet(actual.answers[query]), query).toEqual(asSet(answer));
    else if (SUMMED.has(query)) expect(toLastBits(actual.answers[query]), query).toEqual(toLastBits(answer));
    else expect(actual.answers[query], query).toEqual(answer);
  }
  for (const [names, frame] of Object.entries(expected.dataframes)) {
    if (TIED_FRAMES.has(names)) expect(asSet(actual.dataframes[names]), names).toEqual(asSet(frame));
    else expect(actual.dataframes[names], names).toEqual(frame);
  }
  expect(actual.runs).toEqual(expected.runs);
  expect(roundedSeconds(actual.loops)).toEqual(roundedSeconds(expected.loops));
  expect(actual.checkpoints).toEqual(expected.checkpoints);
  expect(actual.logPages).toEqual(expected.logPages);
}

describe.each(backends())("journals of format 1 on $name", (backend) => {
  let repo: { root: string; remove(): void };
  let layout: ProjectLayout;

  beforeAll(() => {
    repo = fixtureRepository();
    layout = layoutFor(repo.root);
  });
  afterAll(async () => {
    repo.remove();
    await backend.cleanup();
  });

  it("ingest into the same answers as the flordb that wrote them", async () => {
    rmSync(layout.florDir, { recursive: true, force: true });
    copyJournals(layout);
    await backend.prepare(repo.root);
    const store = await backend.open(layout);
    try {
      const report = await ingest(store, layout);
      expect(report.problems.map((p) => p.replace(/journals\/\S+:/, "journals/<cut run>:"))).toEqual(
        expected.report.problems.map((p) => p.replace(/journals\/\S+:/, "journals/<cut run>:")),
      );
      expectSameAnswers(await answersOf(store, layout));
    } finally {
      await store.close();
    }
  });

  it("are migrated, from a store that held them before migration 0006, into the same answers", async () => {
    rmSync(layout.florDir, { recursive: true, force: true });
    mkdirSync(layout.florDir, { recursive: true });
    const env = await backend.prepare(repo.root);
    const url = env["FLOR_DATABASE_URL"];
    await fillOldStore(layout, url ? url : null);
    const store = await backend.open(layout);
    try {
      expectSameAnswers(await answersOf(store, layout));
      expect(await store.db.selectFrom("journals").select("path").orderBy("path").execute()).toHaveLength(4);
    } finally {
      await store.close();
    }
  });
});

/** A store migrated up to 0003 (embedded in the layout, or the server at `url`) holding the fixture's old rows. */
async function fillOldStore(layout: ProjectLayout, url: string | null): Promise<void> {
  let pglite: PGlite | null = null;
  let pool: pg.Pool;
  if (url === null) {
    rmSync(layout.databaseDir, { recursive: true, force: true });
    pglite = await PGlite.create({ dataDir: layout.databaseDir });
    pool = new pg.Pool({ ...createPgConfig(pglite), max: 1 });
  } else pool = new pg.Pool({ connectionString: url, max: 1 });
  const db = new Kysely<Record<string, Record<string, unknown>>>({ dialect: new PostgresDialect({ pool }) }).withSchema("flor");
  try {
    const { error } = await new Migrator({ db, provider: migrationProvider, migrationTableSchema: "flor" }).migrateTo(
      "0003-logs-by-context",
    );
    if (error !== undefined) throw error;
    // Rows as that store held them: jsonb, timestamps and doubles as their text (NaN included).
    const tables = read("store-0003.json") as Record<string, Record<string, unknown>[]>;
    for (const [table, rows] of Object.entries(tables)) if (rows.length > 0) await db.insertInto(table).values(rows).execute();
    for (const table of ["projects", "runs"])
      await sql`select setval(${`flor.${table}_id_seq`}, (select max(id) from ${sql.table(`flor.${table}`)}))`.execute(db);
  } finally {
    await db.destroy();
    await pglite?.close();
  }
}
