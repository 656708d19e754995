import pg from "pg";
import { expect, inject, test } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "./helpers/postgres.js";

const baseUrl = inject("pgUrl");

test.skipIf(baseUrl === null)("select 1 on a fresh database", async () => {
  const url = await freshDatabaseUrl(baseUrl!);
  expect(new URL(url).pathname).toMatch(/^\/flor_test_[0-9a-f]+$/);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query("select 1 as one, current_database() as db");
    expect(rows[0].one).toBe(1);
    expect(`/${rows[0].db}`).toBe(new URL(url).pathname);
  } finally {
    await client.end();
  }
  await dropDatabase(url);
  await dropDatabase(url); // already gone: still fine
  await expect(dropDatabase(baseUrl!)).rejects.toThrow(/refusing/);
  console.log("pgUrl host:", new URL(baseUrl!).host);
});
