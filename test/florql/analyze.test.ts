import { describe, expect, it } from "vitest";
import type { NameRef } from "../../src/florql/ast.js";
import { namesIn } from "../../src/florql/evaluate.js";
import { printExpression } from "../../src/florql/print.js";
import { analyzeText, CATALOG, florqlError } from "./florql-helpers.js";

/** Every name of the query's outputs, WHERE, GROUP BY and ORDER BY with what it resolved to, as `name: kind`. */
function meanings(text: string): string[] {
  const analyzed = analyzeText(text);
  const refs: NameRef[] = [
    ...analyzed.outputs.flatMap((o) => namesIn(o.expression)),
    ...(analyzed.query.where === null ? [] : namesIn(analyzed.query.where)),
    ...analyzed.query.groupBy.flatMap(namesIn),
    ...analyzed.query.orderBy.filter((item) => !analyzed.orderAliases.has(item)).flatMap((item) => namesIn(item.expression)),
  ];
  return refs.map((ref) => {
    const meaning = analyzed.resolved.get(ref)!;
    const detail = meaning.kind === "loop" && meaning.valueOf !== null ? ` of ${meaning.valueOf}` : "";
    return `${printExpression(ref)}: ${meaning.kind}${detail}${meaning.kind === "log" && meaning.hindsight ? " (hindsight)" : ""}`;
  });
}

describe("name resolution", () => {
  it("resolves run dimensions, loop dimensions, item values, args, logs and hindsight logs", () => {
    expect(meanings("SELECT projid, tstamp, filename, vid, status, epoch, step, loss, fold, fold_value, score, lr, grad_norm")).toEqual([
      "projid: run",
      "tstamp: run",
      "filename: run",
      "vid: run",
      "status: run",
      "epoch: loop",
      "step: loop",
      "loss: log",
      "fold: loop",
      "fold_value: loop of fold",
      "score: log",
      "lr: arg",
      "grad_norm: log (hindsight)",
    ]);
  });

  it("settles a clash with a namespace, and resolves names in backquotes", () => {
    expect(meanings("SELECT arg.momentum, log.momentum, `val/acc`, run.vid, loop.epoch WHERE log.acc > 0")).toEqual([
      "arg.momentum: arg",
      "log.momentum: log",
      "`val/acc`: log",
      "run.vid: run",
      "loop.epoch: loop",
      "log.acc: log",
    ]);
  });

  it("reports an ambiguous name with the ways to write it", () => {
    const error = florqlError(() => analyzeText("SELECT lr,\n  momentum"));
    expect(error).toMatchObject({
      code: "FQL021",
      summary: "`momentum` is both an arg and a log",
      hint: "write arg.momentum or log.momentum",
      span: { line: 2, column: 3, offset: 13, length: 8 },
    });
  });

  it("reports an unknown name with the closest known one, also under a namespace", () => {
    expect(florqlError(() => analyzeText("SELECT los"))).toMatchObject({
      code: "FQL020",
      summary: "no run dimension, loop, arg or log is named `los`",
      hint: "did you mean `loss`?",
      span: { line: 1, column: 8, length: 3 },
    });
    expect(florqlError(() => analyzeText("SELECT arg.loss"))).toMatchObject({ code: "FQL020", summary: "no arg is named `loss`" });
    expect(florqlError(() => analyzeText("SELECT run.epoch"))).toMatchObject({
      code: "FQL020",
      summary: "no run dimension is named `epoch`",
    });
    expect(florqlError(() => analyzeText("SELECT loss WHERE log.lr > 1"))).toMatchObject({
      code: "FQL020",
      summary: "no log is named `lr`",
      span: { column: 19 },
    });
    // `x_value` is an item value only for a loop over items.
    expect(florqlError(() => analyzeText("SELECT loss, epoch_value")).code).toBe("FQL020");
  });

  it("resolves names in WHERE, GROUP BY and ORDER BY, but not an ORDER BY alias", () => {
    expect(meanings("SELECT opt, max(acc) AS best WHERE lr < 0.1 GROUP BY opt ORDER BY best, opt")).toEqual([
      "opt: arg",
      "acc: log",
      "lr: arg",
      "opt: arg",
      "opt: arg",
    ]);
    const analyzed = analyzeText("SELECT acc AS a ORDER BY a DESC");
    expect([...analyzed.orderAliases.values()]).toEqual([0]);
  });

  it("collects the pivot: log names by first use, their dimensions in order, and the args", () => {
    const analyzed = analyzeText("SELECT acc, opt, step, loss WHERE lr > 0 AND final IS NOT NULL ORDER BY acc");
    expect(analyzed.logs.map((l) => [l.name, l.dims])).toEqual([
      ["acc", ["epoch"]],
      ["loss", ["epoch", "step"]],
      ["final", []],
    ]);
    expect(analyzed.dims).toEqual(["epoch", "step"]);
    expect(analyzed.args).toEqual(["opt", "lr"]);
    expect(analyzeText("SELECT grad_norm").logs).toEqual([{ name: "grad_norm", dims: ["epoch", "step"], hindsight: true }]);
  });

  it("selects the run dimensions, args and values logged outside loops for SELECT *", () => {
    const analyzed = analyzeText("SELECT *");
    expect(analyzed.outputs.map((o) => o.label)).toEqual([
      "projid",
      "tstamp",
      "filename",
      "vid",
      "lr",
      "momentum",
      "opt",
      "final",
      "momentum",
    ]);
    expect(analyzed.outputs.map((o) => printExpression(o.expression))).toEqual([
      "run.projid",
      "run.tstamp",
      "run.filename",
      "run.vid",
      "arg.lr",
      "arg.momentum",
      "arg.opt",
      "log.final",
      "log.momentum",
    ]);
  });

  it("labels outputs by alias or by their text", () => {
    expect(analyzeText("SELECT loss AS l, -(acc),  lr*2").outputs.map((o) => o.label)).toEqual(["l", "-acc", "lr * 2"]);
  });

  it("refuses a loop dimension that no selected value carries", () => {
    expect(florqlError(() => analyzeText("SELECT acc WHERE step = 1"))).toMatchObject({
      code: "FQL022",
      summary: "no value in this query is logged per `step`",
      hint: "the query's values have the dimensions epoch",
      span: { column: 18 },
    });
    expect(florqlError(() => analyzeText("SELECT lr, epoch"))).toMatchObject({
      code: "FQL022",
      hint: "select a value logged inside that loop",
    });
    expect(florqlError(() => analyzeText("SELECT final, fold_value"))).toMatchObject({
      summary: "no value in this query is logged per `fold`",
      hint: "the query's values have the dimensions (none)",
    });
  });

  it("checks FROM against the scripts runs ran", () => {
    expect(analyzeText("SELECT loss FROM ./train.ts").filename).toBe("train.ts");
    expect(analyzeText("SELECT loss").filename).toBeNull();
    expect(florqlError(() => analyzeText("SELECT loss FROM trian.ts"))).toMatchObject({
      code: "FQL025",
      summary: "no run ran trian.ts",
      hint: "did you mean `train.ts`?",
      span: { column: 18, length: 8 },
    });
    expect(florqlError(() => analyzeText("SELECT loss FROM other/x.ts"))).toMatchObject({ hint: "scripts: train.ts, eval.ts" });
    expect(florqlError(() => analyzeText("SELECT loss FROM train.ts", { ...CATALOG, scripts: [] }))).toMatchObject({
      hint: "no runs are recorded yet",
    });
  });
});

describe("aggregates and GROUP BY", () => {
  it("groups when there is a GROUP BY or an aggregate in SELECT or ORDER BY, not otherwise", () => {
    expect(analyzeText("SELECT loss, acc").aggregated).toBe(false);
    expect(analyzeText("SELECT count(*)").aggregated).toBe(true);
    expect(analyzeText("SELECT opt GROUP BY opt").aggregated).toBe(true);
    expect(analyzeText("SELECT opt GROUP BY opt ORDER BY count(*) DESC").aggregated).toBe(true);
    expect(analyzeText("SELECT count(*) AS n ORDER BY n").aggregated).toBe(true);
  });

  it("accepts names that are grouped, aggregated, or inside a grouped expression", () => {
    for (const text of [
      "SELECT opt, count(*) GROUP BY opt",
      "SELECT opt, lr * 2, avg(acc) + 1 GROUP BY opt, lr",
      "SELECT lr + 1, count(*) GROUP BY lr + 1",
      "SELECT (lr + 1) * 2 GROUP BY lr + 1 ORDER BY lr + 1",
      "SELECT arg.opt, count(*) GROUP BY opt",
      "SELECT max(acc) AS best, epoch GROUP BY epoch ORDER BY best",
      "SELECT 1, 'x', count(*)",
    ])
      expect(() => analyzeText(text), text).not.toThrow();
  });

  it("maps each selected or sorted expression that is a GROUP BY item to that item", () => {
    const analyzed = analyzeText("SELECT (lr + 1) * 2, arg.opt, count(*) GROUP BY opt, lr + 1 ORDER BY lr + 1");
    const mapped = [...analyzed.grouping].map(([expression, item]) => [printExpression(expression), item]);
    expect(mapped).toEqual([
      ["lr + 1", 1],
      ["arg.opt", 0],
      ["lr + 1", 1],
    ]);
  });

  it("refuses a name that is neither aggregated nor grouped, pointing at it", () => {
    const cases: [string, number][] = [
      ["SELECT opt, acc GROUP BY opt", 13],
      ["SELECT lr GROUP BY lr + 1", 8],
      ["SELECT lr, count(*)", 8],
      ["SELECT opt ORDER BY count(*)", 8],
      ["SELECT count(*) GROUP BY opt ORDER BY lr", 39],
      ["SELECT * GROUP BY vid", 8],
    ];
    for (const [text, column] of cases) {
      const error = florqlError(() => analyzeText(text));
      expect(error.code, text).toBe("FQL024");
      expect(error.span.column, text).toBe(column);
    }
    expect(florqlError(() => analyzeText("SELECT opt, acc GROUP BY opt"))).toMatchObject({
      summary: "`acc` is neither aggregated nor in GROUP BY",
      hint: "add it to GROUP BY, or aggregate it: max(acc)",
    });
  });

  it("refuses aggregates in WHERE and GROUP BY, and aggregates of aggregates", () => {
    expect(florqlError(() => analyzeText("SELECT acc WHERE max(acc) > 1"))).toMatchObject({
      code: "FQL023",
      summary: "max(...) cannot be used in WHERE",
      span: { column: 18, length: 8 },
    });
    expect(florqlError(() => analyzeText("SELECT count(*) GROUP BY count(*) + 1"))).toMatchObject({
      code: "FQL023",
      summary: "count(...) cannot be used in GROUP BY",
      span: { column: 26, length: 8 },
    });
    expect(florqlError(() => analyzeText("SELECT 1 + max(count(acc))"))).toMatchObject({
      code: "FQL012",
      summary: "count(...) cannot be used inside max(...)",
      hint: "aggregates do not nest",
      span: { column: 16, length: 10 },
    });
    expect(florqlError(() => analyzeText("SELECT count(*) ORDER BY sum(avg(acc))")).code).toBe("FQL012");
  });

  it("refuses GROUP BY and ORDER BY keys that are constants, as FlorQL has no column numbers", () => {
    expect(florqlError(() => analyzeText("SELECT acc, loss ORDER BY 2 DESC"))).toMatchObject({
      code: "FQL027",
      summary: "ORDER BY 2 sorts by a constant",
      span: { column: 27, length: 1 },
    });
    expect(florqlError(() => analyzeText("SELECT count(*) GROUP BY -(1 + 2)"))).toMatchObject({
      code: "FQL027",
      summary: "GROUP BY -(1 + 2) groups by a constant",
    });
    expect(florqlError(() => analyzeText("SELECT acc ORDER BY NULL")).code).toBe("FQL027");
    expect(() => analyzeText("SELECT acc ORDER BY acc * -1")).not.toThrow();
  });
});
