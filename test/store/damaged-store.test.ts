import { existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TestRepo } from "../helpers/repo.js";

const SCRIPT = `import { flor } from "flordb";
let w = flor.arg("w", 1);
for (const epoch of flor.loop("epoch", 3)) { w = w * 1.5; flor.log("weight", w); }
`;
const env = { FLOR_DATABASE_URL: "" };

describe("a damaged embedded store", () => {
  let repo: TestRepo;
  afterEach(() => repo.remove());

  it.each([
    ["through the daemon", env],
    ["holding the store", { ...env, FLOR_NO_DAEMON: "1" }],
  ])(
    "is refused with the way forward, and `flor ingest --rebuild` sets it aside and rebuilds it from the journals, %s",
    (_how, how) => {
      repo = TestRepo.create({ "train.mjs": SCRIPT });
      for (const w of [1, 2]) expect(repo.runScript("train.mjs", ["--kwargs", `w=${w}`]).status).toBe(0);
      const before = repo.flor(["query", "SELECT w, epoch, weight FROM train.mjs ORDER BY w, epoch", "--format", "json"], how);
      expect(before.status, before.stderr).toBe(0);
      repo.stopDaemon();
      writeFileSync(path.join(repo.dir, ".flor/db/global/pg_control"), "not a control file");

      const refused = repo.flor(["runs"], how);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/^flor: cannot open the embedded store in .*\.flor\/db: its files are damaged/);
      expect(refused.stderr).toContain("`flor ingest --rebuild` moves it aside");
      expect(refused.stderr).not.toMatch(/\n\s+at /);

      const rebuilt = repo.flor(["ingest", "--rebuild"], how);
      expect(rebuilt.status, rebuilt.stderr).toBe(0);
      expect(rebuilt.stderr).toMatch(/its files were moved to .*\.flor\/db\.broken-[-0-9TZ]+ and it is rebuilt from the journals/);
      const aside = readdirSync(path.join(repo.dir, ".flor")).filter((name) => name.startsWith("db.broken-"));
      expect(aside).toHaveLength(1);
      expect(existsSync(path.join(repo.dir, ".flor", aside[0]!, "global/pg_control"))).toBe(true);

      const after = repo.flor(["query", "SELECT w, epoch, weight FROM train.mjs ORDER BY w, epoch", "--format", "json"], how);
      expect(after.status, after.stderr).toBe(0);
      expect(after.stdout).toBe(before.stdout);
    },
    180_000,
  );
});
