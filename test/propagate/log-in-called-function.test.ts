import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectSession } from "../../src/app/project-session.js";
import { TestRepo } from "../helpers/repo.js";

// The entry script calls `trainStep` from model.mjs once per round. Old versions of model.mjs never
// imported flor; the newest adds the import and logs inside `trainStep`, so its values are per round.
const train = (rounds: number): string => `import { flor } from "flordb";
import { makeState, trainStep } from "./model.mjs";

const seed = flor.arg("seed", 3);
const state = makeState(seed);
flor.checkpointing({ state });
for (const round of flor.loop("round", ${rounds})) {
  const loss = trainStep(state, round);
  flor.log("loss", loss);
}
`;

const model = (version: "v1" | "v2" | "newest"): string => {
  const rows = version === "v1" ? "seen" : "rowsSeen";
  return `${version === "newest" ? 'import { flor } from "flordb";\n' : ""}
export function makeState(seed) {
  return { w: new Float64Array([seed / 10]), seen: { n: 0 } };
}

export function trainStep(state, round) {
  const batch = ${version === "v1" ? "2 + round" : "3 + (round % 2)"};
  state.seen.n += batch;
  const ${rows} = state.seen.n;
  state.w[0] = state.w[0] * 0.9 + ${rows} / 100;
${version === "newest" ? `  flor.log("rows_seen", ${rows} * 10);\n` : ""}  return state.w[0];
}
`;
};

/** The version of model.mjs with the statement added by hand: what a from-scratch run must log. */
const byHand = (version: "v1" | "v2"): string => {
  const rows = version === "v1" ? "seen" : "rowsSeen";
  return model(version).replace("  return state.w[0];", `  flor.log("rows_seen", ${rows} * 10);\n  return state.w[0];`);
};

const RUNS = [
  { version: "v1", seed: 3 },
  { version: "v2", seed: 5 },
] as const;

let repo: TestRepo;
let session: ProjectSession;

beforeAll(async () => {
  repo = TestRepo.create();
  for (const { version, seed } of RUNS) {
    repo.write("train.mjs", train(4)).write("model.mjs", model(version)).commitAll(version);
    const result = repo.runScript("train.mjs", ["--kwargs", `seed=${seed}`]);
    if (result.status !== 0) throw new Error(result.stderr);
  }
  repo.write("model.mjs", model("newest"));
  // A command's session: it waits for replays by running them itself.
  session = await ProjectSession.open({ cwd: repo.dir, command: "test", workers: 1, lifetime: "command" });
});

afterAll(async () => {
  await session.close();
  repo.remove();
});

/** From scratch: each recorded version with the statement written by hand, run with the same arguments. */
function fromScratch(): number[][] {
  const scratch = TestRepo.create();
  try {
    return RUNS.map(({ version, seed }) => {
      scratch.write("train.mjs", train(4)).write("model.mjs", `import { flor } from "flordb";\n${byHand(version)}`);
      const journalsDir = path.join(scratch.dir, ".flor/journals");
      const before = new Set(readdirSafe(journalsDir));
      const result = scratch.runScript("train.mjs", ["--kwargs", `seed=${seed}`]);
      if (result.status !== 0) throw new Error(result.stderr);
      const journal = readdirSafe(journalsDir).find((f) => !before.has(f))!;
      return readFileSync(path.join(journalsDir, journal), "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as { k: string; n: string; v: number })
        .filter((r) => r.k === "log" && r.n === "rows_seen")
        .map((r) => r.v);
    });
  } finally {
    scratch.remove();
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

describe("a flor.log inside a function that the loop calls, in another module", () => {
  const question = "SELECT tstamp, round, rows_seen FROM train.mjs ORDER BY tstamp, round";

  it("is asked per round: FlorQL sees the loop of its call site", async () => {
    const plan = await session.planQuery(question);
    expect(plan.replay!.runs.map((r) => r.names.find((n) => n.name === "rows_seen"))).toEqual([
      { name: "rows_seen", status: "fill", level: "in loop round" },
      { name: "rows_seen", status: "fill", level: "in loop round" },
    ]);
  });

  it("is filled by replay, the import carried into old model.mjs, with the values of a from-scratch run", async () => {
    const result = await session.answerQuery(question, "wait");
    expect(result.job!.status).toBe("done");
    const truth = fromScratch();
    expect(truth.map((values) => values.length)).toEqual([4, 4]);
    expect(result.rows.map((row) => row["rows_seen"])).toEqual(truth.flat());
    expect(result.rows.map((row) => row["round"])).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
  });
});
