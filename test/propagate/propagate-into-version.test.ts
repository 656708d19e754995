import { readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { propagateIntoVersion } from "../../src/propagate/propagate-into-version.js";
import { FIXTURES, TestRepo } from "../helpers/repo.js";

const corpus = (name: string, file: string): string => readFileSync(path.join(FIXTURES, "propagation", name, file), "utf8");

describe("propagating into a recorded code version", () => {
  let repo: TestRepo;
  afterEach(() => repo.remove());

  it("patches the script as it was at a vid with the statements of the working tree", async () => {
    repo = TestRepo.create({ "train.ts": corpus("02-renamed-variable", "old.ts") });
    const vid = repo.git("rev-parse", "HEAD");
    repo.write("train.ts", corpus("02-renamed-variable", "new.ts"));
    const report = await propagateIntoVersion(repo.dir, "train.ts", vid, ["grad_norm"]);
    expect(report.code).toBe(corpus("02-renamed-variable", "expected.ts"));
    expect(report.injected.map((i) => i.renamed)).toEqual([{ model: "net" }]);
    expect(readFileSync(path.join(repo.dir, "train.ts"), "utf8")).toBe(corpus("02-renamed-variable", "new.ts"));
  });

  it("says when the script did not exist at that version", async () => {
    repo = TestRepo.create({ "other.ts": "" });
    const vid = repo.git("rev-parse", "HEAD");
    repo.write("train.ts", "flor.log('x', 1);\n");
    await expect(propagateIntoVersion(repo.dir, "train.ts", vid)).rejects.toThrow(/train\.ts does not exist at version [0-9a-f]{10}/);
  });
});
