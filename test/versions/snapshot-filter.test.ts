import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LARGE_FILE_BYTES } from "../../src/versions/snapshot-filter.js";
import { TestRepo } from "../helpers/repo.js";

const TRAIN = `import { flor } from "flordb";
for (const epoch of flor.loop("epoch", 2)) flor.log("x", epoch);
`;

/** The vids of the recorded runs, oldest first, from their journals' headers. */
function recordedVids(repo: TestRepo): string[] {
  const dir = path.join(repo.dir, ".flor/journals");
  return readdirSync(dir)
    .sort()
    .map((file) => (JSON.parse(readFileSync(path.join(dir, file), "utf8").split("\n")[0]!) as { vid: string }).vid);
}

describe("what snapshots leave out", () => {
  let repo: TestRepo;
  afterEach(() => repo.remove());

  it("records a run in a repository without .gitignore: node_modules stays out, and a warning with the fix is printed once", () => {
    repo = TestRepo.create({ "train.mjs": TRAIN });
    rmSync(path.join(repo.dir, ".gitignore"));
    repo.git("commit", "-qam", "no .gitignore");
    // node_modules/flordb (a link to this package) is there already; add packages at the root and deeper down.
    repo.write("node_modules/left-pad/index.js", "module.exports = 1;\n");
    repo.write("packages/app/node_modules/dep/index.js", "module.exports = 2;\n");
    repo.write("packages/app/main.mjs", "export const app = 1;\n");
    repo.write("notes.txt", "small and untracked\n");
    writeFileSync(path.join(repo.dir, "data.bin"), Buffer.alloc(LARGE_FILE_BYTES + 1));
    const status = repo.git("status", "--porcelain");

    const first = repo.runScript("train.mjs");
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain("flor: warning: node_modules/ is not ignored by git; FlorDB leaves it out of code snapshots");
    expect(first.stderr).toContain(
      "flor: warning: data.bin (10.0 MB) is untracked and not ignored, so every code snapshot stores it in .git.",
    );
    expect(first.stderr).toContain("flor: add them to .gitignore: printf 'node_modules/\\ndata.bin\\n' >> .gitignore");
    expect(first.stderr).toContain("once per repository");

    const second = repo.runScript("train.mjs");
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).not.toContain("warning");

    const [vid, again] = recordedVids(repo);
    expect(again).toBe(vid);
    const files = repo.git("ls-tree", "-r", "--name-only", vid!).split("\n").sort();
    expect(files).toEqual(["data.bin", "notes.txt", "packages/app/main.mjs", "train.mjs"]);
    // The user's working tree and index are as they were.
    expect(repo.git("status", "--porcelain")).toBe(status);
  });

  it("says nothing when .gitignore has it all", () => {
    repo = TestRepo.create({ "train.mjs": TRAIN });
    repo.write("node_modules/left-pad/index.js", "module.exports = 1;\n");
    const run = repo.runScript("train.mjs");
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
  });
});
