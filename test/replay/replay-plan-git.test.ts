import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { looseObject } from "../helpers/git-objects.js";
import { TestRepo } from "../helpers/repo.js";

const env = { FLOR_DATABASE_URL: "" };

const RECORDED = `import { flor } from "flordb";
for (const epoch of flor.loop("epoch", 2)) {
  flor.log("loss", epoch);
}
`;
const NEWEST = `import { flor } from "flordb";
import { helper } from "./helper.mjs";
for (const epoch of flor.loop("epoch", 2)) {
  flor.log("loss", epoch);
  flor.log("extra", epoch * 2);
  helper(epoch);
}
`;
const HELPER = `import { flor } from "flordb";
export function helper(x) {
  flor.log("helped", x);
}
`;

interface PlanJson {
  runs: { vid: string; outcome: string; names: { name: string; status: string; reason?: string }[] }[];
}

let repo: TestRepo;
let vid: string;

beforeAll(() => {
  repo = TestRepo.create({ "train.mjs": RECORDED });
  vid = repo.git("rev-parse", "HEAD");
  const run = repo.runScript("train.mjs");
  if (run.status !== 0) throw new Error(run.stderr);
  repo.write("train.mjs", NEWEST).write("helper.mjs", HELPER);
});

afterAll(() => repo.remove());

const plan = (): PlanJson => {
  const result = repo.flor(["replay", "extra", "helped", "--dry-run", "--format", "json"], env);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as PlanJson;
};

describe("git during replay planning", () => {
  it("declines a name whose file did not exist at the run's version, and fills the rest", () => {
    const [run] = plan().runs;
    expect(run).toMatchObject({ vid, outcome: "replay" });
    expect(run!.names).toEqual([
      expect.objectContaining({ name: "extra", status: "fill" }),
      { name: "helped", status: "declined", reason: `helper.mjs logs it now, but did not exist at version ${vid.slice(0, 10)}` },
    ]);
  });

  it("stops with git's message when git cannot read the version's file, instead of declining", () => {
    const blob = looseObject(repo, repo.git("rev-parse", `${vid}:train.mjs`));
    const content = readFileSync(blob);
    rmSync(blob);
    try {
      for (const args of [
        ["replay", "extra", "--dry-run"],
        ["replay", "extra"],
      ]) {
        const result = repo.flor(args, env);
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(
          new RegExp(`^flor: git cat-file failed in .*: cannot read object [0-9a-f]{40} \\(train\\.mjs at ${vid}\\)\\n`),
        );
        expect(result.stderr).not.toMatch(/did not exist|counterpart/);
      }
    } finally {
      writeFileSync(blob, content);
    }
  });

  it("declines a run whose version this clone does not have, saying so", () => {
    const commit = looseObject(repo, vid);
    const content = readFileSync(commit);
    rmSync(commit);
    try {
      const [run] = plan().runs;
      expect(run!.outcome).toBe("declined");
      expect(run!.names.map((n) => n.reason)).toEqual([
        `version ${vid} is not in this clone of the repository`,
        `version ${vid} is not in this clone of the repository`,
      ]);
    } finally {
      writeFileSync(commit, content);
    }
  });
});
