import { describe, expect, it } from "vitest";
import { JournalEncoder, encodeCheckpoint, encodeCheckpointCheck, encodeRecord } from "../../src/journal/encode.js";
import { PINNED } from "./pinned-records.js";

describe("journal encoding", () => {
  it("writes each record kind exactly as journals always have", () => {
    for (const [record, line] of PINNED) expect(encodeRecord(record)).toBe(line);
  });

  it("covers every record kind in the pinned lines", () => {
    expect(new Set(PINNED.map(([record]) => record.k))).toEqual(
      new Set(["run", "arg", "ctx", "it", "its", "log", "ckpt", "ckcheck", "ckpolicy", "loop", "end", "replay", "phase"]),
    );
  });

  it("writes the same bytes on the hot path as encodeRecord, with each name's JSON cached", () => {
    const encoder = new JournalEncoder();
    for (const [record, line] of PINNED) {
      if (record.k === "log") expect(encoder.log(record.c, record.n, record.v)).toBe(line);
      if (record.k === "ctx") expect(encoder.context(record.id, record.p, record.n, record.i, record.v)).toBe(line);
      if (record.k === "its") expect(encoder.iterationTimes(record.id, record.s)).toBe(line);
    }
    // A second use of a name reads the cache and must not change the line.
    expect(encoder.log(2, "loss", 0.25)).toBe('{"k":"log","c":2,"n":"loss","v":0.25}\n');
  });

  it("writes -0 as 0, and NaN and ±Infinity nested in objects as null, as JSON does", () => {
    const encoder = new JournalEncoder();
    expect(encoder.log(1, "z", -0)).toBe('{"k":"log","c":1,"n":"z","v":0}\n');
    expect(encoder.log(1, "o", { a: NaN, b: [Infinity, -0] })).toBe('{"k":"log","c":1,"n":"o","v":{"a":null,"b":[null,0]}}\n');
  });

  it("writes what the SDK may log beyond JSON: typed arrays, Maps, Sets, bigints and undefined", () => {
    const encoder = new JournalEncoder();
    expect(encoder.log(1, "t", { m: new Map([["k", 1]]), s: new Set([1]), t: new Float32Array([0.5]), big: 2n ** 70n })).toBe(
      '{"k":"log","c":1,"n":"t","v":{"m":{"k":1},"s":[1],"t":[0.5],"big":"1180591620717411303424"}}\n',
    );
    expect(encoder.log(1, "b", 12n)).toBe('{"k":"log","c":1,"n":"b","v":12}\n');
    expect(encoder.log(1, "u", undefined)).toBe('{"k":"log","c":1,"n":"u","v":null}\n');
    expect(() => encoder.log(1, "f", () => 1)).toThrow("a function cannot be logged");
  });

  it("keeps the checkpoint encoder self-contained: the checkpoint thread runs its source", () => {
    const record = { k: "ckpt", c: 3, o: { m: "ab" }, b: 10, w: 10, s: 0.1 } as const;
    const fromSource: unknown = new Function(`return (${encodeCheckpoint.toString()})`)()(record);
    expect(fromSource).toBe(encodeRecord(record));
    const check = { k: "ckcheck", c: 3, ok: false, o: "m", p: ".w", r: "is lost" } as const;
    expect(new Function(`return (${encodeCheckpointCheck.toString()})`)()(check)).toBe(encodeRecord(check));
  });
});
