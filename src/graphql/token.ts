import { readFileSync } from "node:fs";
import path from "node:path";
import type { ProjectLayout } from "../project-layout.js";

// Kept apart from server.ts so that the CLI, sending the token to a running server, loads no GraphQL code.

/** The file holding the token when FLOR_GRAPHQL_TOKEN is not set. */
export function tokenFile(layout: ProjectLayout): string {
  return path.join(layout.florDir, "graphql-token");
}

/** The configured token: FLOR_GRAPHQL_TOKEN, else `<florDir>/graphql-token`, else null. */
export function configuredToken(layout: ProjectLayout): string | null {
  const fromEnv = process.env["FLOR_GRAPHQL_TOKEN"];
  if (fromEnv !== undefined && fromEnv.trim() !== "") return fromEnv.trim();
  try {
    const fromFile = readFileSync(tokenFile(layout), "utf8").trim();
    return fromFile === "" ? null : fromFile;
  } catch {
    return null;
  }
}
