/**
 * The PostgreSQL server FLOR_DATABASE_URL configures; null (unset or empty) for the embedded store. A
 * light module: the CLI asks it before deciding whether to load any database code.
 */
export function configuredServerUrl(): string | null {
  return process.env["FLOR_DATABASE_URL"] || null;
}
