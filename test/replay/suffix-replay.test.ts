import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { suffixReplay } from "../../src/replay/suffix-replay.js";
import { FIXTURES } from "../helpers/repo.js";

const base = readFileSync(path.join(FIXTURES, "replay/epochs.mjs"), "utf8");

/** The fixture with `statement` added to the epoch's body (before `anchor`, by default at its end), and the verdict for it. */
function verdict(statement: string, options: { anchor?: string; code?: string } = {}) {
  const anchor = options.anchor ?? '  flor.log("val_error", error);\n';
  const code = (options.code ?? base).replace(
    anchor,
    options.anchor === undefined ? `${anchor}  ${statement}\n` : `  ${statement}\n${anchor}`,
  );
  if (code === (options.code ?? base)) throw new Error("the anchor is not in the fixture");
  const name = /flor\.log\("(\w+)"/.exec(statement)![1]!;
  const lines = code.split("\n").map((l) => l.includes(`flor.log("${name}"`));
  const line = lines.lastIndexOf(true) + 1;
  return suffixReplay(code, "train.mjs", line, name, "epoch", new Map());
}

describe("whether an iteration can skip its inner loops (data flow)", () => {
  it("skips them for a statement after them that reads registered state, the loop's item and globals", () => {
    expect(verdict('flor.log("w_norm", Math.hypot(...model.w) + epoch);')).toEqual({ names: ["w_norm", "val_error"] });
  });

  it("follows values the suffix computes and functions of the module it calls", () => {
    expect(verdict('const e = evaluate(model.w);\n  flor.log("e2", e * 2);', {})).toEqual({ names: ["e2", "val_error"] });
  });

  it("re-logs, to compare, only the names whose statements are right without the inner loops", () => {
    // mean_loss reads `total`, which the inner loop computes: not journaled in such iterations.
    const result = verdict('flor.log("w0", model.w[0]);');
    expect(result).toEqual({ names: ["w0", "val_error"] });
  });

  it("executes the iteration when the statement reads what the inner loop computes", () => {
    expect(verdict('flor.log("t", total);')).toEqual({ why: expect.stringContaining('"total"') });
    expect(verdict('flor.log("o", order[0]);')).toEqual({ why: expect.stringContaining('"order"') });
  });

  it("executes it when the statement reads unregistered state the loop may change", () => {
    expect(verdict('flor.log("d", data[0]);')).toEqual({ why: expect.stringContaining('"data"') });
    const withCounter = base.replace("const probe", "let seen = 0;\nconst probe").replace("    total += ", "    seen++;\n    total += ");
    expect(verdict('flor.log("seen", seen);', { code: withCounter })).toEqual({ why: expect.stringContaining('"seen"') });
  });

  it("executes it when the statement runs before an inner loop, or an inner loop may not run every iteration", () => {
    expect(verdict('flor.log("w1", model.w[1]);', { anchor: "  const order = shuffle(data);\n" })).toEqual({
      why: expect.stringContaining("before an inner flor.loop"),
    });
    const conditional = base.replace("  for (const x of flor.loop(", "  if (epoch >= 0) for (const x of flor.loop(");
    expect(verdict('flor.log("w1", model.w[1]);', { code: conditional })).toEqual({
      why: expect.stringContaining("may not run every iteration"),
    });
  });

  it("executes it when the code after the inner loops assigns into registered state", () => {
    expect(verdict('model.w[0] *= 1;\n  flor.log("w1", model.w[1]);')).toEqual({ why: expect.stringContaining('changes "model"') });
  });

  it("executes it for a statement that a name logs elsewhere too, and in a loop without inner loops", () => {
    expect(verdict('flor.log("loss", model.w[0]);')).toEqual({ why: expect.stringContaining("more than one place") });
    const flat =
      "import { flor } from 'flordb';\nconst m = { w: [1] };\nflor.checkpointing({ m });\nfor (const e of flor.loop('epoch', 3)) {\n  m.w[0] += 1;\n  flor.log('w', m.w[0]);\n}\n";
    expect(suffixReplay(flat, "t.mjs", 6, "w", "epoch", new Map())).toBeNull();
  });
});
