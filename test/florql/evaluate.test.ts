import { describe, expect, it } from "vitest";
import type { JsonValue } from "../../src/journal/records.js";
import { evaluatePredicate, namesIn } from "../../src/florql/evaluate.js";
import { parseExpression } from "../../src/florql/parse.js";

/** Evaluates `predicate` knowing only `known` (keys `name` or `namespace.name`); other names are unknown. */
function check(predicate: string, known: Record<string, JsonValue> = {}): boolean | null {
  return evaluatePredicate(parseExpression(predicate), (ref) => known[ref.namespace === null ? ref.name : `${ref.namespace}.${ref.name}`]);
}

/** The four states of a condition: true, false, SQL NULL (a known null), and not known here. */
const STATES = { T: true, F: false, N: null, U: undefined } as const;
type State = keyof typeof STATES;
const knownAs = (state: State): Record<string, JsonValue> => (state === "U" ? {} : { v: STATES[state] });

/** What a condition in state `state` gives as a WHERE result, and whether it is NULL, known or not. */
function asWhere(state: State): boolean | null {
  return state === "T" ? true : state === "U" ? null : false;
}

describe("three-valued evaluation", () => {
  it("follows Kleene logic for AND, OR and NOT, keeping NULL apart from unknown", () => {
    const and: Record<string, State> = { TT: "T", TF: "F", TN: "N", TU: "U", FF: "F", FN: "F", FU: "F", NN: "N", NU: "U", UU: "U" };
    const or: Record<string, State> = { TT: "T", TF: "T", TN: "T", TU: "T", FF: "F", FN: "N", FU: "U", NN: "N", NU: "U", UU: "U" };
    for (const [operator, table] of [
      ["AND", and],
      ["OR", or],
    ] as const) {
      for (const [pair, result] of Object.entries(table)) {
        const [a, b] = [pair[0] as State, pair[1] as State];
        for (const [x, y] of [
          [a, b],
          [b, a],
        ] as const) {
          const known = { ...(x === "U" ? {} : { a: STATES[x] }), ...(y === "U" ? {} : { b: STATES[y] }) };
          expect(check(`a ${operator} b`, known), `${x} ${operator} ${y}`).toBe(asWhere(result));
          // IS NULL tells a known NULL (true) from an unknown (still unknown).
          expect(check(`(a ${operator} b) IS NULL`, known), `(${x} ${operator} ${y}) IS NULL`).toBe(result === "U" ? null : result === "N");
        }
      }
    }
    const not: Record<State, State> = { T: "F", F: "T", N: "N", U: "U" };
    for (const [state, result] of Object.entries(not) as [State, State][]) {
      expect(check("NOT v", knownAs(state)), `NOT ${state}`).toBe(asWhere(result));
      expect(check("NOT NOT v", knownAs(state)), `NOT NOT ${state}`).toBe(asWhere(state));
    }
  });

  it("decides what it can when other names are unknown (the point of pushing predicates down)", () => {
    const predicate = "arg.lr = 0.1 AND epoch >= 18";
    expect(check(predicate, { "arg.lr": 0.1 })).toBeNull();
    expect(check(predicate, { "arg.lr": 0.2 })).toBe(false);
    expect(check(predicate, { "arg.lr": 0.1, epoch: 20 })).toBe(true);
    expect(check("arg.lr = 0.1 OR epoch >= 18", { "arg.lr": 0.1 })).toBe(true);
    expect(check("arg.lr = 0.1 OR epoch >= 18", { "arg.lr": 0.2 })).toBeNull();
    expect(check("vid IN ('a1', 'b2') AND filename LIKE 'train%'", { vid: "c3" })).toBe(false);
  });

  it("compares numbers, strings, booleans and timestamps, and leaves mixed types to the database", () => {
    expect(check("x = 1.0", { x: 1 })).toBe(true);
    expect(check("x <> 1 AND x != 2", { x: 3 })).toBe(true);
    expect(check("x < 2 AND x <= 2 AND x > 0 AND x >= 1", { x: 1 })).toBe(true);
    expect(check("s < 'b'", { s: "a" })).toBe(true);
    expect(check("s < 'B'", { s: "a" })).toBe(false); // code point order, as COLLATE "C"
    expect(check("s > '\uFFFF'", { s: "😀" })).toBe(true); // code points, not UTF-16 units
    expect(check("b = TRUE AND FALSE < TRUE", { b: true })).toBe(true);
    expect(check("x = '1'", { x: 1 })).toBeNull();
    expect(check("x < TRUE", { x: 0 })).toBeNull();
    expect(check("x = 1", { x: [1] })).toBeNull();
    expect(check("x = 1", { x: { a: 1 } })).toBeNull();
  });

  it("compares timestamps as instants, also with ISO-8601 strings such as tstamp", () => {
    const tstamp = "2026-01-02T03:04:05.000Z";
    expect(check("tstamp = TIMESTAMP '2026-01-02 05:04:05+02:00'", { tstamp })).toBe(true);
    expect(check("tstamp >= TIMESTAMP '2026-01-01' AND tstamp < TIMESTAMP '2026-02-01'", { tstamp })).toBe(true);
    expect(check("tstamp BETWEEN TIMESTAMP '2026-01-03' AND TIMESTAMP '2026-01-04'", { tstamp })).toBe(false);
    expect(check("TIMESTAMP '2026-01-02' < TIMESTAMP '2026-01-02T00:00:00.001Z'")).toBe(true);
    expect(check("tstamp > TIMESTAMP '2026-01-01'", { tstamp: "not a time" })).toBeNull();
    expect(check("tstamp > TIMESTAMP '2026-01-01'", { tstamp: 5 })).toBeNull();
  });

  it("gives NULL for comparisons with NULL, and IS NULL sees it", () => {
    expect(check("x = 1", { x: null })).toBe(false);
    expect(check("(x = 1) IS NULL", { x: null })).toBe(true);
    expect(check("x = NULL", { x: 1 })).toBe(false);
    expect(check("NOT (x = NULL)", { x: 1 })).toBe(false);
    expect(check("x IS NULL", { x: null })).toBe(true);
    expect(check("x IS NOT NULL", { x: null })).toBe(false);
    expect(check("x IS NOT NULL", { x: 0 })).toBe(true);
    expect(check("x IS NULL", { x: [] })).toBe(false);
    expect(check("x IS NULL")).toBeNull();
    // NULL wins over unknown: the comparison is NULL whatever the unknown side is.
    expect(check("(x = y) IS NULL", { x: null })).toBe(true);
  });

  it("evaluates IN, with SQL's treatment of NULL in the list", () => {
    expect(check("epoch IN (1, 2, 3)", { epoch: 2 })).toBe(true);
    expect(check("epoch IN (1, 2, 3)", { epoch: 4 })).toBe(false);
    expect(check("epoch NOT IN (1, 2, 3)", { epoch: 4 })).toBe(true);
    expect(check("epoch IN (1, NULL)", { epoch: 1 })).toBe(true);
    expect(check("(epoch IN (2, NULL)) IS NULL", { epoch: 1 })).toBe(true);
    expect(check("epoch NOT IN (2, NULL)", { epoch: 1 })).toBe(false);
    expect(check("epoch IN (1, y)", { epoch: 1 })).toBe(true);
    expect(check("epoch IN (2, y)", { epoch: 1 })).toBeNull();
    expect(check("epoch IN (1, 2)")).toBeNull();
  });

  it("evaluates BETWEEN inclusively", () => {
    expect(check("epoch BETWEEN 2 AND 8", { epoch: 2 })).toBe(true);
    expect(check("epoch BETWEEN 2 AND 8", { epoch: 8 })).toBe(true);
    expect(check("epoch BETWEEN 2 AND 8", { epoch: 9 })).toBe(false);
    expect(check("epoch NOT BETWEEN 2 AND 8", { epoch: 9 })).toBe(true);
    expect(check("epoch BETWEEN 2 AND x", { epoch: 1 })).toBe(false);
    expect(check("epoch BETWEEN 2 AND x", { epoch: 3 })).toBeNull();
    expect(check("epoch BETWEEN NULL AND 8", { epoch: 9 })).toBe(false);
  });

  it("evaluates LIKE with %, _ and backslash escapes", () => {
    const like = (value: string, pattern: string): boolean | null => check(`v LIKE '${pattern.replaceAll("'", "''")}'`, { v: value });
    expect(like("train.ts", "train%")).toBe(true);
    expect(like("train.ts", "%.ts")).toBe(true);
    expect(like("train.ts", "%.js")).toBe(false);
    expect(like("train.ts", "t_ain.ts")).toBe(true);
    expect(like("train.ts", "Train%")).toBe(false);
    expect(like("", "%")).toBe(true);
    expect(like("", "_")).toBe(false);
    expect(like("a%b", "a\\%b")).toBe(true);
    expect(like("axb", "a\\%b")).toBe(false);
    expect(like("a_b", "a\\_b")).toBe(true);
    expect(like("😀x", "_x")).toBe(true);
    expect(like("ab", "ab\\")).toBeNull();
    expect(like("mississippi", "%iss%ss%")).toBe(true);
    expect(like("mississippi", "%iss%ss%z")).toBe(false);
    const started = performance.now();
    expect(like("a".repeat(5000), `${"%a".repeat(30)}b`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
    expect(check("v NOT LIKE 'a%'", { v: "b" })).toBe(true);
    expect(check("v LIKE 'a%'", { v: null })).toBe(false);
    expect(check("v LIKE 'a%'", { v: 1 })).toBeNull();
  });

  it("does arithmetic on numbers and leaves errors to the database", () => {
    expect(check("epoch + 1 = 3", { epoch: 2 })).toBe(true);
    expect(check("epoch * 2 - 1 > 4 AND epoch % 2 = 1 AND epoch / 2 = 1.5", { epoch: 3 })).toBe(true);
    expect(check("-epoch = -3", { epoch: 3 })).toBe(true);
    expect(check("(epoch + NULL) IS NULL", { epoch: 3 })).toBe(true);
    expect(check("epoch / 0 = 1", { epoch: 3 })).toBeNull();
    expect(check("epoch % 0 = 1", { epoch: 3 })).toBeNull();
    expect(check("s + 1 = 2", { s: "1" })).toBeNull();
    expect(check("-s = 1", { s: "x" })).toBeNull();
  });

  it("leaves aggregates and non-boolean conditions undecided", () => {
    expect(check("max(loss) > 1", { loss: 2 })).toBeNull();
    expect(check("count(*) > 0 OR TRUE")).toBe(true);
    expect(check("loss", { loss: 1 })).toBeNull();
    expect(check("NOT loss", { loss: 1 })).toBeNull();
    expect(check("loss AND FALSE", { loss: 1 })).toBe(false);
  });

  it("evaluates literals on their own", () => {
    expect(check("TRUE")).toBe(true);
    expect(check("FALSE")).toBe(false);
    expect(check("NULL")).toBe(false);
    expect(check("NULL IS NULL")).toBe(true);
    expect(check("'a' = 'a' AND 1 < 2")).toBe(true);
  });
});

describe("namesIn", () => {
  it("lists every name occurrence in text order, with namespaces", () => {
    const names = namesIn(parseExpression("arg.lr = 0.1 AND (epoch >= lr OR max(log.loss) IN (epoch, 1))"));
    expect(names.map((n) => [n.namespace, n.name])).toEqual([
      ["arg", "lr"],
      [null, "epoch"],
      [null, "lr"],
      ["log", "loss"],
      [null, "epoch"],
    ]);
    expect(names[1]!.span.start.column).toBe(19);
    expect(namesIn(parseExpression("1 + 2"))).toEqual([]);
  });
});
