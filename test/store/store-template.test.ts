import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { layoutFor } from "../../src/project-layout.js";
import { openStore, type Store } from "../../src/store/open-store.js";
import { storeTemplate } from "../../src/store/store-template.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function newStore(template: boolean): Promise<Store> {
  const dir = mkdtempSync(path.join(tmpdir(), "flor-template-"));
  dirs.push(dir);
  return openStore(layoutFor(dir), { databaseUrl: "", template });
}

/** The store's schema as the catalogs describe it, and the migrations it records as done. */
async function schemaOf(store: Store): Promise<string[]> {
  const { rows } = await sql<{ line: string }>`
    select 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') as line
      from information_schema.columns where table_schema = 'flor'
    union all select 'index ' || indexdef from pg_indexes where schemaname = 'flor'
    union all select 'view ' || viewname || ' ' || definition from pg_views where schemaname = 'flor'
    union all select 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid) from pg_constraint where connamespace = 'flor'::regnamespace
    union all select 'migration ' || name from flor.kysely_migration
    order by 1`.execute(store.db);
  return rows.map((row) => row.line);
}

async function systemIdentifier(store: Store): Promise<string> {
  const { rows } = await sql<{ id: string }>`select system_identifier::text as id from pg_control_system()`.execute(store.db);
  return rows[0]!.id;
}

describe("the template a new embedded store starts from", () => {
  it("is there for this build (npm run build makes it)", async () => {
    expect(await storeTemplate(), "dist/store-template is missing or made for other migrations: run npm run build").not.toBeNull();
  });

  it("gives a store the schema that initdb and the migrations give, and is what new stores start from", async () => {
    const scratch = await newStore(false);
    const first = await newStore(true);
    const second = await newStore(true);
    try {
      const schema = await schemaOf(scratch);
      expect(schema.filter((line) => line.startsWith("migration ")).length).toBeGreaterThanOrEqual(6);
      expect(schema.some((line) => line.startsWith("index ") && line.includes("log_values_stream"))).toBe(true);
      expect(await schemaOf(first)).toEqual(schema);
      // Made from one dump, the two stores share its cluster's identity; initdb gives each store its own.
      expect(await systemIdentifier(first)).toBe(await systemIdentifier(second));
      expect(await systemIdentifier(scratch)).not.toBe(await systemIdentifier(first));
    } finally {
      for (const store of [scratch, first, second]) await store.close();
    }
  }, 120_000);
});
