import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestRepo } from "../helpers/repo.js";

/**
 * A project as `npm init -y` makes it: CommonJS (no "type": "module"). flordb is an ES module package;
 * Node 20.19+ loads it from require() (and so from tsx's CommonJS output of `import`).
 */
const TRAIN_JS = `const { flor } = require("flordb");
const state = { w: new Float64Array([1, 2]) };
flor.checkpointing({ state });
for (const epoch of flor.loop("epoch", flor.arg("epochs", 4))) {
  state.w[0] = state.w[0] * 1.5 + epoch;
  flor.log("w0", state.w[0]);
}
`;
const TRAIN_TS = `import { flor } from "flordb";
const state = { w: new Float64Array([1, 2]) };
flor.checkpointing({ state });
for (const epoch of flor.loop("epoch", flor.arg("epochs", 4))) {
  state.w[0] = state.w[0]! * 1.5 + epoch;
  flor.log("w0", state.w[0]);
}
`;
const AFTER = '  flor.log("w0", state.w[0]);\n';
const STATEMENT = '  flor.log("w1", state.w[0]! * state.w[1]!);\n';
const ENV = { FLOR_DATABASE_URL: "" };

function lastJournal(repo: TestRepo): string {
  const dir = path.join(repo.dir, ".flor/journals");
  return readFileSync(path.join(dir, readdirSync(dir).sort().at(-1)!), "utf8");
}

describe("a CommonJS project", () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = TestRepo.create({
      "package.json": `${JSON.stringify({ name: "cjs-project", version: "1.0.0", main: "index.js" }, null, 2)}\n`,
      "train.js": TRAIN_JS,
      "train.ts": TRAIN_TS,
    });
  });
  afterAll(() => repo.remove());

  it("records with require() under node and with import under tsx", () => {
    for (const script of ["train.js", "train.ts"]) {
      const run = repo.runScript(script, [], ENV);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).toBe("");
      expect(lastJournal(repo)).toContain(`"filename":"${script}"`);
      expect(lastJournal(repo)).toContain('"k":"end","status":"ok"');
    }
  });

  it("replays a TypeScript script from its checkpoints for a hindsight query", () => {
    repo.write("train.ts", TRAIN_TS.replace(AFTER, AFTER + STATEMENT));
    const query = repo.flor(["query", "SELECT epoch, w1 FROM train.ts WHERE epoch = 3", "--format", "json"], ENV);
    expect(query.status, query.stderr).toBe(0);
    // From scratch: w0 = 1 -> 1.5 -> 3.25 -> 6.875 -> 13.3125 over epochs 0..3, times w[1] = 2.
    expect(JSON.parse(query.stdout)).toEqual([{ epoch: 3, w1: 26.625 }]);
  }, 180_000);
});
