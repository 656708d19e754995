import { deserialize, serialize } from "node:v8";
import { describe, expect, it } from "vitest";
import { packRows, unpackRows } from "../../src/daemon/packed-rows.js";
import type { JsonValue } from "../../src/journal/records.js";

/** Packed, sent as the daemon sends it (V8 serialization), and unpacked. */
function roundTrip(columns: string[], rows: Record<string, JsonValue>[]): Record<string, JsonValue>[] {
  return unpackRows(deserialize(serialize(packRows(columns, rows))));
}

const COLUMNS = ["vid", "epoch", "loss", "note", "mixed", "nested", "flag"];
const ROWS: Record<string, JsonValue>[] = [
  { vid: "a".repeat(40), epoch: 0, loss: 0.1, note: null, mixed: 1, nested: { k: [1, "x"] }, flag: true },
  { vid: "a".repeat(40), epoch: 1, loss: Number.NaN, note: "é\u0000☃", mixed: "one", nested: null, flag: false },
  { vid: null, epoch: 2, loss: Number.POSITIVE_INFINITY, note: "", mixed: null, nested: [1, 2], flag: null },
  { vid: "b".repeat(40), epoch: -0, loss: null, note: "x", mixed: 2.5, nested: "s", flag: true },
];

describe("rows packed by column for the daemon's socket", () => {
  it("come back as the same rows, values and types (NaN, Infinity, -0, null, text, JSON) included", () => {
    const rows = roundTrip(COLUMNS, ROWS);
    expect(rows).toEqual(ROWS);
    expect(rows.length).toBe(4);
    expect(Object.is(rows[3]!["epoch"], -0)).toBe(true);
    expect(Number.isNaN(rows[1]!["loss"])).toBe(true);
    expect(rows[2]!["loss"]).toBe(Number.POSITIVE_INFINITY);
    expect(rows[3]!["loss"]).toBeNull();
  });

  it("read as an array: index, iteration, spread, map, JSON and keys", () => {
    const rows = roundTrip(COLUMNS, ROWS);
    expect(Array.isArray(rows)).toBe(true);
    expect([...rows]).toEqual(ROWS);
    expect(rows.map((row) => row["epoch"])).toEqual([0, 1, 2, -0]);
    expect(JSON.stringify(rows)).toBe(JSON.stringify(ROWS));
    expect(Object.keys(rows)).toEqual(["0", "1", "2", "3"]);
    expect(rows[4]).toBeUndefined();
    expect(2 in rows).toBe(true);
    expect(4 in rows).toBe(false);
  });

  it("are read-only", () => {
    const rows = roundTrip(COLUMNS, ROWS);
    expect(() => {
      rows[0] = {};
    }).toThrow(/read-only/);
    expect(() => rows.push({})).toThrow(/read-only/);
  });

  it("cross as a few arrays: repeated strings once, numbers 8 bytes each", () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => ({ vid: "f".repeat(40), epoch: i % 10, loss: 1 / (i + 1) }));
    const packed = serialize(packRows(["vid", "epoch", "loss"], rows));
    expect(packed.length).toBeLessThan(100_000 * (4 + 8 + 8) + 10_000);
    expect(packed.length * 2).toBeLessThan(serialize(rows).length);
    const back = unpackRows(deserialize(packed));
    expect(back[99_999]).toEqual(rows[99_999]);
  });

  it("an empty answer", () => {
    expect(roundTrip(["a"], [])).toEqual([]);
  });
});
