import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { irisRepository, recordVersions } from "../../bench/iris-history.js";
import { TestRepo } from "../helpers/repo.js";
import { readContexts } from "../helpers/journal.js";

const tsxLoader = createRequire(import.meta.url).resolve("tsx/esm");
const AFTER = '    flor.log("val_acc", accuracy(model, testSet));\n';
const STATEMENT = '    flor.log("w2_norm", Math.hypot(...model.params.w2));\n';

/** The value of `name` per epoch in a journal. */
function perEpoch(journal: string, name: string): Map<number, number> {
  const epochs = new Map<number, number>();
  const values = new Map<number, number>();
  for (const record of readContexts(journal)) {
    if (record.k === "ctx" && record.p === null) epochs.set(record.id, record.i);
    if (record.k === "log" && record.n === name) values.set(epochs.get(record.c!)!, record.v as number);
  }
  return values;
}

describe("replay of the TypeScript iris example", () => {
  it("propagates a statement into a module the script imports, and replays one epoch of each version under tsx", async () => {
    const project = irisRepository();
    const byHand = irisRepository();
    try {
      await recordVersions(project.dir, project.git, ["epochs=3"], 2, 3);
      const training = path.join(project.dir, "training.ts");
      writeFileSync(training, readFileSync(training, "utf8").replace(AFTER, AFTER + STATEMENT));

      const repo = TestRepo.at(project.dir);
      const replay = repo.flor(["replay", "w2_norm", "--where", "epoch = 2", "--workers", "2"], { FLOR_DATABASE_URL: "" });
      expect(replay.status, replay.stderr).toBe(0);
      expect(replay.stderr).toMatch(/3 runs in scope, 3 to replay/);
      const frame = JSON.parse(repo.flor(["dataframe", "w2_norm", "--format", "json"], { FLOR_DATABASE_URL: "" }).stdout) as {
        vid: string;
        epoch: number;
        w2_norm: number;
      }[];
      expect(frame.map((row) => row.epoch)).toEqual([2, 2, 2]);

      // Ground truth: each version's training.ts with the statement written in by hand, run from scratch.
      for (const row of frame) {
        writeFileSync(
          path.join(byHand.dir, "training.ts"),
          project
            .git("show", `${row.vid}:training.ts`)
            .concat("\n")
            .replace(AFTER, AFTER + STATEMENT),
        );
        execFileSync(process.execPath, ["--import", tsxLoader, "train.ts", "--kwargs", "epochs=3"], { cwd: byHand.dir, stdio: "ignore" });
        const journals = readdirSync(path.join(byHand.dir, ".flor/journals")).sort();
        expect(perEpoch(path.join(byHand.dir, ".flor/journals", journals[journals.length - 1]!), "w2_norm").get(2)).toBe(row.w2_norm);
      }
    } finally {
      project.remove();
      byHand.remove();
    }
  });
});
