// `npm run demo`: hindsight logging end to end, on the embedded store. In a fresh git repository
// (demo-project/) the iris example is trained as a person works: a few versions, each edited and
// committed, each run once. Then one new flor.log is added to today's version, and a FlorQL question
// about it is answered over every past version: EXPLAIN shows the plan, the query replays only the
// epochs it needs from checkpoints, and prints the table.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const started = performance.now();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const project = path.join(root, "demo-project");
const tsxLoader = createRequire(import.meta.url).resolve("tsx/esm");
const flor = path.join(root, "bin/flor.js");
// The demo always uses the embedded store, whatever the environment says.
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
  console.log(`$ tsx train.ts --kwargs ${kwargs.join(" ")}`);
  process.stdout.write(
    execFileSync(process.execPath, ["--import", tsxLoader, "train.ts", "--kwargs", ...kwargs], { cwd: project, env, encoding: "utf8" }),
  );
};
const florCli = (...args) => {
  console.log(`\n$ flor ${args.map((a) => (a.includes(" ") ? `"${a}"` : a)).join(" ")}`);
  process.stdout.write(
    execFileSync(process.execPath, [flor, ...args], { cwd: project, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }),
  );
};

rmSync(project, { recursive: true, force: true });
mkdirSync(path.join(project, "node_modules"), { recursive: true });
symlinkSync(root, path.join(project, "node_modules/flordb"), "dir");
for (const file of ["train.ts", "training.ts", "model.ts", "data.ts", "rng.ts"])
  cpSync(path.join(root, "examples/iris", file), path.join(project, file));
writeFileSync(path.join(project, ".gitignore"), "node_modules/\n");
git("init", "-q", "-b", "main");
git("config", "user.name", "FlorDB demo");
git("config", "user.email", "demo@localhost");
git("add", "-A");
git("commit", "-q", "-m", "iris MLP");
console.log(`A fresh git repository with the iris example: ${path.relative(process.cwd(), project) || "."}\n`);

// Four versions, as a person makes them; each run is checkpointed every epoch.
train("epochs=8");
edit('flor.arg("lr", 0.05)', 'flor.arg("lr", 0.04)');
git("commit", "-q", "-am", "lower the learning rate");
train("epochs=8");
edit(/lossSum/g, "totalLoss");
git("commit", "-q", "-am", "rename lossSum");
train("epochs=8", "hidden=32");
edit('flor.arg("momentum", 0.9)', 'flor.arg("momentum", 0.95)');
git("commit", "-q", "-am", "more momentum");
train("epochs=8", "hidden=32");

// Hindsight: today's version logs something the past runs never did.
edit(
  '    flor.log("val_acc", accuracy(model, testSet));\n',
  '    flor.log("val_acc", accuracy(model, testSet));\n    flor.log("w2_norm", Math.hypot(...model.params.w2));\n',
);
console.log('\nAdded to training.ts, inside the epoch loop (not committed):\n    flor.log("w2_norm", Math.hypot(...model.params.w2));');

const question = "SELECT vid, hidden, epoch, val_acc, w2_norm FROM train.ts WHERE epoch >= 6 ORDER BY tstamp, epoch";
florCli("explain", question);
florCli("query", question);
florCli("query", "SELECT vid, max(val_acc) AS best_val_acc, avg(w2_norm) AS mean_w2_norm FROM train.ts WHERE epoch >= 6 GROUP BY vid");
console.log(
  `\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s. The journals, checkpoints, replays and store are in ${path.relative(process.cwd(), path.join(project, ".flor"))}/.`,
);
console.log(`Try: cd demo-project && node ../bin/flor.js query "SELECT epoch, loss WHERE epoch = 7 AND step < 3"`);
