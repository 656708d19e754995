import { randomBytes } from "node:crypto";
import pg from "pg";

/** Names made by freshDatabaseUrl, so dropDatabase never drops anything else. */
const TEST_DATABASE = /^flor_test_[0-9a-f]+$/;

/** The server URL each fresh database was made from (dropDatabase connects there to drop it). */
const madeFrom = new Map<string, string>();

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty, uniquely named database (`flor_test_<random hex>`) on the server at `baseUrl`
 * (a URL whose database can be connected to, e.g. `.../postgres`) and returns a URL for it.
 */
export async function freshDatabaseUrl(baseUrl: string): Promise<string> {
  const name = `flor_test_${randomBytes(6).toString("hex")}`;
  await withClient(baseUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const result = url.toString();
  madeFrom.set(result, baseUrl);
  return result;
}

/**
 * Drops a database made by freshDatabaseUrl, closing any connections still open to it.
 * Does nothing when it is already gone; refuses databases not named `flor_test_<hex>`.
 */
export async function dropDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ""));
  if (!TEST_DATABASE.test(name)) {
    throw new Error(`dropDatabase: refusing to drop "${name}", which was not made by freshDatabaseUrl`);
  }
  let admin = madeFrom.get(url);
  if (admin === undefined) {
    target.pathname = "/postgres";
    admin = target.toString();
  }
  await withClient(admin, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  madeFrom.delete(url);
}
