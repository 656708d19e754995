import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { backends } from "../helpers/stores.js";
import { FIXTURES, TestRepo } from "../helpers/repo.js";

describe.each(backends())("the flor CLI on $name", (backend) => {
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    repo = TestRepo.create().addFixture("nested-loops.mjs");
    repo.commitAll("v1");
    env = await backend.prepare(repo.dir);
  });
  afterEach(() => repo.remove());
  afterAll(() => backend.cleanup());

  it("lists runs and versions, ingesting journals without being asked", () => {
    expect(repo.runScript("nested-loops.mjs", ["--kwargs", "population=1"]).status).toBe(0);
    repo.write("nested-loops.mjs", repo.git("show", "HEAD:nested-loops.mjs").replace('mutation", 0.5', 'mutation", 0.25'));
    expect(repo.runScript("nested-loops.mjs").status).toBe(0);

    const runs = repo.flor(["runs", "--format", "json"], env);
    expect(runs.status, runs.stderr).toBe(0);
    const parsed = JSON.parse(runs.stdout) as {
      filename: string;
      status: string;
      args: Record<string, unknown>;
      vid: string;
      logs: number;
    }[];
    expect(parsed.map((r) => [r.filename, r.status, r.args["population"], r.args["mutation"], r.logs])).toEqual([
      ["nested-loops.mjs", "ok", 1, 0.5, 2 + 2 + 1],
      ["nested-loops.mjs", "ok", 3, 0.25, 6 + 2 + 1],
    ]);
    expect(parsed[0]!.vid).toBe(repo.git("rev-parse", "HEAD"));
    expect(parsed[1]!.vid).not.toBe(parsed[0]!.vid);

    const versions = JSON.parse(repo.flor(["versions", "--format", "json"], env).stdout) as {
      vid: string;
      kind: string;
      message: string;
      runs: number;
    }[];
    expect(versions.map((v) => [v.vid, v.kind, v.runs])).toEqual([
      [parsed[0]!.vid, "commit", 1],
      [parsed[1]!.vid, "snapshot", 1],
    ]);
    expect(versions[0]!.message).toBe("v1");
    expect(versions[1]!.message).toMatch(/^uncommitted changes on [0-9a-f]{10}$/);

    const table = repo.flor(["runs"], env);
    expect(table.stdout.split("\n")[0]).toMatch(/^tstamp\s+filename\s+vid\s+status\s+seconds\s+logs\s+replayed\s+args\s+error$/);
    expect(table.stdout).toContain("elitism=false generations=2");
  });

  it("prints the dataframe as a table, JSON and CSV", () => {
    expect(repo.runScript("nested-loops.mjs", ["--kwargs", "population=2", "generations=1"]).status).toBe(0);
    const json = JSON.parse(repo.flor(["dataframe", "best", "fitness", "mutation", "--format", "json"], env).stdout) as Record<
      string,
      unknown
    >[];
    expect(json.map((r) => [r["generation"], r["individual_value"], r["fitness"], r["best"], r["mutation"]])).toEqual([
      [0, "ann", 11.5, 11.5, 0.5],
      [0, "bob", 11.5, 11.5, 0.5],
    ]);
    const csv = repo.flor(["dataframe", "fitness", "--format", "csv"], env).stdout.split("\r\n");
    expect(csv[0]).toBe("projid,tstamp,filename,vid,generation,individual,individual_value,fitness");
    expect(csv[1]).toMatch(/,nested-loops\.mjs,[0-9a-f]{40},0,0,ann,11\.5$/);
    const table = repo.flor(["dataframe", "fitness"], env).stdout.split("\n");
    expect(table[0]).toMatch(/^projid\s+tstamp\s+filename\s+vid\s+generation\s+individual\s+individual_value\s+fitness$/);
    expect(table).toHaveLength(2 + 2 + 1);
  });

  it("reports mistakes in one line with exit codes 1 and 2", () => {
    expect(repo.runScript("nested-loops.mjs").status).toBe(0);
    // A usage mistake, as the same misspelling is in `flor query`.
    const unknown = repo.flor(["dataframe", "fitnes"], env);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe(
      `flor: unknown name "fitnes": no run of ${repo.dir.split("/").pop()} logged it or has it as an argument; did you mean "fitness"?\n`,
    );
    const format = repo.flor(["runs", "--format", "xml"], env);
    expect([format.status, format.stderr]).toEqual([2, 'flor: --format must be table, json or csv, not "xml"\n']);
    const command = repo.flor(["rnus"], env);
    expect(command.status).toBe(2);
    expect(command.stderr).toContain('unknown command "rnus"');
    const option = repo.flor(["runs", "--verbose"], env);
    expect(option.status).toBe(2);
    expect(option.stderr).toMatch(/^flor: Unknown option '--verbose'/);
    expect(repo.flor(["--help"], env).stdout).toContain("dataframe [names...]");
  });

  it("exits 2 with a clear message when a script gets bad --kwargs", () => {
    const result = repo.runScript("nested-loops.mjs", ["--kwargs", "population=many"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("flor: --kwargs population=many: expected a number (the default of population is 3)\n");
  });
});

describe("the embedded store", () => {
  let repo: TestRepo;
  afterEach(() => repo.remove());

  it("refuses a second process while one holds it, naming the holder", async () => {
    repo = TestRepo.create();
    const { pgliteBackend } = await import("../helpers/stores.js");
    await pgliteBackend().prepare(repo.dir);
    const { openStore } = await import("../../src/store/open-store.js");
    const { layoutFor } = await import("../../src/project-layout.js");
    const store = await openStore(layoutFor(repo.dir), { databaseUrl: "", command: "flor serve" });
    try {
      const second = repo.flor(["runs"], { FLOR_DATABASE_URL: "" });
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(
        new RegExp(`^flor: the embedded store .* is in use by \`flor serve\` \\(pid ${process.pid} on .*\\)\\.\\n.*FLOR_DATABASE_URL`),
      );
    } finally {
      await store.close();
    }
    expect(repo.flor(["runs"], { FLOR_DATABASE_URL: "" }).status).toBe(0);
  });

  it("takes over a lock whose owner died", async () => {
    repo = TestRepo.create();
    const { pgliteBackend } = await import("../helpers/stores.js");
    await pgliteBackend().prepare(repo.dir);
    const { writeFileSync } = await import("node:fs");
    const { hostname } = await import("node:os");
    writeFileSync(
      `${repo.dir}/.flor/db.lock`,
      JSON.stringify({ pid: 2 ** 22 + 17, host: hostname(), command: "flor runs", since: "2026-01-01" }),
    );
    const result = repo.flor(["runs"], { FLOR_DATABASE_URL: "" });
    expect(result.status, result.stderr).toBe(0);
  });
});

describe("flor propagate", () => {
  const corpusDir = (name: string): string => `${FIXTURES}/propagation/${name}`;
  let repo: TestRepo;
  afterEach(() => repo.remove());

  it("prints the patched old version, or the report as JSON", () => {
    repo = TestRepo.create();
    const dir = corpusDir("02-renamed-variable");
    const result = repo.flor(["propagate", "--new", `${dir}/new.ts`, "--old", `${dir}/old.ts`]);
    expect([result.status, result.stderr]).toEqual([
      0,
      `flor: present flor.log("loss") from line 9 of ${dir}/new.ts: already at line 9\n` +
        `flor: injected flor.log("grad_norm") from line 10 of ${dir}/new.ts: inserted at line 10 (renamed model → net)\n`,
    ]);
    expect(result.stdout).toBe(readFileSync(`${dir}/expected.ts`, "utf8"));
    const json = repo.flor(["propagate", "--new", `${dir}/new.ts`, "--old", `${dir}/old.ts`, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      injected: [{ name: "grad_norm", renamed: { model: "net" } }],
      declined: [],
      present: [{ name: "loss" }],
    });
  });

  it("exits 3 with the reasons when it declines, 2 for usage, 1 for a missing file", () => {
    repo = TestRepo.create();
    const dir = corpusDir("10-undefined-name");
    const declined = repo.flor(["propagate", "--new", `${dir}/new.ts`, "--old", `${dir}/old.ts`]);
    expect(declined.status).toBe(3);
    expect(declined.stderr).toContain(
      `flor: declined flor.log("grad_norm") from line 11 of ${dir}/new.ts: \`clip\` is not defined at that place in the old version\n`,
    );
    expect(declined.stdout).toBe(readFileSync(`${dir}/old.ts`, "utf8"));
    expect(repo.flor(["propagate", "--new", `${dir}/new.ts`]).status).toBe(2);
    const missing = repo.flor(["propagate", "--new", `${dir}/new.ts`, "--old", "nope.ts"]);
    expect([missing.status, missing.stderr]).toEqual([1, "flor: cannot read nope.ts: no such file\n"]);
  });
});
