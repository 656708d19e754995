import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { VERSION_REF_PREFIX, snapshotWorkingTree } from "../../src/versions/snapshot.js";
import { looseObject } from "../helpers/git-objects.js";
import { TestRepo } from "../helpers/repo.js";

const digest = (file: string): string => createHash("sha256").update(readFileSync(file)).digest("hex");

describe("working-tree snapshots", () => {
  let repo: TestRepo;
  afterEach(() => repo.remove());

  it("gives a clean tree the HEAD commit as its vid", () => {
    repo = TestRepo.create({ "train.mjs": "console.log(1)\n" });
    const snapshot = snapshotWorkingTree(repo.dir);
    expect(snapshot).toEqual({ vid: repo.git("rev-parse", "HEAD"), head: repo.git("rev-parse", "HEAD"), dirty: false });
    expect(repo.git("rev-parse", `${VERSION_REF_PREFIX}${snapshot.vid}`)).toBe(snapshot.vid);
  });

  it("commits an uncommitted tree under a private ref without touching branch, index or files", () => {
    repo = TestRepo.create({ "train.mjs": "v1\n", "lib/util.mjs": "u1\n", "staged.mjs": "s1\n" });
    repo.write("train.mjs", "v2 (modified, unstaged)\n").write("new-file.mjs", "untracked\n").write("ignored/data.bin", "big\n");
    repo.write(".gitignore", "node_modules/\nignored/\n");
    repo.write("staged.mjs", "s2 (staged)\n");
    repo.git("add", "staged.mjs");
    repo.git("rm", "-q", "--cached", "lib/util.mjs");
    const before = {
      head: repo.git("rev-parse", "HEAD"),
      branch: repo.git("symbolic-ref", "HEAD"),
      status: repo.git("status", "--porcelain"),
      index: digest(path.join(repo.dir, ".git/index")),
      refs: repo.git("for-each-ref", "refs/heads", "refs/tags"),
      train: readFileSync(path.join(repo.dir, "train.mjs"), "utf8"),
    };

    const snapshot = snapshotWorkingTree(repo.dir);

    expect(snapshot.dirty).toBe(true);
    expect(snapshot.head).toBe(before.head);
    expect(repo.git("rev-parse", `${snapshot.vid}^`)).toBe(before.head);
    expect(repo.git("ls-tree", "-r", "--name-only", snapshot.vid).split("\n").sort()).toEqual([
      ".gitignore",
      "lib/util.mjs",
      "new-file.mjs",
      "staged.mjs",
      "train.mjs",
    ]);
    for (const file of [".gitignore", "lib/util.mjs", "new-file.mjs", "staged.mjs", "train.mjs"]) {
      expect(repo.git("show", `${snapshot.vid}:${file}`)).toBe(readFileSync(path.join(repo.dir, file), "utf8").trim());
    }
    expect({
      head: repo.git("rev-parse", "HEAD"),
      branch: repo.git("symbolic-ref", "HEAD"),
      status: repo.git("status", "--porcelain"),
      index: digest(path.join(repo.dir, ".git/index")),
      refs: repo.git("for-each-ref", "refs/heads", "refs/tags"),
      train: readFileSync(path.join(repo.dir, "train.mjs"), "utf8"),
    }).toEqual(before);
    expect(readFileSync(path.join(repo.dir, ".git/info/exclude"), "utf8")).toContain("/.flor/");
  });

  it("gives the same tree on the same HEAD the same vid, and a repository without commits a root commit", () => {
    repo = TestRepo.create({ "a.mjs": "1\n" });
    repo.write("a.mjs", "2\n");
    expect(snapshotWorkingTree(repo.dir).vid).toBe(snapshotWorkingTree(repo.dir).vid);
    const empty = TestRepo.create();
    try {
      empty.git("update-ref", "-d", "HEAD");
      empty.write("b.mjs", "x\n");
      const snapshot = snapshotWorkingTree(empty.dir);
      expect(snapshot.head).toBeNull();
      expect(empty.git("show", `${snapshot.vid}:b.mjs`)).toBe("x");
      expect(empty.git("status", "--porcelain")).toContain("b.mjs");
    } finally {
      empty.remove();
    }
  });

  it("fails with git's message when HEAD's commit is gone or corrupt, instead of making a root commit", () => {
    repo = TestRepo.create({ "a.mjs": "1\n" });
    repo.write("a.mjs", "2\n");
    const head = looseObject(repo, repo.git("rev-parse", "HEAD"));
    const commit = readFileSync(head);
    rmSync(head);
    expect(() => snapshotWorkingTree(repo.dir)).toThrow(
      /^cannot snapshot the working tree of .*: HEAD's commit [0-9a-f]{40} is missing from the repository$/,
    );
    writeFileSync(head, "not a zlib stream");
    expect(() => snapshotWorkingTree(repo.dir)).toThrow(/^cannot snapshot the working tree of .*: error: inflate/);
    writeFileSync(head, commit);
    expect(snapshotWorkingTree(repo.dir).dirty).toBe(true);
  });

  it("snapshots a linked worktree into the refs and excludes its repository shares", () => {
    repo = TestRepo.create({ "a.mjs": "1\n" });
    const linked = `${repo.dir}-linked`;
    repo.git("worktree", "add", "-q", "-b", "side", linked);
    try {
      writeFileSync(path.join(linked, "a.mjs"), "side\n");
      const snapshot = snapshotWorkingTree(linked);
      expect(snapshot.dirty).toBe(true);
      expect(repo.git("show", `${VERSION_REF_PREFIX}${snapshot.vid}:a.mjs`)).toBe("side");
      expect(readFileSync(path.join(repo.dir, ".git/info/exclude"), "utf8")).toContain("/.flor/");
      expect(repo.git("-C", linked, "status", "--porcelain")).toBe("M a.mjs");
    } finally {
      rmSync(linked, { recursive: true, force: true });
    }
  });
});
