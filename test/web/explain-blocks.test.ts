import { describe, expect, it } from "vitest";
import { explainBlocks } from "../../web/dashboard/explain-blocks.js";

const EXPLAIN = `scope: 4 of 4 runs of train.ts (run-level predicates pushed down)

columns by code version:
vid         script    runs  val_acc   w2_norm
----------  --------  ----  --------  --------------
7da943e3e5  train.ts     1  recorded  fill by replay
ec54035b14  train.ts     1  recorded  recorded

replay: 1 tasks on 2 workers, estimated 1.0 s (1.9 s of work; re-running those runs from scratch: 2.4 s)
run                       vid         mode         iterations  estimate_s
------------------------  ----------  -----------  ----------  ----------
2026-12-05T21:13:31.709Z  7da943e3e5  checkpoints  6..7              0.48
  note for run 2026-12-05T21:13:31.709Z: something

sql:
select 1
planning: parse 1 ms
`;

describe("EXPLAIN's text as blocks", () => {
  it("reads the columns-by-version matrix and the replay tasks as tables, the rest as lines", () => {
    const blocks = explainBlocks(EXPLAIN);
    expect(blocks.filter((b) => b.kind === "table")).toEqual([
      {
        kind: "table",
        header: ["vid", "script", "runs", "val_acc", "w2_norm"],
        rows: [
          ["7da943e3e5", "train.ts", "1", "recorded", "fill by replay"],
          ["ec54035b14", "train.ts", "1", "recorded", "recorded"],
        ],
      },
      {
        kind: "table",
        header: ["run", "vid", "mode", "iterations", "estimate_s"],
        rows: [["2026-12-05T21:13:31.709Z", "7da943e3e5", "checkpoints", "6..7", "0.48"]],
      },
    ]);
    expect(blocks.filter((b) => b.kind === "text").map((b) => (b.kind === "text" ? b.text : ""))).toEqual([
      "scope: 4 of 4 runs of train.ts (run-level predicates pushed down)",
      "columns by code version:",
      "replay: 1 tasks on 2 workers, estimated 1.0 s (1.9 s of work; re-running those runs from scratch: 2.4 s)",
      "  note for run 2026-12-05T21:13:31.709Z: something",
      "sql:",
      "select 1",
      "planning: parse 1 ms",
    ]);
  });
});
