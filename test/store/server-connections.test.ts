import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { layoutFor } from "../../src/project-layout.js";
import { openStore } from "../../src/store/open-store.js";
import { dropDatabase, freshDatabaseUrl } from "../helpers/postgres.js";

const pgUrl = inject("pgUrl");

describe.skipIf(!pgUrl)("a store on a PostgreSQL server whose connections are cut", () => {
  it("goes on with new connections instead of crashing the process (a server restart, an administrator)", async () => {
    const url = await freshDatabaseUrl(pgUrl!);
    const dir = mkdtempSync(path.join(tmpdir(), "flor-server-connections-"));
    const store = await openStore(layoutFor(dir), { databaseUrl: url });
    try {
      const count = async () => (await sql<{ n: number }>`select count(*)::int as n from flor.runs`.execute(store.db)).rows[0]!.n;
      // Several connections open and idle in the pool, as after concurrent requests.
      expect(await Promise.all([count(), count(), count()])).toEqual([0, 0, 0]);
      const admin = new pg.Client({ connectionString: pgUrl! });
      await admin.connect();
      try {
        const name = decodeURIComponent(new URL(url).pathname.slice(1));
        const { rows } = await admin.query<{ ended: boolean }>(
          "select pg_terminate_backend(pid) as ended from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
          [name],
        );
        expect(rows.length).toBeGreaterThan(0);
      } finally {
        await admin.end();
      }
      // The idle connections hear of it; an unhandled pool error would fail this test (and end a server).
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await count()).toBe(0);
    } finally {
      await store.close();
      await dropDatabase(url);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("turns JIT compilation off on each connection: it cost 0.5-1 s of queries that take 10 ms", async () => {
    const url = await freshDatabaseUrl(pgUrl!);
    const dir = mkdtempSync(path.join(tmpdir(), "flor-server-connections-"));
    const store = await openStore(layoutFor(dir), { databaseUrl: url });
    try {
      const jit = async () => (await sql<{ jit: string }>`show jit`.execute(store.db)).rows[0]!.jit;
      // Several connections at once: each new one is set up before its first query.
      expect(await Promise.all([jit(), jit(), jit(), jit()])).toEqual(["off", "off", "off", "off"]);
    } finally {
      await store.close();
      await dropDatabase(url);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
