import { readdirSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { layoutFor } from "../../src/project-layout.js";
import { readJournal } from "../helpers/journal.js";
import { TestRepo } from "../helpers/repo.js";

// A module whose import busy-waits 300 ms, as a heavy library (TensorFlow.js) takes its time to load.
const SLOW = `const until = Date.now() + 300;
while (Date.now() < until);
export const loaded = true;
`;
const script = (slow: boolean) => `${slow ? 'import "./slow.mjs";\n' : ""}import { flor } from "flordb";
for (const epoch of flor.loop("epoch", 2)) flor.log("x", epoch);
`;

function importSeconds(repo: TestRepo, name: string): number {
  const before = new Set(readdirSync(layoutFor(repo.dir).journalsDir));
  const result = repo.runScript(name, [], { FLOR_DATABASE_URL: "" });
  expect(result.status, result.stderr).toBe(0);
  const dir = layoutFor(repo.dir).journalsDir;
  const file = readdirSync(dir).find((f) => !before.has(f))!;
  const [header] = readJournal(path.join(dir, file));
  if (header?.k !== "run") throw new Error("the journal does not start with a run header");
  expect(header.imp).toBeTypeOf("number");
  return header.imp!;
}

describe("the run header's import seconds", () => {
  let repo: TestRepo;
  afterEach(() => repo.remove());

  it("counts the script's imports before its first flor call", () => {
    repo = TestRepo.create({ "slow.mjs": SLOW, "slow-train.mjs": script(true), "train.mjs": script(false) });
    repo.runScript("train.mjs", [], { FLOR_DATABASE_URL: "" });
    const fast = importSeconds(repo, "train.mjs");
    const slow = importSeconds(repo, "slow-train.mjs");
    expect(slow).toBeGreaterThanOrEqual(0.3);
    expect(slow - fast).toBeGreaterThanOrEqual(0.25);
  });
});
