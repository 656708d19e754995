import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlorUsageError } from "../../src/errors.js";
import {
  checkoutTree,
  commitTree,
  describeCommits,
  diff,
  GitError,
  objectId,
  presentCommits,
  readBlobs,
  repositoryPath,
  treeEntries,
  updateRef,
} from "../../src/versions/git.js";
import { snapshotWorkingTree } from "../../src/versions/snapshot.js";
import { diffBetween, sourceAt, sourcesAt, sourcesAtVersions, VersionMissingError } from "../../src/versions/version-source.js";
import { looseObject, withEnvironment } from "../helpers/git-objects.js";
import { TestRepo } from "../helpers/repo.js";

const ABSENT = "0123456789abcdef0123456789abcdef01234567";

let repo: TestRepo;
let v1: string;
let v2: string;

beforeAll(() => {
  repo = TestRepo.create({ "train.mjs": "v1\n", "sub/notes.txt": "notes\n", "[ab].txt": "bracket\n", "a b/c*.ts": "star\n" });
  v1 = repo.git("rev-parse", "HEAD");
  repo.write("train.mjs", "v2\n");
  v2 = repo.commitAll("second");
});

afterAll(() => repo.remove());

describe("what reaches git", () => {
  it("takes only full hex object ids, refusing options, ranges, refs and revision syntax before git runs", async () => {
    expect(objectId(v1)).toBe(v1);
    expect(objectId("a".repeat(64))).toBe("a".repeat(64));
    const refused = [
      "HEAD",
      "main",
      "-p",
      "--output=/tmp/x",
      v1.slice(0, 39),
      `${v1}0`,
      v1.toUpperCase(),
      `${v1}..${v2}`,
      `${v1}^{tree}`,
      `${v1}\n`,
      "",
    ];
    for (const text of refused) {
      expect(() => objectId(text)).toThrow(FlorUsageError);
      // A usage error, not a GitError: git never saw it.
      await expect(presentCommits(repo.dir, [text])).rejects.toThrow(FlorUsageError);
      await expect(treeEntries(repo.dir, text, ["train.mjs"])).rejects.toThrow(FlorUsageError);
      await expect(readBlobs(repo.dir, [text])).rejects.toThrow(FlorUsageError);
      await expect(diff(repo.dir, v1, text, null, 1000)).rejects.toThrow(FlorUsageError);
      await expect(describeCommits(repo.dir, [text])).rejects.toThrow(FlorUsageError);
      await expect(checkoutTree(repo.dir, text, path.join(repo.dir, "x"), path.join(repo.dir, "x.index"))).rejects.toThrow(FlorUsageError);
      expect(() => commitTree(repo.dir, text, null, "m", { name: "n", email: "e", date: "@0 +0000" })).toThrow(FlorUsageError);
      expect(() => updateRef(repo.dir, "refs/flor/test", text)).toThrow(FlorUsageError);
    }
    for (const ref of ["HEAD", "-d", "refs/heads/../x", "refs/heads/a.lock", "refs/flor/a b"]) {
      expect(() => updateRef(repo.dir, ref, v1)).toThrow(FlorUsageError);
    }
    expect(repo.git("for-each-ref", "refs/flor/test")).toBe("");
  });

  it("takes only plain paths inside the repository", async () => {
    for (const file of ["../secret", "sub/../train.mjs", "/etc/passwd", "./train.mjs", "sub//notes.txt", "sub/", "", "a\nb", "C:/x"]) {
      expect(() => repositoryPath(file)).toThrow(FlorUsageError);
      await expect(treeEntries(repo.dir, v1, [file])).rejects.toThrow(FlorUsageError);
      await expect(diff(repo.dir, v1, v2, file, 1000)).rejects.toThrow(FlorUsageError);
    }
    expect(repositoryPath("a b/c*.ts")).toBe("a b/c*.ts");
  });

  it("takes paths literally: no pattern, no prefix, no case folding", async () => {
    const found = async (file: string) => [...(await treeEntries(repo.dir, v1, [file])).keys()];
    expect(await found("[ab].txt")).toEqual(["[ab].txt"]);
    expect(await found("a b/c*.ts")).toEqual(["a b/c*.ts"]);
    for (const pattern of ["*.mjs", "a.txt", "train", "TRAIN.MJS", "a b/c.ts", ":(glob)*.mjs", "sub/*"])
      expect(await found(pattern)).toEqual([]);
    expect((await treeEntries(repo.dir, v1, ["sub"])).get("sub")?.type).toBe("tree");
  });
});

describe("a missing file, a missing version and a git failure", () => {
  it("reads a file as null only when the version does not have it", async () => {
    const sources = await sourcesAt(repo.dir, v1, ["train.mjs", "missing.mjs", "sub", "sub/notes.txt"]);
    expect(Object.fromEntries(sources)).toEqual({ "train.mjs": "v1\n", "missing.mjs": null, sub: null, "sub/notes.txt": "notes\n" });
    expect(await sourceAt(repo.dir, v2, "missing.mjs")).toBeNull();
    await expect(sourcesAt(repo.dir, ABSENT, ["train.mjs"])).rejects.toThrow(VersionMissingError);
    await expect(sourceAt(repo.dir, ABSENT, "train.mjs")).rejects.toThrow(`version ${ABSENT} is not in this clone of the repository`);
    await expect(diffBetween(repo.dir, ABSENT, v2, null)).rejects.toThrow(VersionMissingError);
    expect([...(await presentCommits(repo.dir, [v1, ABSENT, v2, v1]))].sort()).toEqual([v1, v2].sort());
  });

  it("reads several versions at once as it reads each, with each version's own error", async () => {
    const files = ["train.mjs", "missing.mjs", "sub", "sub/notes.txt", "sub/deeper/x.mjs", "train.mjs/x", "a b/c*.ts"];
    const answers = await sourcesAtVersions(
      repo.dir,
      new Map([
        [v1, files],
        [v2, ["train.mjs"]],
        [ABSENT, ["train.mjs"]],
        ["HEAD", ["train.mjs"]],
      ]),
    );
    expect(Object.fromEntries(answers.get(v1) as Map<string, string | null>)).toEqual(
      Object.fromEntries(await sourcesAt(repo.dir, v1, files)),
    );
    expect(Object.fromEntries(answers.get(v2) as Map<string, string | null>)).toEqual({ "train.mjs": "v2\n" });
    expect(answers.get(ABSENT)).toBeInstanceOf(VersionMissingError);
    expect(answers.get("HEAD")).toBeInstanceOf(FlorUsageError);
  });

  it("reports a file whose object is gone as git's failure, not as a file the version does not have", async () => {
    const broken = TestRepo.create({ "train.mjs": "only in this blob\n", "other.mjs": "kept\n" });
    try {
      const vid = broken.git("rev-parse", "HEAD");
      rmSync(looseObject(broken, broken.git("rev-parse", `${vid}:train.mjs`)));
      // The tree still names the file: it exists at that version, and git cannot read it.
      const error = await sourcesAt(broken.dir, vid, ["train.mjs", "other.mjs"]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitError);
      expect((error as Error).message).toMatch(
        /^git ls-tree failed in .*: cannot read object [0-9a-f]{40} \(train\.mjs at [0-9a-f]{40}\)$/,
      );
      // Reading the object itself fails the same way.
      const blob = broken.git("rev-parse", `${vid}:train.mjs`);
      await expect(readBlobs(broken.dir, [blob])).rejects.toThrow(
        new RegExp(`^git cat-file failed in .*: object ${blob} is missing from the repository$`),
      );
      await expect(sourceAt(broken.dir, vid, "train.mjs")).rejects.toThrow(GitError);
      expect(await sourceAt(broken.dir, vid, "other.mjs")).toBe("kept\n");
      // Read with other versions, git answers "missing" as for an absent file: the tree tells them apart.
      await expect(sourcesAtVersions(broken.dir, new Map([[vid, ["other.mjs", "train.mjs"]]]))).rejects.toThrow(
        new RegExp(`^git cat-file failed in .*: cannot read object ${blob} \\(train\\.mjs at ${vid}\\)$`),
      );
      expect((await sourcesAtVersions(broken.dir, new Map([[vid, ["other.mjs", "absent.mjs"]]]))).get(vid)).toEqual(
        new Map([
          ["other.mjs", "kept\n"],
          ["absent.mjs", null],
        ]),
      );
    } finally {
      broken.remove();
    }
  });

  it("tells a version this clone lacks from a commit git cannot read", async () => {
    const broken = TestRepo.create({ "train.mjs": "x\n" });
    try {
      const vid = broken.git("rev-parse", "HEAD");
      const commit = looseObject(broken, vid);
      chmodSync(commit, 0o644);
      writeFileSync(commit, "not a zlib stream");
      const error = await sourcesAt(broken.dir, vid, ["train.mjs"]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitError);
      expect((error as Error).message).toMatch(/^git cat-file failed in .*: error: inflate/);
      rmSync(commit);
      await expect(sourcesAt(broken.dir, vid, ["train.mjs"])).rejects.toThrow(VersionMissingError);
    } finally {
      broken.remove();
    }
  });

  it("reports a corrupt tree object with git's own message", async () => {
    const broken = TestRepo.create({ "train.mjs": "x\n" });
    try {
      const vid = broken.git("rev-parse", "HEAD");
      const tree = looseObject(broken, broken.git("rev-parse", `${vid}^{tree}`));
      chmodSync(tree, 0o644);
      writeFileSync(tree, "not a zlib stream");
      const error = await sourcesAt(broken.dir, vid, ["train.mjs"]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitError);
      expect((error as Error).message).toMatch(/^git ls-tree failed in .*: (?:error|fatal): /m);
      await expect(describeCommits(broken.dir, [vid])).resolves.toHaveProperty("size", 1);
    } finally {
      broken.remove();
    }
  });
});

describe("retrying git once", () => {
  /** A `git` first on PATH that fails its first `failures` calls, then runs the real git: a transient failure. */
  async function withFlakyGit(failures: number, work: (calls: () => number) => unknown): Promise<void> {
    const dir = mkdtempSync(path.join(tmpdir(), "flor-flaky-git-"));
    const counter = path.join(dir, "calls");
    const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
    writeFileSync(
      path.join(dir, "git"),
      `#!/bin/sh\nn=$(($(cat "${counter}" 2>/dev/null || echo 0) + 1))\necho $n > "${counter}"\n` +
        `if [ $n -le ${failures} ]; then echo "fatal: flaky failure $n" >&2; exit 128; fi\nexec "${realGit}" "$@"\n`,
      { mode: 0o755 },
    );
    const calls = () => (existsSync(counter) ? Number(readFileSync(counter, "utf8")) : 0);
    try {
      await withEnvironment({ PATH: `${dir}${path.delimiter}${process.env.PATH}` }, () => work(calls));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("succeeds when the second try does, asynchronously and synchronously", async () => {
    await withFlakyGit(1, async (calls) => {
      expect(await sourceAt(repo.dir, v1, "train.mjs")).toBe("v1\n");
      // presentCommits failed once, then: presentCommits, ls-tree, cat-file.
      expect(calls()).toBe(4);
    });
    await withFlakyGit(1, (calls) => {
      expect(snapshotWorkingTree(repo.dir).vid).toBe(v2);
      expect(calls()).toBeGreaterThan(1);
    });
  });

  it("gives up after the second failure with git's message", async () => {
    await withFlakyGit(99, async (calls) => {
      await expect(sourcesAt(repo.dir, v1, ["train.mjs"])).rejects.toThrow(/^git cat-file failed in .*: fatal: flaky failure 2$/);
      expect(calls()).toBe(2);
    });
    await withFlakyGit(99, (calls) => {
      expect(() => snapshotWorkingTree(repo.dir)).toThrow(/^cannot read the git repository at .*: fatal: flaky failure 2$/);
      expect(calls()).toBe(2);
    });
  });
});

describe("the user's environment and configuration", () => {
  it("ignores GIT_* variables that would point git at another repository, index or object store", async () => {
    const other = TestRepo.create({ "elsewhere.mjs": "other\n" });
    try {
      const elsewhere = {
        GIT_DIR: path.join(other.dir, ".git"),
        GIT_WORK_TREE: other.dir,
        GIT_INDEX_FILE: path.join(other.dir, ".git/index"),
        GIT_OBJECT_DIRECTORY: path.join(other.dir, ".git/objects"),
        // With --literal-pathspecs, git would refuse to run at all if this one were passed on.
        GIT_GLOB_PATHSPECS: "1",
      };
      await withEnvironment(elsewhere, async () => {
        expect(await sourceAt(repo.dir, v2, "train.mjs")).toBe("v2\n");
        expect([...(await treeEntries(repo.dir, v1, ["*.mjs"])).keys()]).toEqual([]);
        expect(snapshotWorkingTree(repo.dir).vid).toBe(v2);
      });
      expect(other.git("for-each-ref", "refs/flor")).toBe("");
      expect(other.git("status", "--porcelain")).toBe("");
    } finally {
      other.remove();
    }
  });

  it("runs no external diff, textconv filter or pager the repository configures", async () => {
    const marker = path.join(repo.dir, "..", `${path.basename(repo.dir)}-ran`);
    const script = `${marker}.sh`;
    writeFileSync(script, `#!/bin/sh\ntouch "${marker}"\ncat "$1"\n`, { mode: 0o755 });
    try {
      repo.git("config", "diff.external", script);
      repo.git("config", "diff.shout.textconv", script);
      repo.git("config", "core.pager", script);
      writeFileSync(path.join(repo.dir, ".git/info/attributes"), "*.mjs diff=shout\n");
      await withEnvironment({ GIT_EXTERNAL_DIFF: script, GIT_PAGER: script }, async () => {
        expect(await diffBetween(repo.dir, v1, v2, "train.mjs")).toContain("-v1\n+v2\n");
      });
      expect(existsSync(marker)).toBe(false);
    } finally {
      for (const key of ["diff.external", "diff.shout.textconv", "core.pager"]) repo.git("config", "--unset", key);
      rmSync(path.join(repo.dir, ".git/info/attributes"), { force: true });
      rmSync(script, { force: true });
      rmSync(marker, { force: true });
    }
  });
});

describe("describing commits", () => {
  it("describes the commits this clone has with two gits, subjects as written", async () => {
    // A commit beside the branch (HEAD stays where the other tests expect it).
    const odd = repo.git("commit-tree", `${v2}^{tree}`, "-p", v2, "-m", "odd \x1f subject\n\nbody");
    const described = await describeCommits(repo.dir, [v1, ABSENT, odd]);
    expect([...described.keys()].sort()).toEqual([v1, odd].sort());
    expect(described.get(odd)).toMatchObject({ parents: [v2], subject: "odd \x1f subject", author: "Test User" });
    expect(described.get(v1)).toMatchObject({ parents: [], subject: "initial version" });
    expect(described.get(v1)!.committedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
  });
});
