import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { fromStored, storedJson } from "../../src/journal/lossless-json.js";
import { TestRepo } from "../helpers/repo.js";
import { backends } from "../helpers/stores.js";

const HOSTILE = ["a\u0000b", "a\ud800b", "\udfff", "\ud83d\ude00 paired", 'quote " and \\ backslash', "\\u0000 as text", ""];
const OBJECTS = [{ "$flor.json": "[1]" }, { "$flor.json": 1 }, { nested: ["x\u0000", { "\u0000key": "\ud800" }] }];

/** Whether a parsed JSON value holds, in a string or a key, what jsonb refuses: NUL or an unpaired surrogate. */
function unstorable(value: unknown): boolean {
  const bad = (text: string) =>
    text.includes("\u0000") || /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
  if (typeof value === "string") return bad(value);
  if (Array.isArray(value)) return value.some(unstorable);
  if (value !== null && typeof value === "object") return Object.entries(value).some(([key, item]) => bad(key) || unstorable(item));
  return false;
}

describe("values a jsonb column cannot hold as they are", () => {
  it("are stored losslessly and read back equal", () => {
    for (const value of [...HOSTILE, ...OBJECTS, null, 1.5, [1, "a"], { a: 1 }]) {
      const text = storedJson(value);
      expect(unstorable(JSON.parse(text))).toBe(false);
      expect(fromStored(JSON.parse(text))).toEqual(value);
    }
    // Values that need nothing are stored as they are.
    expect(storedJson({ a: "b" })).toBe('{"a":"b"}');
  });
});

const SCRIPT = `import { flor } from "flordb";
import { readFileSync } from "node:fs";
const values = JSON.parse(readFileSync("values.json", "utf8"));
const label = flor.arg("label", values[0]);
for (const epoch of flor.loop("epoch", values.length)) flor.log("s", values[epoch]);
for (const item of flor.loop("item", ["x\\u0000y"])) flor.log("at", item.length);
`;

describe.each(backends())("a run that logs them, on $name", (backend) => {
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    repo = TestRepo.create({ "hostile.mjs": SCRIPT, "values.json": JSON.stringify([...HOSTILE, ...OBJECTS]) });
    env = await backend.prepare(repo.dir);
  });
  afterEach(() => repo.remove());
  afterAll(() => backend.cleanup());

  it("leaves every command working and answers the values as logged (issue 13: one such string broke every command)", () => {
    const recorded = repo.runScript("hostile.mjs");
    expect(recorded.status, recorded.stderr).toBe(0);
    const runs = repo.flor(["runs", "--format", "json"], env);
    expect(runs.status, runs.stderr).toBe(0);
    expect((JSON.parse(runs.stdout) as { args: Record<string, unknown> }[])[0]!.args["label"]).toBe(HOSTILE[0]);

    const query = repo.flor(["query", "SELECT epoch, s FROM hostile.mjs ORDER BY epoch", "--format", "json"], env);
    expect(query.status, query.stderr).toBe(0);
    expect((JSON.parse(query.stdout) as { s: unknown }[]).map((row) => row.s)).toEqual([...HOSTILE, ...OBJECTS]);

    const frame = repo.flor(["dataframe", "s", "--format", "json"], env);
    expect(frame.status, frame.stderr).toBe(0);
    expect((JSON.parse(frame.stdout) as { s: unknown }[]).map((row) => row.s)).toEqual([...HOSTILE, ...OBJECTS]);

    const items = repo.flor(["query", "SELECT item_value, at FROM hostile.mjs", "--format", "json"], env);
    expect(items.status, items.stderr).toBe(0);
    expect(JSON.parse(items.stdout)).toEqual([{ item_value: "x\u0000y", at: 3 }]);
  }, 180_000);

  it("refuses names no store can hold where the script names them", () => {
    repo.write("names.mjs", `import { flor } from "flordb";\nflor.log("a\\u0000b", 1);\n`);
    const refused = repo.runScript("names.mjs");
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain(
      'TypeError: flor.log("a\\u0000b", value): name "a\\u0000b" holds a NUL character or an unpaired surrogate',
    );
    expect(repo.flor(["runs"], env).status).toBe(0);
  }, 120_000);
});
