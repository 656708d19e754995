import { describe, expect, it } from "vitest";
import { parseArgFilters } from "../../web/dashboard/arg-filters.js";

describe("argument filters typed in the runs view", () => {
  it("reads comparisons of numbers and JSON equality", () => {
    expect(parseArgFilters("lr>=0.01, hidden=32 opt=adam lr<1")).toEqual([
      { name: "lr", gte: 0.01 },
      { name: "hidden", value: 32 },
      { name: "opt", value: "adam" },
      { name: "lr", lt: 1 },
    ]);
    expect(parseArgFilters("  ")).toEqual([]);
  });

  it("says what is wrong with a condition it cannot read", () => {
    expect(() => parseArgFilters("lr")).toThrow('"lr" is not a condition such as lr>=0.01 or hidden=32');
    expect(() => parseArgFilters("lr>=abc")).toThrow('"lr>=abc": >= compares numbers, and abc is not one');
  });
});
