import * as v8 from "node:v8";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { captureParts, captureState, restoreState } from "../../src/checkpoints/object-state.js";
import { restoreInPlace } from "../../src/checkpoints/restore-in-place.js";
import { roundTripProblem } from "../../src/checkpoints/round-trip.js";

describe("restoring plain data in place", () => {
  it("keeps the target's containers, its cycles and its sharing", () => {
    const shared = new Float64Array([1, 2]);
    const target: Record<string, unknown> = { w: shared, again: shared, list: [1, { n: 1 }], table: new Map([["a", 1]]) };
    target["self"] = target;
    const saved = v8.deserialize(v8.serialize(target)) as Record<string, unknown>;
    (saved["w"] as Float64Array)[0] = 7;
    (saved["list"] as unknown[])[0] = 5;
    const list = target["list"];
    restoreInPlace(target, saved);
    expect(target["self"]).toBe(target);
    expect(target["w"]).toBe(shared);
    expect(target["again"]).toBe(shared);
    expect([...shared]).toEqual([7, 2]);
    expect(target["list"]).toBe(list);
    expect(target["list"]).toEqual([5, { n: 1 }]);
  });

  it("restores a saved __proto__ key as an own property, never as the prototype", () => {
    const target: Record<string, unknown> = {};
    restoreInPlace(target, JSON.parse('{"__proto__": {"polluted": true}, "x": 1}'));
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.keys(target)).toEqual(["__proto__", "x"]);
  });
});

describe("the round trip of a first checkpoint", () => {
  it("passes plain data, cycles and shared containers included", () => {
    const state: Record<string, unknown> = { w: new Float32Array(3000).fill(0.5), tags: new Set(["x"]), at: new Date(0) };
    state["self"] = state;
    state["alias"] = state["w"];
    expect(roundTripProblem("state", captureState("state", state), true, v8, restoreInPlace)).toBeNull();
  });

  it("names the path where what is restored differs from what was saved", () => {
    const bytes = captureState("state", { layers: [{ kernel: [1, 2], bias: [0] }] });
    const losesBias = (target: object, saved: unknown) => {
      restoreInPlace(target, saved);
      delete ((target as { layers: Record<string, unknown>[] }).layers[0] as Record<string, unknown>)["bias"];
    };
    expect(roundTripProblem("state", bytes, true, v8, losesBias)).toEqual({
      object: "state",
      path: ".layers[0].bias",
      reason: "is lost when restored",
    });
    const unshares = (target: object, saved: unknown) => {
      restoreInPlace(target, saved);
      const t = target as Record<string, number[]>;
      t["b"] = [...t["a"]!];
    };
    const shared = [1];
    expect(roundTripProblem("s", captureState("s", { a: shared, b: shared }), true, v8, unshares)).toMatchObject({
      path: ".b",
      reason: "is shared with another place of the state, but restores as a separate copy",
    });
    expect(roundTripProblem("s", new Uint8Array([0xff, 0x0f, 0x6f]), true, v8, restoreInPlace)).toMatchObject({
      path: "",
      reason: expect.stringMatching(/^cannot be restored from its checkpoint: /),
    });
  });
});

describe("capturing a state for the checkpoint thread", () => {
  it("writes exactly what v8.serialize writes, with large typed arrays left as views of the live memory", () => {
    const weights = new Float64Array(10_000).map((_, i) => i);
    const state = {
      weights,
      head: weights.subarray(0, 1000),
      bytes: Buffer.alloc(5000, 7),
      small: new Int8Array(3),
      nested: [{ weights }],
    };
    const captured = captureParts("model", state, true);
    if ("reason" in captured) throw new Error(captured.reason);
    expect(Buffer.concat(captured.parts)).toEqual(v8.serialize(state));
    expect(captured.parts.some((part) => part.buffer === weights.buffer)).toBe(true);
    expect(captured.inPlace).toBe(true);
  });

  it("serialises any plain data as v8.serialize does", () => {
    const typed = fc.oneof(
      fc.float64Array({ maxLength: 1200 }),
      fc.int32Array({ maxLength: 2000 }),
      fc.uint8Array({ maxLength: 9000 }).map((bytes) => Buffer.from(bytes)),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        fc.double(),
        fc.string(),
        fc.boolean(),
        typed,
        fc.array(tie("node"), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie("node"), { maxKeys: 4 }),
      ),
    }));
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value.node, { maxKeys: 5 }), (state) => {
        const captured = captureParts("state", state, false);
        if ("reason" in captured) throw new Error(captured.reason);
        const bytes = Buffer.concat(captured.parts);
        expect(bytes).toEqual(v8.serialize(state));
        expect(roundTripProblem("state", bytes, true, v8, restoreInPlace)).toBeNull();
        const copy = v8.deserialize(bytes) as object;
        restoreState(copy, bytes);
        expect(copy).toEqual(state);
      }),
      { numRuns: 150 },
    );
  });

  it("finds at the first checkpoint what a checkpoint would lose, with the path inside the object", () => {
    class Handle {
      dataId = {};
      dataSync(): number[] {
        return [];
      }
      arraySync(): number[] {
        return [];
      }
    }
    const model = { stateDict: () => ({ layers: [{ kernel: new Handle() }] }), loadStateDict: () => undefined };
    expect(captureParts("model", model, true)).toMatchObject({
      object: "model",
      path: ".stateDict().layers[0].kernel",
      reason: expect.stringMatching(/^is a TensorFlow\.js tensor \(Handle\).*a checkpoint would hold its handle, not its values/),
    });
    // Not checked at later checkpoints: the class instance is saved as its fields.
    expect(captureParts("model", model, false)).toHaveProperty("parts");

    const withGetter = {
      step: 1,
      get lr() {
        return 0.1;
      },
    };
    expect(captureParts("state", withGetter, true)).toMatchObject({
      path: ".lr",
      reason: expect.stringMatching(/^is a getter without a setter/),
    });
    const hidden = Object.defineProperty({ a: 1 }, "step", { value: 3, enumerable: false });
    expect(captureParts("state", hidden, true)).toMatchObject({
      path: ".step",
      reason: "is not enumerable, which a checkpoint does not save",
    });
    const keyed = new Map([[{ id: 1 }, 2]]);
    expect(captureParts("index", keyed, true)).toMatchObject({ path: ".keys()[0]", reason: expect.stringMatching(/^is an object key/) });
    const later: Record<string, unknown> = { step: 0, callback: () => 1 };
    expect(captureParts("later", later, true)).toMatchObject({ path: ".callback", reason: expect.stringMatching(/^is a function/) });
    expect(captureParts("later", later, false)).toMatchObject({ path: "", reason: expect.stringMatching(/^cannot be serialised: /) });
    const throwing = {
      stateDict: () => {
        throw new Error("not ready");
      },
      loadStateDict: () => undefined,
    };
    expect(captureParts("model", throwing, true)).toEqual({ object: "model", path: ".stateDict()", reason: "throws: not ready" });
  });
});
