import { existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { hostname } from "node:os";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setFlagsFromString } from "node:v8";
import { Kysely, Migrator, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { PGlite } from "@electric-sql/pglite";
import { createPgConfig } from "@electric-sql/pglite/node-postgres";
import { FlorError } from "../errors.js";
import type { ProjectLayout } from "../project-layout.js";
import { DirectoryLock, liveHolder } from "./pglite-lock.js";
import { migrationProvider } from "./migrations.js";
import { quoteIdentifier, toCsv, type BulkColumn } from "./bulk-insert.js";
import type { BinaryRows } from "./binary-rows.js";
import { STORE_SCHEMA, type Database } from "./schema.js";
import { configuredServerUrl } from "./server-url.js";
import { storeTemplate, WAL_SEGMENT_MB } from "./store-template.js";

export type StoreKind = "pglite" | "postgres";

/** One transaction, with a bulk path (COPY) that writes inside it. */
export interface StoreTransaction {
  db: Kysely<Database>;
  /** Appends rows to a table of the store with COPY. */
  copy(table: keyof Database, columns: readonly BulkColumn[]): Promise<void>;
  /** Appends rows in binary COPY format (see binary-rows.ts) to these columns of a table. */
  copyBinary(table: keyof Database, columns: readonly string[], rows: BinaryRows): Promise<void>;
}

export interface Store {
  /** Query builder bound to the `flor` schema. */
  db: Kysely<Database>;
  kind: StoreKind;
  /** Where the data is, for messages (a directory, or the server URL without its password). */
  location: string;
  /** The PostgreSQL server's URL, with which other clients of the same server (the job queue) connect; null for the embedded store. */
  serverUrl: string | null;
  /** Where a damaged embedded store was moved when `setAsideBroken` had this one made afresh; else null. */
  setAside: string | null;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** A PostgreSQL URL; default `FLOR_DATABASE_URL`. When absent or empty, the embedded PGlite store is used. */
  databaseUrl?: string | undefined;
  /** The command holding the embedded store, named in the lock so others can say who has it. */
  command?: string;
  /** How long to wait for the embedded store while another process holds it (default: fail at once). */
  waitSeconds?: number;
  /**
   * Whether to ask the flor daemon to let go of the embedded store when it holds it (default: yes); a
   * daemon starting does not, so two starting at once do not stop each other.
   */
  takeOver?: boolean;
  /**
   * When the embedded store's files cannot be opened (damaged), move them aside and make a new store,
   * instead of failing: for a rebuild from the journals, which hold everything it had.
   */
  setAsideBroken?: boolean;
  /** Whether a new embedded store starts from the build's template (default: yes; see store-template.ts). */
  template?: boolean;
}

/** The command name the flor daemon holds the embedded store under (see src/daemon). */
const DAEMON_COMMAND = "flor daemon";
/** How long the daemon gets to finish the requests it answers and let go of the store. */
const TAKE_OVER_SECONDS = 60;

/** Runs `COPY <table> (<columns>)` from `data` in `format`, inside the transaction on `client`. */
type CopyData = (client: pg.PoolClient, statement: string, data: string | Buffer, format: "csv" | "binary") => Promise<void>;

/**
 * The embedded server's settings where PostgreSQL's defaults suit a shared server, not one process's
 * store: its buffers live in the process's memory (shared_buffers; 16 MB answered the bench/scale
 * questions as fast as 32 MB, and ingest peaked 20 MB lower). With one session, a sort can take more than
 * a server's 4 MB default (work_mem): ordering a 100k-row answer then stays in memory instead of spilling
 * to temporary files (about 15 % of that query's time on 1 M rows).
 */
const EMBEDDED_SETTINGS = ["-c", "shared_buffers=16MB", "-c", "work_mem=32MB"];

/**
 * A new store's WAL segments are 1 MB (PostgreSQL's default is 16 MB): the data directory keeps
 * min_wal_size to max_wal_size of them after a large ingest (64 MB was 13 bytes per value of a 5 M-value
 * store), and an empty store is 16 MB smaller. A store made before keeps its 16 MB segments, whose
 * minimum is two segments; its settings are what they were.
 */
const WAL_SETTINGS = {
  small: ["-c", "min_wal_size=2MB", "-c", "max_wal_size=8MB"],
  large: ["-c", "min_wal_size=32MB", "-c", "max_wal_size=64MB"],
};

/** The WAL settings for the store in `dataDir`, by the size of its WAL segment files (fixed when it was made). */
function walSettings(dataDir: string): string[] {
  const wal = path.join(dataDir, "pg_wal");
  const segment = existsSync(wal) ? readdirSync(wal).find((file) => /^[0-9A-F]{24}$/.test(file)) : undefined;
  return segment === undefined || statSync(path.join(wal, segment)).size <= WAL_SEGMENT_MB * 2 ** 20
    ? WAL_SETTINGS.small
    : WAL_SETTINGS.large;
}

/** Opens the project's store (embedded PGlite under `.flor/db`, or a PostgreSQL server) and migrates it. */
export async function openStore(layout: ProjectLayout, options: StoreOptions = {}): Promise<Store> {
  const url = options.databaseUrl ?? configuredServerUrl();
  return url
    ? openServer(url)
    : openEmbedded(layout.databaseDir, layout.databaseLock, options.command ?? "flor", options.waitSeconds ?? 0, options.takeOver ?? true, {
        setAsideBroken: options.setAsideBroken === true,
        template: options.template !== false,
      });
}

async function openServer(url: string): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // An idle connection the server ends (a restart, pg_terminate_backend, DROP DATABASE ... FORCE) is an
  // error event on the pool, which would end the process unheard; the pool drops that client, and the
  // next query connects anew (or fails with the server's message).
  pool.on("error", () => undefined);
  // JIT compilation is for queries that run for seconds; the planner, misled by the union of value paths
  // FlorQL emits (one usually reads nothing), chose it for queries of 10 ms: it compiled for 0.5-1 s of
  // the per-epoch aggregate over 50 M values. A server without JIT (before PostgreSQL 11) refuses the name.
  pool.on("connect", (client) => void client.query("SET jit = off").catch(() => undefined));
  const location = redact(url);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end();
    throw new FlorError(`cannot connect to the PostgreSQL server at ${location}: ${(error as Error).message}`, {
      hint: "Check FLOR_DATABASE_URL, or unset it to use the embedded store in .flor/.",
    });
  }
  const copy: CopyData = (client, statement, data, format) =>
    pipeline(Readable.from([data]), client.query(copyFrom(`${statement} FROM STDIN WITH (FORMAT ${format})`)));
  return migrated(pool, "postgres", location, url, null, copy, async () => undefined);
}

async function openEmbedded(
  dataDir: string,
  lockFile: string,
  command: string,
  waitSeconds: number,
  takeOver: boolean,
  { setAsideBroken, template }: { setAsideBroken: boolean; template: boolean },
): Promise<Store> {
  let deadline = performance.now() + waitSeconds * 1000;
  const asked = new Set<number>();
  let lock: DirectoryLock;
  for (;;) {
    try {
      lock = DirectoryLock.acquire(lockFile, command);
      break;
    } catch (error) {
      // The daemon only holds the store for commands: a process that needs it itself has it step down
      // (SIGTERM: it finishes what it answers, then closes the store), whichever daemon holds it by then.
      const holder = takeOver ? liveHolder(lockFile) : null;
      if (holder?.command === DAEMON_COMMAND && holder.host === hostname()) {
        if (!asked.has(holder.pid)) {
          asked.add(holder.pid);
          deadline = Math.max(deadline, performance.now() + TAKE_OVER_SECONDS * 1000);
          try {
            process.kill(holder.pid, "SIGTERM");
          } catch {
            // It ended meanwhile.
          }
        }
      }
      if (performance.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, asked.size > 0 ? 50 : 200));
    }
  }
  let pglite: PGlite;
  let setAside: string | null = null;
  try {
    try {
      pglite = await startPGlite(dataDir, template);
    } catch (error) {
      if (!(setAsideBroken && existsSync(dataDir))) throw error;
      // Kept, not deleted: whatever in it the journals do not hold (the history of replay jobs) stays readable.
      setAside = `${dataDir}.broken-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      renameSync(dataDir, setAside);
      pglite = await startPGlite(dataDir, template);
    }
  } catch (error) {
    lock.release();
    if (!existsSync(dataDir))
      throw new FlorError(`cannot open the embedded store in ${dataDir} (it could not be created): ${(error as Error).message}`, {
        cause: error,
      });
    throw new FlorError(
      `cannot open the embedded store in ${dataDir}: its files are damaged or not a store of this PGlite (${(error as Error).message})`,
      {
        cause: error,
        hint: "`flor ingest --rebuild` moves it aside (to a db.broken-<time> folder beside it) and rebuilds the store from the journals in .flor/journals, which hold every run and replayed value.",
      },
    );
  }
  // PGlite has one session, so a query on it runs inside whatever transaction is open: one client at a
  // time, so that concurrent work (parallel replay tasks) waits for a transaction instead of joining it.
  const pool = new pg.Pool({ ...createPgConfig(pglite), max: 1 });
  const copy: CopyData = async (_client, statement, data, format) => {
    await pglite.query(`${statement} FROM '/dev/blob' WITH (FORMAT ${format})`, [], {
      blob: new Blob([data as string | Uint8Array<ArrayBuffer>]),
    });
  };
  return migrated(pool, "pglite", dataDir, null, setAside, copy, async () => {
    // Destroying Kysely ends the pool but leaves PGlite open; close it so its files are consistent.
    await pglite.close();
    lock.release();
  });
}

/**
 * V8 settings for a process that runs the embedded store, set once before PGlite's WebAssembly is first
 * compiled (issue 21: `flor ingest` of 5 M values peaked at 433–520 MB RSS, against ≤ 300 MB wanted;
 * 268–299 MB with these and 1 MiB batches, at the same ingest rate or faster).
 * - Liftoff only: V8 otherwise recompiles postgres's hot functions with TurboFan in the background, which
 *   holds 40–50 MB more (and a core) while it lasts; queries measured no slower without it (the point
 *   filter 7–11 ms against 36–68 ms while TurboFan compiled, the 3-name pivot 0.9 s either way).
 * - A heap that grows by half its live size between full collections, not by up to four times: a command
 *   holds 30–40 MB of live objects (its modules), and ingest's garbage otherwise piled up to 150 MB of
 *   heap. Command-line limits (`--max-semi-space-size`) would need a second node process per command.
 */
let engineConfigured = false;
function configureEngine(): void {
  if (engineConfigured) return;
  engineConfigured = true;
  setFlagsFromString("--liftoff-only");
  setFlagsFromString("--heap-growing-percent=50");
}

/** PGlite on `dataDir`; a store not created yet (no folder, or an empty one) starts from the build's template. */
async function startPGlite(dataDir: string, useTemplate: boolean): Promise<PGlite> {
  configureEngine();
  const startParams = [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS, ...walSettings(dataDir)];
  const initDbStartParams = [`--wal-segsize=${WAL_SEGMENT_MB}`];
  const template = !useTemplate || (existsSync(dataDir) && readdirSync(dataDir).length > 0) ? null : await storeTemplate();
  if (template !== null) {
    try {
      return await PGlite.create({ dataDir, loadDataDir: template, startParams });
    } catch {
      // A template that does not load is only slower: the folder held nothing before, and initdb makes the store.
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return PGlite.create({ dataDir, startParams, initDbStartParams });
}

function kyselyOn(pool: Pick<pg.Pool, "connect" | "end">): Kysely<Database> {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: pool as pg.Pool }) }).withSchema(STORE_SCHEMA);
}

/** Migrates the store and wraps it; `end` releases what the pool does not own (PGlite and its lock). */
async function migrated(
  pool: pg.Pool,
  kind: StoreKind,
  location: string,
  serverUrl: string | null,
  setAside: string | null,
  copyData: CopyData,
  end: () => Promise<void>,
): Promise<Store> {
  const db = kyselyOn(pool);
  const close = async (): Promise<void> => {
    await db.destroy().catch(() => undefined);
    await end();
  };
  if (!(await migratedAlready(db))) {
    const migrator = new Migrator({ db, provider: migrationProvider, migrationTableSchema: STORE_SCHEMA });
    const { error } = await migrator.migrateToLatest();
    if (error !== undefined) {
      await close();
      throw new FlorError(`cannot migrate the store at ${location}: ${(error as Error).message}`, { cause: error });
    }
  }

  async function transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    // A Kysely bound to this one client, so its queries, COPY and BEGIN/COMMIT share the session.
    const pinned = { query: client.query.bind(client), release: () => undefined } as unknown as pg.PoolClient;
    const txDb = kyselyOn({ connect: async () => pinned, end: async () => undefined });
    const tx: StoreTransaction = {
      db: txDb,
      async copy(table, columns) {
        if (columns.length === 0 || columns[0]!.values.length === 0) return;
        await copyData(
          client,
          copyInto(
            table,
            columns.map((c) => c.name),
          ),
          toCsv(columns),
          "csv",
        );
      },
      async copyBinary(table, columns, rows) {
        if (rows.count === 0) return;
        await copyData(client, copyInto(table, columns), rows.finish(), "binary");
      },
    };
    try {
      await client.query("begin");
      const result = await work(tx);
      await client.query("commit");
      return result;
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  return { db, kind, location, serverUrl, setAside, transaction, close };
}

function copyInto(table: keyof Database, columns: readonly string[]): string {
  return `COPY ${quoteIdentifier(STORE_SCHEMA)}.${quoteIdentifier(table)} (${columns.map(quoteIdentifier).join(", ")})`;
}

/**
 * Whether the store has run exactly the migrations this build knows: one query, where the migrator's
 * own check (its tables, a lock, the list) takes 10–20 statements and a fifth of a second on PGlite.
 * Anything else (a new store, a pending or unknown migration) goes to the migrator.
 */
async function migratedAlready(db: Kysely<Database>): Promise<boolean> {
  const known = Object.keys(await migrationProvider.getMigrations()).sort();
  try {
    const { rows } = await sql<{ name: string }>`select name from ${sql.id(STORE_SCHEMA, "kysely_migration")} order by name`.execute(db);
    return rows.length === known.length && rows.every((row, i) => row.name === known[i]);
  } catch {
    return false;
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparsable FLOR_DATABASE_URL>";
  }
}
