import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { readJournal } from "../helpers/journal.js";
import { FIXTURES, TestRepo } from "../helpers/repo.js";

/**
 * Two scripts that no replay from a checkpoint reproduces: `unregistered.mjs` shuffles with a generator
 * it does not register (a replay from its start does reproduce it), `nondeterministic.mjs` adds noise
 * from Math.random (nothing reproduces it). Each newest version logs a value per epoch in hindsight.
 */
export const SCRIPTS = {
  "unregistered.mjs": { name: "w1", statement: 'flor.log("w1", model.w[1]);', runs: [["seed=3"], ["seed=5"]] },
  "nondeterministic.mjs": { name: "w0", statement: 'flor.log("w0", model.w[0]);', runs: [[]] },
} as const;

type Script = keyof typeof SCRIPTS;

/**
 * The script with its hindsight statement at the start of each epoch, before the inner loop: its
 * iterations execute in full (one at the end would skip the inner loop, and compare nothing).
 */
export function newest(script: Script): string {
  const code = readFileSync(path.join(FIXTURES, "replay", script), "utf8");
  const anchor = /(for \(const epoch of flor\.loop\("epoch", \d+\)\) \{\n)/;
  if (!anchor.test(code)) throw new Error(`${script} changed: the hindsight statement has no place`);
  return code.replace(anchor, `$1  ${SCRIPTS[script].statement}\n`);
}

/** A project with both scripts committed and their runs recorded, and the newest versions in the working tree. */
export function recordUnverifiable(): TestRepo {
  const repo = TestRepo.create();
  for (const script of Object.keys(SCRIPTS) as Script[]) repo.write(script, readFileSync(path.join(FIXTURES, "replay", script), "utf8"));
  repo.commitAll("two trainers");
  for (const [script, { runs }] of Object.entries(SCRIPTS))
    for (const kwargs of runs) {
      const result = repo.runScript(script, kwargs.length === 0 ? [] : ["--kwargs", ...kwargs]);
      if (result.status !== 0) throw new Error(`recording ${script} failed: ${result.stderr}`);
    }
  for (const script of Object.keys(SCRIPTS) as Script[]) repo.write(script, newest(script));
  return repo;
}

/** The ground truth: the newest unregistered.mjs run from scratch with each recorded run's arguments; per run, its `w1` by epoch. */
export function unregisteredFromScratch(): number[][] {
  const repo = TestRepo.create({ "unregistered.mjs": newest("unregistered.mjs") });
  try {
    return SCRIPTS["unregistered.mjs"].runs.map((kwargs) => {
      const before = new Set(journals(repo.dir));
      const result = repo.runScript("unregistered.mjs", ["--kwargs", ...kwargs]);
      if (result.status !== 0) throw new Error(`from scratch: ${result.stderr}`);
      const journal = journals(repo.dir).find((file) => !before.has(file))!;
      return readJournal(path.join(repo.dir, ".flor/journals", journal)).flatMap((r) =>
        r.k === "log" && r.n === "w1" ? [r.v as number] : [],
      );
    });
  } finally {
    repo.remove();
  }
}

function journals(dir: string): string[] {
  try {
    return readdirSync(path.join(dir, ".flor/journals"));
  } catch {
    return [];
  }
}
