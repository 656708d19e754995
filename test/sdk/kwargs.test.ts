import { describe, expect, it } from "vitest";
import { FlorUsageError } from "../../src/errors.js";
import { castToDefault, parseKwargs } from "../../src/sdk/kwargs.js";

describe("--kwargs", () => {
  it("reads name=value pairs up to the next option", () => {
    expect([...parseKwargs(["--data", "x", "--kwargs", "lr=0.1", "name=a=b", "--verbose"])]).toEqual([
      ["lr", "0.1"],
      ["name", "a=b"],
    ]);
    expect(parseKwargs(["train.ts"]).size).toBe(0);
  });

  it("refuses a pair without a name", () => {
    expect(() => parseKwargs(["--kwargs", "lr"])).toThrow(FlorUsageError);
    expect(() => parseKwargs(["--kwargs", "=3"])).toThrow(/expects name=value/);
  });

  it("casts to the type of the default", () => {
    expect(castToDefault("lr", "0.5", 0.1)).toBe(0.5);
    expect(castToDefault("epochs", "1e3", 10)).toBe(1000);
    expect(castToDefault("shuffle", "No", true)).toBe(false);
    expect(castToDefault("shuffle", "y", false)).toBe(true);
    expect(castToDefault("name", "42", "x")).toBe("42");
    expect(castToDefault("layers", "[64, 32]", [16])).toEqual([64, 32]);
    expect(castToDefault("note", "hello", null)).toBe("hello");
  });

  it("says what was expected when a value does not fit", () => {
    expect(() => castToDefault("lr", "fast", 0.1)).toThrow("--kwargs lr=fast: expected a number (the default of lr is 0.1)");
    expect(() => castToDefault("shuffle", "maybe", true)).toThrow(/expected true or false/);
    expect(() => castToDefault("layers", "[64", [16])).toThrow(/expected JSON/);
    // Decimal notation only: Number() would read these as 16, 1 and 7 (issue 13).
    for (const text of ["0x10", "0b1", "0o7", "1_000", "infinity"])
      expect(() => castToDefault("lr", text, 0.1)).toThrow(/expected a number/);
  });

  it("keeps NaN and the infinities, as Python's float() does", () => {
    expect(castToDefault("n", "NaN", 1)).toBeNaN();
    expect(castToDefault("n", "1e999", 1)).toBe(Infinity);
    expect(castToDefault("lr", "-Infinity", 0.1)).toBe(-Infinity);
    expect(castToDefault("lr", " 2.5 ", 0.1)).toBe(2.5);
  });
});
