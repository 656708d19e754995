import path from "node:path";
import type { TestRepo } from "./repo.js";

/** The file of a loose object in a test repository (where a fresh repository keeps every object). */
export function looseObject(repo: TestRepo, id: string): string {
  return path.join(repo.dir, ".git", "objects", id.slice(0, 2), id.slice(2));
}

/** Runs `work` with these environment variables set, then puts the environment back as it was. */
export async function withEnvironment<T>(variables: Record<string, string>, work: () => T | Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  try {
    return await work();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
