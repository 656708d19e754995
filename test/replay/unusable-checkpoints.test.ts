import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRecord } from "../../src/journal/encode.js";
import type { JournalRecord } from "../../src/journal/records.js";
import { readJournal } from "../helpers/journal.js";
import { TestRepo } from "../helpers/repo.js";

const env = { FLOR_DATABASE_URL: "" };

/** A tfjs-like model: a tensor's values live in a backend; the object holds only a handle to them. */
const TENSORS = `class Tensor {
  static backend = new Map();
  constructor(values) {
    this.dataId = { id: Tensor.backend.size };
    this.shape = [values.length];
    Tensor.backend.set(this.dataId.id, Float64Array.from(values));
  }
  dataSync() {
    return Tensor.backend.get(this.dataId.id);
  }
  arraySync() {
    return [...this.dataSync()];
  }
}
class Model {
  kernel = new Tensor([0.5, -0.5]);
  stateDict() {
    return { kernel: this.kernel };
  }
  loadStateDict(state) {
    this.kernel = state.kernel;
  }
}
`;
const script = (extra: string) => `import { flor } from "flordb";
${TENSORS}
const model = new Model();
flor.checkpointing({ model });
for (const epoch of flor.loop("epoch", 4)) {
  model.kernel = new Tensor(model.kernel.dataSync().map((w) => w * 0.5 + epoch));
  flor.log("loss", model.kernel.dataSync()[0]);
${extra}}
`;
const PLAIN = (extra: string) => `import { flor } from "flordb";
const state = { w: new Float64Array([0.5, -0.5]) };
flor.checkpointing({ state });
for (const epoch of flor.loop("epoch", 4)) {
  state.w = state.w.map((w) => w * 0.5 + epoch);
  flor.log("loss", state.w[0]);
${extra}}
`;
const W1 = `  flor.log("w1", model.kernel.dataSync()[1]);\n`;

interface PlanJson {
  runs: { filename: string; mode: string; ranges: [number, number][]; notes: string[] }[];
}

let repo: TestRepo;
let record: { status: number | null; stderr: string };

beforeAll(() => {
  repo = TestRepo.create({ "handles.mjs": script(""), "plain.mjs": PLAIN("") });
  record = repo.runScript("handles.mjs");
  const plain = repo.runScript("plain.mjs");
  if (plain.status !== 0) throw new Error(plain.stderr);
  // The plain run's first checkpoint passed its round trip; its journal is made to say it failed, as the
  // checkpoint thread writes it when a state does not come back (see test/checkpoints/checkpoint-writer.test.ts).
  const journals = path.join(repo.dir, ".flor/journals");
  const plainJournal = readdirSync(journals)
    .map((file) => path.join(journals, file))
    .find((file) => readJournal(file).some((r) => r.k === "run" && r.filename === "plain.mjs"))!;
  const failed: JournalRecord = { k: "ckcheck", c: 1, ok: false, o: "state", p: ".w", r: "restores with other contents" };
  writeFileSync(plainJournal, readFileSync(plainJournal, "utf8").replace(/\{"k":"ckcheck","c":1,"ok":true\}\n/, encodeRecord(failed)));
  repo.write("handles.mjs", script(W1)).write("plain.mjs", PLAIN(`  flor.log("w1", state.w[1]);\n`));
});

afterAll(() => repo.remove());

describe("checkpoints that cannot be restored", () => {
  it("are found when the first one is taken: one warning naming the object and the path, and the training goes on", () => {
    expect(record.status, record.stderr).toBe(0);
    const warnings = record.stderr.match(/^flor: warning: .*$/gm) ?? [];
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /this run's checkpoints cannot be used for replay \(replay will re-run it from the start\): "model"\.stateDict\(\)\.kernel is a TensorFlow\.js tensor \(Tensor\)/,
    );
    const journals = path.join(repo.dir, ".flor/journals");
    const journal = readdirSync(journals)
      .map((file) => readJournal(path.join(journals, file)))
      .find((records) => records.some((r) => r.k === "run" && r.filename === "handles.mjs"))!;
    expect(journal.filter((r) => r.k === "ckpt")).toEqual([]);
    expect(journal.find((r) => r.k === "ckcheck")).toMatchObject({ ok: false, o: "model", p: ".stateDict().kernel" });
    expect(journal.filter((r) => r.k === "log")).toHaveLength(4);
  });

  it("are never planned from: the replay runs from the start, and the plan says why", () => {
    const result = repo.flor(["replay", "w1", "--where", "epoch >= 2", "--dry-run", "--format", "json"], env);
    expect(result.status, result.stderr).toBe(0);
    const runs = (JSON.parse(result.stdout) as PlanJson).runs;
    const handles = runs.find((r) => r.filename === "handles.mjs")!;
    const plain = runs.find((r) => r.filename === "plain.mjs")!;
    for (const run of [handles, plain]) expect(run).toMatchObject({ mode: "from-start", ranges: [[0, 4]] });
    expect(handles.notes).toEqual([
      expect.stringMatching(
        /^the run has no checkpoints \(its state could not be checkpointed: "model"\.stateDict\(\)\.kernel is a TensorFlow\.js tensor \(Tensor\).*\): replaying from the start$/,
      ),
    ]);
    expect(plain.notes).toEqual([
      'its checkpoints cannot be restored (found when they were recorded: "state".w restores with other contents): replaying from the start',
    ]);

    const explain = repo.flor(["explain", "SELECT epoch, w1 WHERE epoch = 3"], env);
    expect(explain.status, explain.stderr).toBe(0);
    expect(explain.stdout).toMatch(
      /note for run .*: its checkpoints cannot be restored \(found when they were recorded: "state"\.w restores/,
    );
    expect(explain.stdout).toMatch(/note for run .*: the run has no checkpoints \(its state could not be checkpointed: "model"\.stateDict/);
  });

  it("replays from the start to the values a from-scratch run gives", () => {
    const answer = repo.flor(["query", "SELECT filename, epoch, w1 WHERE epoch >= 2 ORDER BY filename, epoch", "--format", "json"], env);
    expect(answer.status, answer.stderr).toBe(0);
    const fresh = (w: number[], epochs: number): number[] => {
      const out: number[] = [];
      for (let epoch = 0; epoch < epochs; epoch++) {
        w = w.map((x) => x * 0.5 + epoch);
        out.push(w[1]!);
      }
      return out;
    };
    const expected = fresh([0.5, -0.5], 4).slice(2);
    expect(JSON.parse(answer.stdout)).toEqual([
      { filename: "handles.mjs", epoch: 2, w1: expected[0] },
      { filename: "handles.mjs", epoch: 3, w1: expected[1] },
      { filename: "plain.mjs", epoch: 2, w1: expected[0] },
      { filename: "plain.mjs", epoch: 3, w1: expected[1] },
    ]);
  });
});
