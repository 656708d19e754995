import { describe, expect, it } from "vitest";
import { propagate } from "../../src/propagate/propagate.js";

/** A script from lines, so that expected outputs read like code. */
const code = (...lines: string[]): string => `${lines.join("\n")}\n`;

const header = ['import { flor } from "flordb";', 'import { makeModel, batches, evaluate } from "./lib.js";', ""];

describe("flor.log wrapping an expression", () => {
  it("wraps the old version's declaration, with its names", () => {
    const newer = code(
      ...header,
      "const model = makeModel();",
      'for (const epoch of flor.loop("epoch", 3)) {',
      "  let sq = 0;",
      "  const n = model.size;",
      "  for (const r of evaluate(model)) sq += r * r;",
      '  const mse = flor.log("val_mse", sq / n);',
      "  console.log(mse);",
      "}",
    );
    const older = code(
      ...header,
      "const net = makeModel();",
      'for (const epoch of flor.loop("epoch", 3)) {',
      "  let sumSq = 0;",
      "  const n = net.size;",
      "  for (const r of evaluate(net)) sumSq += r * r;",
      "  const mse = sumSq / n;",
      "  console.log(mse);",
      "}",
    );
    const report = propagate(newer, older);
    expect(report.declined).toEqual([]);
    expect(report.injected).toMatchObject([{ name: "val_mse", form: "wrapped", line: 9, endLine: 9 }]);
    expect(report.code).toBe(older.replace("const mse = sumSq / n;", 'const mse = flor.log("val_mse", sumSq / n);'));
  });

  it("wraps a returned value", () => {
    const newer = code(
      ...header,
      "function accuracy(predictions, labels) {",
      "  let correct = 0;",
      "  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;",
      '  return flor.log("acc", correct / labels.length);',
      "}",
      'for (const epoch of flor.loop("epoch", 3)) console.log(accuracy([1], [1]));',
    );
    const older = code(
      ...header,
      "function accuracy(predicted, labels) {",
      "  let right = 0;",
      "  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) right++;",
      "  return right / labels.length;",
      "}",
      'for (const epoch of flor.loop("epoch", 3)) console.log(accuracy([1], [1]));',
    );
    const report = propagate(newer, older);
    expect(report.injected).toMatchObject([{ name: "acc", form: "wrapped", line: 7 }]);
    expect(report.code).toBe(older.replace("return right / labels.length;", 'return flor.log("acc", right / labels.length);'));
  });

  it("wraps the right-hand side of a compound assignment and an argument", () => {
    const newer = code(
      ...header,
      "const model = makeModel();",
      "const history = [];",
      'for (const epoch of flor.loop("epoch", 3)) {',
      "  let total = 0;",
      '  for (const b of flor.loop("step", batches())) {',
      '    total += flor.log("batch_loss", model.step(b));',
      "  }",
      '  history.push(flor.log("epoch_loss", total));',
      "}",
    );
    const older = code(
      ...header,
      "const net = makeModel();",
      "const losses = [];",
      'for (const epoch of flor.loop("epoch", 3)) {',
      "  let sum = 0;",
      '  for (const b of flor.loop("step", batches())) {',
      "    sum += net.step(b);",
      "  }",
      "  losses.push(sum);",
      "}",
    );
    const report = propagate(newer, older);
    expect(report.declined).toEqual([]);
    expect(report.injected.map((i) => [i.name, i.form, i.line])).toEqual([
      ["batch_loss", "wrapped", 9],
      ["epoch_loss", "wrapped", 11],
    ]);
    expect(report.code).toBe(
      older
        .replace("sum += net.step(b);", 'sum += flor.log("batch_loss", net.step(b));')
        .replace("losses.push(sum);", 'losses.push(flor.log("epoch_loss", sum));'),
    );
  });

  it("inserts a new statement that wraps its value, renamed, when the old version has no such statement", () => {
    const newer = code(
      ...header,
      "const model = makeModel();",
      'for (const epoch of flor.loop("epoch", 3)) {',
      "  const result = evaluate(model);",
      '  const acc = flor.log("acc", result.correct / result.n);',
      "  console.log(result.n);",
      "}",
    );
    const older = code(
      ...header,
      "const net = makeModel();",
      'for (const epoch of flor.loop("epoch", 3)) {',
      "  const res = evaluate(net);",
      "  console.log(res.n);",
      "}",
    );
    const report = propagate(newer, older);
    expect(report.injected).toMatchObject([{ name: "acc", form: "statement", line: 7, renamed: { result: "res" } }]);
    expect(report.code).toBe(older.replace("  console.log", '  const acc = flor.log("acc", res.correct / res.n);\n  console.log'));
  });

  it("declines a wrapped statement the old version has changed, rather than run it twice", () => {
    const newer = code(...header, "const model = makeModel();", "let total = 0;", 'total += flor.log("loss", model.step(1, 2));');
    const older = code(...header, "const model = makeModel();", "let total = 0;", "total += model.step(1);");
    const report = propagate(newer, older);
    expect(report.injected).toEqual([]);
    expect(report.declined).toMatchObject([{ name: "loss", reason: expect.stringContaining("model.step") }]);
    expect(report.code).toBe(older);
  });

  it("reports a log the old version has in the same loops as present, whatever its form", () => {
    const newer = code(...header, 'for (const epoch of flor.loop("epoch", 3)) {', '  const loss = flor.log("loss", evaluate(1));', "}");
    const older = code(
      ...header,
      'for (const epoch of flor.loop("epoch", 3)) {',
      "  const l = evaluate(1);",
      '  flor.log("loss", l);',
      "}",
    );
    const report = propagate(newer, older);
    expect(report).toMatchObject({ injected: [], declined: [], present: [{ name: "loss", fromLine: 5, line: 6 }] });
    expect(report.code).toBe(older);
  });

  it("accounts for every call: one whose name is not a string literal is declined, not skipped", () => {
    const newer = code(...header, "const key = 'loss';", "flor.log(key, 1);");
    const report = propagate(newer, code(...header, "const key = 'loss';"));
    expect(report.declined).toEqual([{ name: "key", fromLine: 5, reason: expect.stringContaining("not a string literal") }]);
  });
});

describe("an ambiguous place", () => {
  it("takes a log statement right after its neighbour, unless the old statements there change what it reads", () => {
    const newer = code(...header, "const model = makeModel();", "model.fit(1);", 'flor.log("norm", model.norm());', "");
    const older = (between: string): string => code(...header, "const model = makeModel();", "model.fit(1);", between, "");
    const untouched = propagate(newer, older("console.log(1);"));
    expect(untouched.injected).toMatchObject([{ name: "norm", line: 6 }]);
    const changed = propagate(newer, older("model.zeroGrad();"));
    expect(changed.injected).toEqual([]);
    expect(changed.declined).toMatchObject([{ name: "norm", reason: expect.stringContaining("may change what it reads (line 6)") }]);
  });
});

describe("empty places", () => {
  it("puts a statement into an empty `case` and into a block written `{}` on one line", () => {
    const newer = code(
      ...header,
      "function f(v) {",
      "  switch (v) {",
      '    case "a":',
      '      flor.log("v", v);',
      '    case "b":',
      "      return 1;",
      "  }",
      "}",
    );
    const older = code(...header, "function f(v) {", "  switch (v) {", '    case "a":', '    case "b":', "      return 1;", "  }", "}");
    expect(propagate(newer, older).code).toBe(newer);
    const method = code(...header, "class A {", "  reset() {", '    flor.log("reset", 1);', "  }", "}");
    expect(propagate(method, code(...header, "class A {", "  reset() {}", "}")).code).toBe(method);
  });
});

describe("helpers of several statements", () => {
  const newer = code(
    ...header,
    "const model = makeModel();",
    'for (const epoch of flor.loop("epoch", 3)) {',
    "  model.fit(batches());",
    "  let sq = 0;",
    "  for (const w of model.W) sq += w * w;",
    '  flor.log("w_norm", Math.sqrt(sq));',
    "}",
  );

  it("brings a `let` accumulator and the loop that fills it, renamed", () => {
    const older = code(...header, "const net = makeModel();", 'for (const epoch of flor.loop("epoch", 3)) {', "  net.fit(batches());", "}");
    const report = propagate(newer, older);
    expect(report.declined).toEqual([]);
    expect(report.injected).toEqual([
      {
        name: "w_norm",
        fromLine: 9,
        form: "statement",
        line: 9,
        endLine: 9,
        renamed: { model: "net" },
        helpers: [
          { text: "let sq = 0;", line: 7, endLine: 7 },
          { text: "for (const w of model.W) sq += w * w;", line: 8, endLine: 8 },
        ],
      },
    ]);
    expect(report.code).toBe(
      older.replace(
        "  net.fit(batches());\n",
        '  net.fit(batches());\n  let sq = 0;\n  for (const w of net.W) sq += w * w;\n  flor.log("w_norm", Math.sqrt(sq));\n',
      ),
    );
  });

  it("declines helpers that also change what the old version computes", () => {
    const changing = newer.replace("for (const w of model.W) sq += w * w;", "for (const w of model.W) { sq += w * w; model.seen++; }");
    const older = code(
      ...header,
      "const model = makeModel();",
      'for (const epoch of flor.loop("epoch", 3)) {',
      "  model.fit(batches());",
      "}",
    );
    const report = propagate(changing, older);
    expect(report.injected).toEqual([]);
    expect(report.declined).toMatchObject([{ name: "w_norm", reason: expect.stringContaining("also change `model.seen`") }]);
  });
});

describe("the flor import", () => {
  it("is carried into an old module that lacks it, after its last import", () => {
    const newer = code(
      'import * as tf from "@tensorflow/tfjs";',
      'import { flor } from "flordb";',
      "",
      "export function step(model, batch) {",
      "  const loss = model.trainOnBatch(batch);",
      '  flor.log("rows_seen", batch.length);',
      "  return loss;",
      "}",
    );
    const older = code(
      'import * as tf from "@tensorflow/tfjs";',
      'import { helper } from "./helper.js";',
      "",
      "export function step(model, batch) {",
      "  const loss = model.trainOnBatch(batch);",
      "  return loss;",
      "}",
    );
    const report = propagate(newer, older);
    expect(report.declined).toEqual([]);
    expect(report.addedImport).toEqual({ text: 'import { flor } from "flordb";', line: 3 });
    expect(report.injected).toMatchObject([{ name: "rows_seen", line: 7 }]);
    expect(report.code).toBe(
      older
        .replace('"./helper.js";\n', '"./helper.js";\nimport { flor } from "flordb";\n')
        .replace("batch);\n", 'batch);\n  flor.log("rows_seen", batch.length);\n'),
    );
  });
});
