import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as v8 from "node:v8";
import { afterEach, describe, expect, it } from "vitest";
import { CheckpointWriter } from "../../src/checkpoints/checkpoint-writer.js";
import { ObjectStore } from "../../src/checkpoints/object-store.js";
import { captureParts } from "../../src/checkpoints/object-state.js";
import { decodeRecord } from "../../src/journal/decode.js";
import type { JournalRecord } from "../../src/journal/records.js";
import { TestRepo } from "../helpers/repo.js";

describe("the checkpoint writer", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const setUp = (): { writer: CheckpointWriter; journal: string; objects: ObjectStore } => {
    dir = mkdtempSync(path.join(tmpdir(), "flor-writer-"));
    const journal = path.join(dir, "journal.jsonl");
    writeFileSync(journal, "");
    return {
      writer: new CheckpointWriter(path.join(dir, "objects"), journal),
      journal,
      objects: new ObjectStore(path.join(dir, "objects")),
    };
  };
  const records = (journal: string): JournalRecord[] =>
    readFileSync(journal, "utf8")
      .trim()
      .split("\n")
      .map((line) => decodeRecord(line) as JournalRecord);
  const capture = (name: string, value: object) => {
    const captured = captureParts(name, value, false);
    if ("reason" in captured) throw new Error(captured.reason);
    return { name, ...captured };
  };

  it("stores what was captured at save time, in growing and shrinking sizes, while the training changes its arrays", () => {
    const { writer, journal, objects } = setUp();
    const expected: string[] = [];
    for (const [ctx, size] of [1_000, 300_000, 40, 2_000_000, 300_000].entries()) {
      const weights = new Float64Array(size).fill(ctx + 0.5);
      const state = { weights, step: ctx };
      writer.save(ctx + 1, [capture("model", state)], Date.now(), false);
      expected.push(
        createHash("sha256")
          .update(v8.serialize({ weights: new Float64Array(size).fill(ctx + 0.5), step: ctx }))
          .digest("hex"),
      );
      weights.fill(-1); // the training goes on; the checkpoint keeps the state it had
      expect(weights.byteLength).toBe(size * 8); // nothing was transferred away
    }
    const cost = writer.close();
    const saved = records(journal).filter((r) => r.k === "ckpt");
    expect(saved.map((r) => r.o["model"])).toEqual(expected);
    for (const hash of expected) expect(objects.get(hash).length).toBeGreaterThan(0);
    // What the thread cost: its work, and (Linux) the CPU time its start took, which the policy charges too.
    expect(cost.workMs).toBeGreaterThan(0);
    if (process.platform === "linux") expect(cost.startMs).toBeGreaterThan(1);
  });

  it("marks the run's checkpoints unusable when the first one does not come back from its round trip", () => {
    const { writer, journal } = setUp();
    writer.save(1, [{ name: "model", parts: [new Uint8Array([0xff, 0x0f, 0x6f])], bytes: 3, inPlace: true }], Date.now(), true);
    writer.drain();
    expect(writer.unusable).toBe(true);
    writer.close();
    expect(records(journal).find((r) => r.k === "ckcheck")).toEqual({
      k: "ckcheck",
      c: 1,
      ok: false,
      o: "model",
      p: "",
      r: expect.stringMatching(/^cannot be restored from its checkpoint: /),
    });
  });

  it("never detaches an ArrayBuffer, which would slow every typed-array access of the training process", () => {
    const repo = TestRepo.create({
      "train.mjs": `import { flor } from "flordb";
const state = { w: new Float64Array(200000), rows: [new Float32Array(5000), new Float32Array(5000)] };
flor.checkpointing({ state });
for (const epoch of flor.loop("epoch", 5)) state.w.fill(epoch);
`,
    });
    dir = repo.dir;
    const run = spawnSync(process.execPath, ["--trace-protector-invalidation", "train.mjs"], { cwd: repo.dir, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const [file] = readdirSync(path.join(repo.dir, ".flor/journals"));
    expect(readFileSync(path.join(repo.dir, ".flor/journals", file!), "utf8").match(/"k":"ckpt"/g)).toHaveLength(5);
    // Not vacuous: the flag reports the protector's invalidation.
    const detaching = spawnSync(
      process.execPath,
      [
        "--trace-protector-invalidation",
        "-e",
        "structuredClone(new ArrayBuffer(8), { transfer: [] }); const b = new ArrayBuffer(8); structuredClone(b, { transfer: [b] });",
      ],
      { encoding: "utf8" },
    );
    expect(detaching.stdout).toMatch(/ArrayBufferDetaching/);
    expect(run.stdout).not.toMatch(/ArrayBufferDetaching/);
  });
});
