// `npm run demo`: records the iris example in a fresh git repository, demo-project/, as a user would:
// two runs of a committed version, one of an uncommitted edit, then reads them back with the CLI.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const project = path.join(root, "demo-project");
const tsx = createRequire(import.meta.url).resolve("tsx/cli");
const flor = path.join(root, "bin/flor.js");
// The demo always uses the embedded store, whatever the environment says.
const env = { ...process.env, FLOR_DATABASE_URL: "" };

const run = (command, args, echo = true) => {
  if (echo) console.log(`\n$ ${[path.basename(command) === path.basename(process.execPath) ? "" : command, ...args].join(" ").trim()}`);
  const output = execFileSync(command, args, { cwd: project, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (echo) process.stdout.write(output);
};
const git = (...args) => run("git", args, false);
const train = (...kwargs) => {
  console.log(`\n$ tsx train.ts${kwargs.length ? ` --kwargs ${kwargs.join(" ")}` : ""}`);
  process.stdout.write(execFileSync(process.execPath, [tsx, "train.ts", ...(kwargs.length ? ["--kwargs", ...kwargs] : [])], { cwd: project, env, encoding: "utf8" }));
};
const florCli = (...args) => {
  console.log(`\n$ flor ${args.join(" ")}`);
  process.stdout.write(execFileSync(process.execPath, [flor, ...args], { cwd: project, env, encoding: "utf8" }));
};

rmSync(project, { recursive: true, force: true });
mkdirSync(path.join(project, "node_modules"), { recursive: true });
symlinkSync(root, path.join(project, "node_modules/flordb"), "dir");
for (const file of ["train.ts", "training.ts", "model.ts", "data.ts", "rng.ts"]) cpSync(path.join(root, "examples/iris", file), path.join(project, file));
writeFileSync(path.join(project, ".gitignore"), "node_modules/\n");
git("init", "-q", "-b", "main");
git("config", "user.name", "FlorDB demo");
git("config", "user.email", "demo@localhost");
git("add", "-A");
git("commit", "-q", "-m", "iris MLP, hidden layer of 16");
console.log(`A fresh git repository with the iris example: ${path.relative(process.cwd(), project) || "."}`);

train("epochs=8");
train("epochs=8", "lr=0.1");
// An edit that is never committed: the run still gets a vid whose tree is exactly what ran.
const training = path.join(project, "training.ts");
writeFileSync(training, readFileSync(training, "utf8").replace('t.arg("hidden", 16)', 't.arg("hidden", 32)'));
train("epochs=8");

florCli("runs");
florCli("versions");
florCli("dataframe", "hidden", "lr", "test_acc");
florCli("dataframe", "val_acc", "--format", "csv");
console.log(`\nThe journals, checkpoints and store are in ${path.relative(process.cwd(), path.join(project, ".flor"))}/. Try: cd demo-project && node ../bin/flor.js dataframe loss`);
