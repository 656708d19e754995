import { describe, expect, it } from "vitest";
import { render, renderPieces } from "../../src/text/render-table.js";

const COLUMNS = ["vid", "epoch", "loss", "note"];
const rowsOf = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    vid: `${i % 3}`.repeat(40),
    epoch: i,
    loss: i % 7 === 0 ? null : 1 / (i + 1),
    note: i % 5 === 0 ? { at: i, text: 'a "quoted", text\n' } : `n${i}`,
  }));

describe("rendering rows", () => {
  it("json in pieces is JSON.stringify(rows, null, 2) of the rows, NaN and Infinity as strings", () => {
    const rows = [...rowsOf(4500), { vid: null, epoch: Number.NaN, loss: Number.NEGATIVE_INFINITY, note: [1, [2, { x: null }]] }];
    const text = render(COLUMNS, rows, "json");
    const expected = rows.map((row) => ({
      ...row,
      epoch: Number.isNaN(row.epoch) ? "NaN" : row.epoch,
      loss: row.loss === Number.NEGATIVE_INFINITY ? "-Infinity" : row.loss,
    }));
    expect(text).toBe(`${JSON.stringify(expected, null, 2)}\n`);
    expect(render(COLUMNS, [], "json")).toBe("[]\n");
  });

  it("a large answer comes in many pieces that join to the whole text", () => {
    const rows = rowsOf(10_000);
    for (const format of ["table", "json", "csv"] as const) {
      const pieces = [...renderPieces(COLUMNS, rows, format)];
      expect(pieces.length).toBeGreaterThan(10);
      expect(pieces.join("")).toBe(render(COLUMNS, rows, format));
    }
  });

  it("csv quotes what needs quoting; a table aligns numbers right, text left, and cuts vids when asked", () => {
    const rows = rowsOf(3);
    expect(render(COLUMNS, rows, "csv")).toBe(
      `vid,epoch,loss,note\r\n${"0".repeat(40)},0,,"{""at"":0,""text"":""a \\""quoted\\"", text\\n""}"\r\n${"1".repeat(40)},1,0.5,n1\r\n${"2".repeat(40)},2,0.3333333333333333,n2\r\n`,
    );
    expect(render(COLUMNS, rows, "table", { short: ["vid"] }).split("\n")).toEqual([
      "vid         epoch                loss  note",
      `----------  -----  ------------------  ${"-".repeat(JSON.stringify(rows[0]!.note).length)}`,
      '0000000000      0                   -  {"at":0,"text":"a \\"quoted\\", text\\n"}',
      "1111111111      1                 0.5  n1",
      "2222222222      2  0.3333333333333333  n2",
      "",
    ]);
    expect(render(["a"], [], "table")).toBe("(no rows)\n");
  });
});
