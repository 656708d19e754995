import type { Statement } from "@babel/types";
import { describe, expect, it } from "vitest";
import { parseSource } from "../../src/propagate/parse-source.js";
import { freeIdentifiers } from "../../src/propagate/scope.js";

/** The free names of the last statement of `code`, in order. */
function free(code: string): string[] {
  const file = parseSource(code, "scope.ts");
  const last = file.program.body.at(-1) as Statement;
  return freeIdentifiers(file, last).map((r) => r.name);
}

describe("free identifiers of a statement", () => {
  it("leaves out method parameters and names, in objects and classes", () => {
    expect(free('flor.log("x", { f(a) { return a + 1 } });')).toEqual(["flor"]);
    expect(free('flor.log("x", class { m(p: number) { return p + this.q } });')).toEqual(["flor"]);
  });

  it("leaves out catch parameters, labels, loop heads, inner functions and types", () => {
    expect(free("try { run() } catch (e) { report(e) }")).toEqual(["run", "report"]);
    expect(free("outer: for (const w of ws) { if (w) continue outer; total += w }")).toEqual(["ws", "total"]);
    expect(free("const y = (function g(n: number): number { return n ? g(n - 1) : base })(3) as Result<number>;")).toEqual(["base"]);
  });

  it("keeps what the statement reads from outside, and says what it writes and what is global", () => {
    const file = parseSource(
      "let sq = 0;\nconst model = { W: [1] };\nfor (const w of model.W) { sq += w * w; console.log(sq) }",
      "scope.ts",
    );
    const loop = file.program.body[2]!;
    expect(freeIdentifiers(file, loop).map(({ name, written, global }) => [name, written, global])).toEqual([
      ["model", false, false],
      ["sq", true, false],
      ["console", false, true],
      ["sq", false, false],
    ]);
  });

  it("marks a shorthand property, whose key must stay when its value is renamed", () => {
    const file = parseSource("const lr = 1;\nflor.log('cfg', { lr });", "scope.ts");
    expect(freeIdentifiers(file, file.program.body[1]!).map((r) => [r.name, r.shorthand])).toEqual([
      ["flor", false],
      ["lr", true],
    ]);
  });
});
