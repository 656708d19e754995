import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { unregisteredState } from "../../src/propagate/unregistered-state.js";
import { FIXTURES } from "../helpers/repo.js";

const fixture = (name: string) => readFileSync(path.join(FIXTURES, "replay", name), "utf8");

describe("state the outermost loop changes without registering it", () => {
  it("names what the fixtures with unregistered state keep, and nothing for those that register everything", () => {
    expect(unregisteredState(fixture("drifting.mjs"), "drifting.mjs", "round")).toEqual(["drift"]);
    // The generator is changed inside `shuffle`, which the loop calls.
    expect(unregisteredState(fixture("unregistered.mjs"), "unregistered.mjs", "epoch")).toEqual(["rng"]);
    for (const name of ["v1.mjs", "v2.mjs", "v3.mjs", "newest.mjs", "nondeterministic.mjs"])
      expect({ name, state: unregisteredState(fixture(name), name, null) }).toEqual({ name, state: [] });
  });

  it("sees assignments, updates, writes into objects, mutating calls and module functions, and not what is registered", () => {
    const code = `import { flor } from "flordb";
const rng = { s: 1 };
const model = { w: [0] };
const optimizer = { step: 0 };
const state = { model, optimizer };
const history = [];
const weights = model.w;
let best = 0, total = 0, after = 0, local = 0;
const seen = new Set();
function shuffle(items) { rng.s = (rng.s * 7) % 11; return items; }
const step = (x: number) => { weights[0] += x; best = Math.max(best, x); };
function pure(x) { let y = x; y += 1; return y; }
flor.checkpointing(state);
for (const epoch of flor.loop("epoch", 3)) {
  let inner = 0;
  for (const b of flor.loop("step", shuffle([1, 2]))) { step(b); inner++; history.push(pure(b)); }
  (total as number) += inner;
  seen.add(epoch);
  optimizer.step++;
}
after = 5;
for (const other of flor.loop("other", 2)) local += other;`;
    expect(unregisteredState(code, "train.ts", "epoch")).toEqual(["best", "history", "rng", "seen", "total"]);
    expect(unregisteredState(code, "train.ts", "other")).toEqual(["local"]);
    expect(unregisteredState(code, "train.ts", "missing")).toEqual([]);
    expect(unregisteredState("this is not JavaScript (", "broken.js", null)).toEqual([]);
  });
});
