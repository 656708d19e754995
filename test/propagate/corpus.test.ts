import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { propagate } from "../../src/propagate/propagate.js";
import { FIXTURES } from "../helpers/repo.js";

const corpus = path.join(FIXTURES, "propagation");
const cases = readdirSync(corpus, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

/** A case's files: new.<ext>, old.<ext>, expected.<ext>; the extension picks the parser (.ts, .tsx, .js). */
function caseFiles(name: string) {
  const extension = path.extname(readdirSync(path.join(corpus, name)).find((f) => f.startsWith("new."))!);
  const read = (file: string): string => readFileSync(path.join(corpus, name, file), "utf8");
  return { read, extension, newCode: read(`new${extension}`), oldCode: read(`old${extension}`), filename: `train${extension}` };
}

describe("the propagation corpus", () => {
  it.each(cases)("%s", (name) => {
    const { read, extension, newCode, oldCode, filename } = caseFiles(name);
    const expectation = JSON.parse(read("case.json")) as { expect: "inject" | "decline" | "present"; reason?: string };
    const report = propagate(newCode, oldCode, { filename });
    switch (expectation.expect) {
      case "inject":
        expect(report.declined).toEqual([]);
        expect(report.injected.length).toBeGreaterThan(0);
        expect(report.code).toBe(read(`expected${extension}`));
        break;
      case "decline":
        expect(report.injected).toEqual([]);
        expect(report.code).toBe(oldCode);
        expect(report.declined.length).toBeGreaterThan(0);
        for (const declined of report.declined) expect(declined.reason).toContain(expectation.reason ?? "");
        break;
      case "present":
        expect(report.injected).toEqual([]);
        expect(report.declined).toEqual([]);
        expect(report.code).toBe(oldCode);
        break;
    }
  });

  it("changes no line of the old version: removing the injected lines gives it back byte for byte", () => {
    for (const name of cases) {
      const { newCode, oldCode, filename } = caseFiles(name);
      const report = propagate(newCode, oldCode, { filename });
      const lines = report.code.split("\n");
      const injectedLines = new Set<number>();
      for (const { line, endLine, helpers } of report.injected) {
        for (const range of [{ line, endLine }, ...helpers]) for (let i = range.line; i <= range.endLine; i++) injectedLines.add(i - 1);
      }
      expect(lines.filter((_, i) => !injectedLines.has(i)).join("\n"), name).toBe(oldCode);
    }
  });

  it("reports where each statement went, with the renames it made", () => {
    const read = (file: string): string => readFileSync(path.join(corpus, "19-shorthand-property-renamed", file), "utf8");
    const report = propagate(read("new.ts"), read("old.ts"), { filename: "train.ts" });
    expect(report.injected).toEqual([
      { name: "stats", fromLine: 10, form: "statement", line: 10, endLine: 13, renamed: { lr: "rate" }, helpers: [] },
    ]);
    expect(report.present).toEqual([{ name: "loss", fromLine: 9, line: 9 }]);
    expect(report.code.split("\n")[9]).toBe('    flor.log("stats", {');
  });

  it("brings the statements that compute a logged value, each to its own place", () => {
    const read = (file: string): string => readFileSync(path.join(corpus, "20-helper-statements", file), "utf8");
    const report = propagate(read("new.ts"), read("old.ts"), { filename: "train.ts" });
    expect(report.injected).toEqual([
      {
        name: "g",
        fromLine: 7,
        form: "statement",
        line: 7,
        endLine: 7,
        renamed: {},
        helpers: [{ text: "const g = norm(model);", line: 4, endLine: 4 }],
      },
      {
        name: "h",
        fromLine: 8,
        form: "statement",
        line: 8,
        endLine: 8,
        renamed: {},
        helpers: [{ text: "const h = g * 2;", line: 5, endLine: 5 }],
      },
    ]);
  });

  it("propagates only the names asked for", () => {
    const read = (file: string): string => readFileSync(path.join(corpus, "03-renamed-several", file), "utf8");
    expect(propagate(read("new.ts"), read("old.ts"), { names: ["nothing"] }).injected).toEqual([]);
    expect(propagate(read("new.ts"), read("old.ts"), { names: ["grad_norm"] }).injected.map((i) => i.name)).toEqual(["grad_norm"]);
  });

  it("says where a version cannot be parsed", () => {
    expect(() => propagate("flor.log('x', 1);", "const = 3;", { filename: "old.ts" })).toThrow(/cannot parse old\.ts at line 1, column 7/);
  });
});
