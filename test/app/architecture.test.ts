import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../helpers/repo.js";

/** Every source file under src/, relative to it, with its text. */
function sources(): { file: string; text: string }[] {
  const root = path.join(PACKAGE_ROOT, "src");
  return readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => ({ file: file.split(path.sep).join("/"), text: readFileSync(path.join(root, file), "utf8") }));
}

const where = (pattern: RegExp, files = sources()) => files.filter(({ text }) => pattern.test(text)).map(({ file }) => file);

describe("one application layer", () => {
  it("keeps SQL in src/store (the FlorQL compiler's Kysely emission aside)", () => {
    const sql = where(/selectFrom|insertInto|updateTable|deleteFrom|sql`/);
    expect(sql.filter((file) => !file.startsWith("store/") && file !== "florql/compile-sql.ts")).toEqual([]);
    // Not vacuous: the store's query modules are where it is.
    expect(sql).toContain("store/queries/runs.ts");
    // One place writes journals' progress.
    expect(where(/insertInto\("journals"\)/)).toEqual(["store/queries/journals.ts"]);
  });

  it("has the CLI and GraphQL reach queries and replays only through the application layer", () => {
    const shells = sources().filter(({ file }) => file.startsWith("cli/") || file.startsWith("graphql/"));
    // Runtime imports of the orchestration the app layer owns (type imports are fine).
    const orchestration =
      /^import (?!type )[^;]*from "[./]*(?:replay\/(?:replay-service|replay-queue|replay-plan|execute-task)|florql\/query-service)\.js"/m;
    expect(where(orchestration, shells)).toEqual([]);
  });

  it("chooses the replay executor in one place, and connects the queue with the store's own settings", () => {
    expect(where(/new (?:Local|Queue)Executor\(/)).toEqual(["app/project-session.ts"]);
    expect(where(/ReplayQueue\.connect\(/)).toEqual(["app/queue-executor.ts"]);
    expect(where(/FLOR_DATABASE_URL"\]/)).toEqual(["store/server-url.ts"]);
  });
});
