import { describe, expect, it } from "vitest";
import { BadLine, decodeRecord } from "../../src/journal/decode.js";
import { encodeRecord } from "../../src/journal/encode.js";
import type { JournalRecord } from "../../src/journal/records.js";
import { PINNED } from "./pinned-records.js";

/** The line without its newline, as readers hand it to decodeRecord. */
const bare = (line: string): string => line.slice(0, -1);

const decoded = (line: string): JournalRecord => {
  const record = decodeRecord(line);
  if (record instanceof BadLine) throw new Error(`${line}: ${record.reason}`);
  return record;
};

const rejection = (line: string): BadLine => {
  const record = decodeRecord(line);
  if (!(record instanceof BadLine)) throw new Error(`${line} was accepted as ${JSON.stringify(record)}`);
  return record;
};

describe("journal decoding", () => {
  it("reads back every record kind as it was written, and re-encodes it to the same bytes", () => {
    for (const [record, line] of PINNED) {
      expect(decoded(bare(line))).toEqual(record);
      expect(encodeRecord(decoded(bare(line)))).toBe(line);
    }
  });

  it("round-trips NaN, ±Infinity, -0 (as 0) and nested values", () => {
    const values = [NaN, Infinity, -Infinity, 0, -1.5e-300, 1e21, "", 'ü\u2028"\\', true, null, [], {}, [1, [2, [3, { a: [null] }]]]];
    for (const v of values) {
      const record = decoded(bare(encodeRecord({ k: "log", c: 7, n: "v", v })));
      expect(record).toEqual({ k: "log", c: 7, n: "v", v });
      if (record.k === "log" && typeof v === "number") expect(Object.is(record.v, v)).toBe(true);
    }
    const zero = decoded(bare(encodeRecord({ k: "log", c: null, n: "z", v: -0 })));
    expect(zero.k === "log" && Object.is(zero.v, 0)).toBe(true);
    const nested = decoded(bare(encodeRecord({ k: "log", c: null, n: "o", v: { nan: NaN, list: [Infinity, -0] } })));
    expect(nested).toEqual({ k: "log", c: null, n: "o", v: { nan: null, list: [null, 0] } });
  });

  it("reads log lines the encoder writes without JSON.parse, and any other spelling through it, alike", () => {
    for (const line of [
      '{"k":"log","c":12,"n":"loss","v":0.25}',
      '{"k":"log","c":null,"n":"ü","v":-1.5e-300}',
      '{"k":"log","c":0,"n":"","v":0}',
      '{"k":"log","c":3,"n":"a\\"b","v":1}',
      '{"k":"log","c":3,"n":"x","v":1,"extra":2}',
      '{"k":"log","c":3, "n":"x","v":1}',
      '{"k":"log","c":3,"n":"x","v":01}',
      '{"k":"log","c":3,"n":"x","v":1.}',
      '{"k":"log","c":3,"n":"x","v":-}',
      '{"k":"log","c":3,"n":"x","v":1e}',
      '{"k":"log","c":3,"n":"x","v":"1"}',
      '{"k":"log","c":1.5,"n":"x","v":1}',
      '{"k":"log","c":012,"n":"x","v":1}',
    ]) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      const record = decodeRecord(line);
      if (parsed === undefined) expect(record instanceof BadLine && record.unreadable, line).toBe(true);
      else if (record instanceof BadLine) expect(Number.isInteger((parsed as { c: unknown }).c), line).toBe(false);
      else
        expect(record, line).toEqual({
          k: "log",
          c: (parsed as { c: number }).c,
          n: (parsed as { n: string }).n,
          v: (parsed as { v: number }).v,
        });
    }
  });

  it("ignores fields it does not know and drops a wire-only spelling of the value", () => {
    expect(decoded('{"k":"it","id":3,"s":0.5,"extra":[1]}')).toEqual({ k: "it", id: 3, s: 0.5 });
    expect(decoded('{"k":"log","c":null,"n":"x","x":"NaN","v":1}')).toEqual({ k: "log", c: null, n: "x", v: NaN });
  });

  it("reads an arg whose value JSON could not spell (an undefined default) as null", () => {
    expect(decoded('{"k":"arg","n":"opt","src":"default"}')).toEqual({ k: "arg", n: "opt", v: null, src: "default" });
  });

  it("calls a torn or non-JSON line unreadable", () => {
    for (const line of ['{"k":"log","c":1,"n":"fitness",', "this is not a journal", '{"k":"it","id":3,"s":0.5}}']) {
      const bad = rejection(line);
      expect(bad.unreadable).toBe(true);
      expect(bad.reason).toMatch(/^not valid JSON \(/);
    }
    for (const line of ["[1,2]", "42", '"run"', "null"]) expect(rejection(line)).toEqual(new BadLine("not a JSON object", true));
  });

  it("rejects JSON objects that are not valid records, saying why", () => {
    const cases: [string, string][] = [
      ['{"k":"mystery"}', 'unknown record kind "mystery"'],
      ['{"c":1}', "unknown record kind undefined"],
      ['{"k":"log","c":"1","n":"x","v":1}', 'a log record needs a name "n" and a context "c"'],
      ['{"k":"log","c":1.5,"n":"x","v":1}', 'a log record needs a name "n" and a context "c"'],
      ['{"k":"log","c":1,"v":1}', 'a log record needs a name "n" and a context "c"'],
      ['{"k":"log","c":1,"n":"x"}', 'a log record needs a value "v" (or "x" for NaN and ±Infinity)'],
      ['{"k":"log","c":1,"n":"x","x":"nan"}', 'a log record\'s "x" must be "NaN", "Infinity" or "-Infinity", got "nan"'],
      ['{"k":"ctx","id":1,"p":null,"n":"e"}', 'a ctx record needs integer "id", "i", a parent "p" and a name "n"'],
      ['{"k":"ctx","id":1,"n":"e","i":0}', 'a ctx record needs integer "id", "i", a parent "p" and a name "n"'],
      [
        '{"k":"ctx","id":1,"p":null,"n":"e","i":0,"v":{"id":1}}',
        'a ctx record\'s item "v" must be a string, number or boolean, got {"id":1}',
      ],
      ['{"k":"it","id":1}', 'an it record needs an integer "id" and seconds "s"'],
      ['{"k":"arg","v":1,"src":"default"}', 'an arg record needs a name "n"'],
      ['{"k":"arg","n":"lr","v":1,"src":"cli"}', 'an arg record\'s source "src" must be "default" or "kwargs", got "cli"'],
      ['{"k":"ckpt","c":1,"o":[],"b":1,"w":1,"s":0}', 'a ckpt record needs "c", "o", "b" and "s"'],
      ['{"k":"ckpt","c":1,"o":{},"b":1,"s":0}', 'a ckpt record needs the bytes written "w"'],
      ['{"k":"ckpt","c":1,"o":{"model":7},"b":1,"w":1,"s":0}', 'a ckpt record\'s object "model" needs a content hash, got 7'],
      ['{"k":"ckcheck","c":1}', 'a ckcheck record needs "c" and "ok"'],
      ['{"k":"ckcheck","c":1,"ok":false,"o":"m","r":"x"}', 'a failed ckcheck record needs the object "o", the path "p" and the reason "r"'],
      [
        '{"k":"ckpolicy","max":"1%","taken":1,"skipped":0,"fg":0,"bg":0,"loop":1}',
        'a ckpolicy record needs the bound "max" (a fraction, or null)',
      ],
      [
        '{"k":"ckpolicy","max":null,"taken":1.5,"skipped":0,"fg":0,"bg":0,"loop":1}',
        'a ckpolicy record needs integer "taken" and "skipped"',
      ],
      ['{"k":"ckpolicy","max":null,"taken":1,"skipped":0,"fg":0,"loop":1}', 'a ckpolicy record needs seconds "fg", "bg" and "loop"'],
      ['{"k":"loop","c":null,"n":"e","count":2.5,"t0":0,"s":1}', 'a loop record needs "c", "n", "count" and "s"'],
      ['{"k":"loop","c":null,"n":"e","count":2,"s":1}', 'a loop record needs its start "t0"'],
      ['{"k":"end","status":"killed","exit":null,"s":1}', 'an end record\'s status must be "ok" or "failed", got "killed"'],
      ['{"k":"end","status":"ok","exit":"0","s":1}', 'an end record needs seconds "s" and an exit code "exit" (or null)'],
      ['{"k":"end","status":"failed","exit":1,"s":1,"error":{}}', 'an end record\'s "error" must be a string, got {}'],
      ['{"k":"phase","p":"before"}', 'a phase record\'s "p" must be "loop" or "after", got "before"'],
    ];
    for (const [line, reason] of cases) expect(rejection(line)).toEqual(new BadLine(reason, false));
  });

  it("rejects run and replay headers of another format, or without what readers need", () => {
    const run: Record<string, unknown> = { ...PINNED.find(([r]) => r.k === "run")![0] };
    const replay: Record<string, unknown> = { ...PINNED.find(([r]) => r.k === "replay")![0] };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...run, format: 3 }, "a run header of journal format 3; this flordb reads formats 1 and 2"],
      [{ ...run, format: undefined }, "a run header of journal format undefined; this flordb reads formats 1 and 2"],
      [{ ...run, tstamp: "yesterday" }, 'a run header needs the run\'s start "tstamp" (an ISO-8601 time)'],
      [{ ...run, filename: undefined }, 'a run header needs the project "projid" and the script "filename"'],
      [{ ...run, vid: 7 }, 'a run header needs the code version "vid" (or null)'],
      [{ ...run, pid: "123" }, 'a run header needs the process id "pid", "host" and "node" version'],
      [{ ...run, argv: ["a", 1] }, 'a run header needs the script arguments "argv" (strings)'],
      [{ ...run, imp: -1 }, 'a run header\'s import seconds "imp" must be a number ≥ 0, got -1'],
      [{ ...replay, format: 0 }, "a replay header of format 0; this flordb reads formats 1 and 2"],
      [{ ...replay, task: null }, 'a replay header needs integer "job", "task" and "attempt"'],
      [{ ...replay, names: "w1" }, 'a replay header needs the asked-for log "names" (strings)'],
      [{ ...replay, loop: { name: "round" } }, 'a replay header\'s "loop" must be null or a loop "name" with its "iterations"'],
      [{ ...replay, segments: [[4, 8, 9]] }, "a replay header's segment must be [from, to], got [4,8,9]"],
      [{ ...replay, segments: null }, 'a replay header needs iteration "segments"'],
      [{ ...replay, after: 1 }, 'a replay header needs booleans "before" and "after"'],
      [{ ...replay, host: undefined }, 'a replay header needs the process id "pid", "host" and "node" version'],
    ];
    for (const [header, reason] of cases) expect(rejection(JSON.stringify(header))).toEqual(new BadLine(reason, false));
  });
});
