import { describe, expect, it } from "vitest";
import { encodeLogValue, scalarOf } from "../../src/journal/value-encoding.js";

const decode = (encoded: string): unknown => JSON.parse(`{${encoded}}`);

describe("log value encoding", () => {
  it("writes JSON values as they are", () => {
    expect(decode(encodeLogValue(0.25))).toEqual({ v: 0.25 });
    expect(decode(encodeLogValue(-0))).toEqual({ v: 0 });
    expect(decode(encodeLogValue(1e21))).toEqual({ v: 1e21 });
    expect(decode(encodeLogValue('quote " and \n'))).toEqual({ v: 'quote " and \n' });
    expect(decode(encodeLogValue(true))).toEqual({ v: true });
    expect(decode(encodeLogValue(null))).toEqual({ v: null });
    expect(decode(encodeLogValue({ a: [1, { b: "c" }] }))).toEqual({ v: { a: [1, { b: "c" }] } });
  });

  it("keeps non-finite numbers instead of turning them into null", () => {
    expect(decode(encodeLogValue(NaN))).toEqual({ x: "NaN" });
    expect(decode(encodeLogValue(Infinity))).toEqual({ x: "Infinity" });
    expect(decode(encodeLogValue(-Infinity))).toEqual({ x: "-Infinity" });
  });

  it("writes typed arrays, Maps, Sets and bigints as JSON", () => {
    expect(decode(encodeLogValue(new Float32Array([1.5, 2])))).toEqual({ v: [1.5, 2] });
    expect(decode(encodeLogValue({ m: new Map([["a", 1]]), s: new Set([1, 2]) }))).toEqual({ v: { m: { a: 1 }, s: [1, 2] } });
    expect(decode(encodeLogValue(12n))).toEqual({ v: 12 });
    expect(decode(encodeLogValue(2n ** 70n))).toEqual({ v: String(2n ** 70n) });
  });

  it("refuses functions and symbols with a clear message", () => {
    expect(() => encodeLogValue(() => 1)).toThrow("a function cannot be logged");
    expect(() => encodeLogValue(Symbol("s"))).toThrow("a symbol cannot be logged");
  });

  it("records loop items only when they are JSON scalars", () => {
    expect(scalarOf("a")).toBe("a");
    expect(scalarOf(3)).toBe(3);
    expect(scalarOf(NaN)).toBeUndefined();
    expect(scalarOf({ id: 1 })).toBeUndefined();
  });
});
