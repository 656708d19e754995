import { existsSync } from "node:fs";
import { Kysely, Migrator, PostgresDialect } from "kysely";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import { createPgConfig } from "@electric-sql/pglite/node-postgres";
import { FlorError } from "../errors.js";
import type { ProjectLayout } from "../project-layout.js";
import { DirectoryLock } from "./pglite-lock.js";
import { migrationProvider } from "./migrations.js";
import { STORE_SCHEMA, type Database } from "./schema.js";

export type StoreKind = "pglite" | "postgres";

export interface Store {
  /** Query builder bound to the `flor` schema. */
  db: Kysely<Database>;
  kind: StoreKind;
  /** Where the data is, for messages (a directory, or the server URL without its password). */
  location: string;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** A PostgreSQL URL; default `FLOR_DATABASE_URL`. When absent the embedded PGlite store is used. */
  databaseUrl?: string | undefined;
  /** The command holding the embedded store, named in the lock so others can say who has it. */
  command?: string;
}

/** Opens the project's store (embedded PGlite under `.flor/db`, or a PostgreSQL server) and migrates it. */
export async function openStore(layout: ProjectLayout, options: StoreOptions = {}): Promise<Store> {
  const url = options.databaseUrl ?? process.env["FLOR_DATABASE_URL"];
  return url ? openServer(url) : openEmbedded(layout.databaseDir, layout.databaseLock, options.command ?? "flor");
}

async function openServer(url: string): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
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
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return migrated(db, "postgres", location, async () => db.destroy());
}

async function openEmbedded(dataDir: string, lockFile: string, command: string): Promise<Store> {
  const lock = DirectoryLock.acquire(lockFile, command);
  let pglite: PGlite;
  try {
    pglite = await PGlite.create({ dataDir });
  } catch (error) {
    lock.release();
    const fresh = existsSync(dataDir) ? "" : " (it could not be created)";
    throw new FlorError(`cannot open the embedded store in ${dataDir}${fresh}: ${(error as Error).message}`, { cause: error });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool(createPgConfig(pglite)) }) });
  return migrated(db, "pglite", dataDir, async () => {
    await db.destroy();
    // Closing the pool leaves PGlite open; close it ourselves so its files are consistent.
    await pglite.close();
    lock.release();
  });
}

async function migrated(root: Kysely<Database>, kind: StoreKind, location: string, close: () => Promise<void>): Promise<Store> {
  const db = root.withSchema(STORE_SCHEMA);
  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableSchema: STORE_SCHEMA });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) {
    await close();
    throw new FlorError(`cannot migrate the store at ${location}: ${(error as Error).message}`, { cause: error });
  }
  return { db, kind, location, close };
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
