import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import brain from "brain.js";
import { afterEach, describe, expect, it } from "vitest";
import { ObjectStore } from "../../src/checkpoints/object-store.js";
import { restoreState } from "../../src/checkpoints/object-state.js";
import type { JournalRecord } from "../../src/journal/records.js";
import { layoutFor } from "../../src/project-layout.js";
import { Flor } from "../../src/sdk/flor.js";
import { TestRepo } from "../helpers/repo.js";

const XOR = [
  { input: [0, 0], output: [0] },
  { input: [0, 1], output: [1] },
  { input: [1, 0], output: [1] },
  { input: [1, 1], output: [0] },
];

class Counter {
  count = 0;
}

describe("what flor.checkpointing accepts", () => {
  let repo: TestRepo;
  afterEach(() => repo.remove());
  const florIn = (): Flor => new Flor({ script: path.join(repo.dir, "train.mjs"), autoCommit: false });

  it("checkpoints a brain.js network through toJSON()/fromJSON(json) and restores it in place", async () => {
    repo = TestRepo.create({ "train.mjs": "" });
    const flor = florIn();
    const net = new brain.NeuralNetwork({ hiddenLayers: [3] });
    flor.checkpointing({ net });
    const outputs: number[] = [];
    for (const _ of flor.loop("epoch", 3)) {
      net.train(XOR, { iterations: 50 });
      outputs.push(net.run([0, 1])[0]!);
    }
    await flor.commit();
    expect(new Set(outputs).size).toBe(3);

    const [file] = readdirSync(layoutFor(repo.dir).journalsDir);
    const records = readFileSync(path.join(layoutFor(repo.dir).journalsDir, file!), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as JournalRecord);
    const checkpoints = records.flatMap((r) => (r.k === "ckpt" ? [r.o["net"]!] : []));
    expect(checkpoints).toHaveLength(3);
    restoreState(net, new ObjectStore(layoutFor(repo.dir).objectsDir).get(checkpoints[1]!));
    expect(net.run([0, 1])[0]).toBe(outputs[1]);
  });

  it("refuses a class instance without checkpoint methods when it is registered, naming it and what to do", () => {
    repo = TestRepo.create({ "train.mjs": "" });
    const flor = florIn();
    expect(() => flor.checkpointing({ counter: new Counter() })).toThrow(
      /"counter" is a Counter, a class instance without stateDict\(\)\/loadStateDict\(state\) or toJSON\(\)\/fromJSON\(json\).*Give Counter stateDict\(\) and loadStateDict\(state\) methods/,
    );
    expect(() => flor.checkpointing({ state: { step: 0, stats: [{ counter: new Counter() }] } })).toThrow(
      /"state"\.stats\[0\]\.counter is a Counter, a class instance/,
    );
    expect(() => flor.checkpointing({ state: { handler: { run: () => 1 } } })).toThrow(
      /"state"\.handler\.run is a function, which cannot be checkpointed/,
    );
    expect(() => flor.checkpointing({ state: { net: new brain.NeuralNetwork() } })).toThrow(
      /"state"\.net is a NeuralNetwork with checkpoint methods of its own, which are not called inside plain data; register it as an entry of its own/,
    );
    // Plain data of every kind that restores in place is accepted, cycles included.
    const plain: Record<string, unknown> = {
      w: new Float32Array(2),
      seen: [1, 2],
      table: new Map([["a", { n: 1 }]]),
      tags: new Set(["x"]),
    };
    plain["self"] = plain;
    expect(() => flor.checkpointing({ plain, list: [1, 2], when: { at: new Date(0) } })).not.toThrow();
  });

  it("points TensorFlow.js models and optimizers registered as they are to flordb/tfjs", () => {
    repo = TestRepo.create({ "train.mjs": "" });
    const flor = florIn();
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
    const optimizer = tf.train.adam(0.01);
    const tfjsHint = /import \{ tfjsState \} from "flordb\/tfjs"; flor\.checkpointing\(\{ model: tfjsState\(model, optimizer\) \}\)/;
    expect(() => flor.checkpointing({ model })).toThrow(/"model" is a TensorFlow\.js model \(Sequential\)/);
    expect(() => flor.checkpointing({ model })).toThrow(tfjsHint);
    expect(() => flor.checkpointing({ optimizer })).toThrow(/"optimizer" is a TensorFlow\.js optimizer \(AdamOptimizer\)/);
    expect(() => flor.checkpointing({ state: { w: tf.variable(tf.zeros([2])) } })).toThrow(
      /"state"\.w is a TensorFlow\.js tensor \(Variable\).*flor\.checkpointing\(\{ model: tfjsState\(\{ w, b \}, optimizer\) \}\)/,
    );
  });
});
