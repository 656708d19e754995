import { describe, expect, it } from "vitest";
import { mergeKeys } from "../../src/journal/dimension-keys.js";

describe("merging dimension keys", () => {
  it("keeps the order in which keys first appear", () => {
    expect(mergeKeys([], ["epoch", "step"])).toEqual(["epoch", "step"]);
    expect(mergeKeys(["epoch", "step"], ["epoch"])).toEqual(["epoch", "step"]);
    expect(mergeKeys(["epoch"], ["epoch", "epoch_value", "step"])).toEqual(["epoch", "epoch_value", "step"]);
    // Two loops side by side: the one seen first comes first, however many keys the other has.
    expect(mergeKeys(["train"], ["eval", "batch"])).toEqual(["train", "eval", "batch"]);
  });

  it("returns a new list and leaves its inputs alone", () => {
    const a = ["epoch"];
    const merged = mergeKeys(a, ["step"]);
    expect(a).toEqual(["epoch"]);
    expect(merged).not.toBe(a);
  });
});
