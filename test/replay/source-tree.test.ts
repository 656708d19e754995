import { createHash } from "node:crypto";
import { appendFileSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlorError, FlorUsageError } from "../../src/errors.js";
import { materializeVersion, removeTree } from "../../src/replay/source-tree.js";
import { TestRepo } from "../helpers/repo.js";

const digest = (file: string): string => createHash("sha256").update(readFileSync(file)).digest("hex");

let repo: TestRepo;
let v1: string;

beforeAll(() => {
  // `.flor-index` is the name the private index once had inside the tree: a version may track any name.
  repo = TestRepo.create({ "train.mjs": "v1\n", "lib/model.mjs": "model v1\n", ".flor-index": "tracked\n" });
  v1 = repo.git("rev-parse", "HEAD");
  repo.write("train.mjs", "v2\n").write("data/rows.csv", "1,2\n");
  repo.commitAll("second");
  repo.write("train.mjs", "uncommitted\n");
  // As the SDK's first run does.
  appendFileSync(path.join(repo.dir, ".git/info/exclude"), "/.flor/\n");
});

afterAll(() => repo.remove());

const trees = () => readdirSync(path.join(repo.dir, ".flor/trees"));

describe("checking a version out for replay", () => {
  it("writes the version's files with the patches, links untracked entries, and leaves the user's checkout alone", async () => {
    const before = {
      index: digest(path.join(repo.dir, ".git/index")),
      status: repo.git("status", "--porcelain"),
      head: repo.git("rev-parse", "HEAD"),
    };
    const dir = await materializeVersion(repo.dir, v1, { "lib/model.mjs": "patched\n", "lib/new/extra.mjs": "new\n" });
    try {
      expect(path.dirname(dir)).toBe(path.join(repo.dir, ".flor/trees"));
      expect(readFileSync(path.join(dir, "train.mjs"), "utf8")).toBe("v1\n");
      expect(readFileSync(path.join(dir, "lib/model.mjs"), "utf8")).toBe("patched\n");
      expect(readFileSync(path.join(dir, "lib/new/extra.mjs"), "utf8")).toBe("new\n");
      expect(readFileSync(path.join(dir, ".flor-index"), "utf8")).toBe("tracked\n");
      // Not in v1: linked from the repository, as node_modules is.
      expect(lstatSync(path.join(dir, "data")).isSymbolicLink()).toBe(true);
      expect(lstatSync(path.join(dir, "node_modules")).isSymbolicLink()).toBe(true);
      expect(readdirSync(path.join(repo.dir, ".flor/trees")).filter((name) => name.endsWith(".index"))).toEqual([]);
      expect({
        index: digest(path.join(repo.dir, ".git/index")),
        status: repo.git("status", "--porcelain"),
        head: repo.git("rev-parse", "HEAD"),
      }).toEqual(before);
    } finally {
      removeTree(dir);
    }
  });

  it("refuses patches that would land outside the checked-out tree", async () => {
    await expect(materializeVersion(repo.dir, v1, { "../escape.mjs": "x" })).rejects.toThrow(FlorUsageError);
    const outside = mkdtempSync(path.join(tmpdir(), "flor-outside-"));
    const linked = TestRepo.create({ "train.mjs": "x\n" });
    try {
      symlinkSync(outside, path.join(linked.dir, "lib"));
      symlinkSync(path.join(outside, "gone"), path.join(linked.dir, "dangling"));
      const vid = linked.commitAll("a link out of the repository");
      for (const file of ["lib/model.mjs", "lib/deep/model.mjs", "dangling/model.mjs"]) {
        await expect(materializeVersion(linked.dir, vid, { [file]: "overwritten" })).rejects.toThrow(
          `cannot patch ${file}: the version links it out of the checked-out tree`,
        );
      }
      expect(readdirSync(outside)).toEqual([]);
    } finally {
      linked.remove();
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("says a version is not in this clone, with how to fetch it, and leaves nothing behind", async () => {
    const before = trees();
    const error = await materializeVersion(repo.dir, "0123456789abcdef0123456789abcdef01234567", {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlorError);
    expect((error as FlorError).message).toBe(`cannot check out version 0123456789 of ${repo.dir}: the commit is not in this clone`);
    expect((error as FlorError).hint).toMatch(/git fetch <remote> 'refs\/flor\/\*:refs\/flor\/\*'/);
    expect(trees()).toEqual(before);
    await expect(materializeVersion(repo.dir, "HEAD", {})).rejects.toThrow(FlorUsageError);
    expect(existsSync(path.join(repo.dir, ".flor/trees"))).toBe(true);
  });
});
