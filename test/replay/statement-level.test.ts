import { describe, expect, it } from "vitest";
import { statementLevel } from "../../src/replay/statement-level.js";

const entry = `import { flor } from "flordb";
import { trainStep, report } from "./model.js";
import * as m from "./model.js";

for (const epoch of flor.loop("epoch", 3)) {
  for (const batch of flor.loop("step", [1, 2])) {
    trainStep(batch);
  }
  m.evaluate();
}
report();
`;

const model = `import { flor } from "flordb";

export function trainStep(batch) {
  flor.log("rows_seen", batch);
}

export function evaluate() {
  const acc = flor.log("acc", 0.5);
  return acc;
}

export const report = () => {
  flor.log("final", 1);
};

export function unused() {
  flor.log("never", 1);
}
`;

const modules = new Map([
  ["train.ts", entry],
  ["model.ts", model],
]);

describe("the loop level of a flor.log", () => {
  it("is that of the function's call sites in the modules that import it, by name or through a namespace", () => {
    expect(statementLevel(model, "model.ts", 4, "rows_seen", modules)).toEqual({ kind: "loop", loops: ["epoch", "step"] });
    expect(statementLevel(model, "model.ts", 8, "acc", modules)).toEqual({ kind: "loop", loops: ["epoch"] });
    expect(statementLevel(model, "model.ts", 13, "final", modules)).toEqual({ kind: "after", loop: "epoch" });
  });

  it("is unknown for a function nobody calls, or without the other modules", () => {
    expect(statementLevel(model, "model.ts", 17, "never", modules).kind).toBe("unknown");
    expect(statementLevel(model, "model.ts", 4, "rows_seen").kind).toBe("unknown");
  });

  it("follows calls within the module, and declines to guess when call sites disagree", () => {
    const code = `import { flor } from "flordb";
function step(x) {
  flor.log("x", x);
}
for (const epoch of flor.loop("epoch", 2)) step(epoch);
`;
    expect(statementLevel(code, "t.ts", 3, "x")).toEqual({ kind: "loop", loops: ["epoch"] });
    expect(statementLevel(`${code}step(9);\n`, "t.ts", 3, "x").kind).toBe("unknown");
  });
});
