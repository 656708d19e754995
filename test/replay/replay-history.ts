import { cpSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { FIXTURES, TestRepo } from "../helpers/repo.js";
import { readContexts } from "../helpers/journal.js";

/** The runs recorded by `recordHistory`: the fixture version and `--kwargs` of each, in order. */
export const RECORDED: { version: "v1" | "v2" | "v3"; kwargs: string[] }[] = [
  { version: "v1", kwargs: ["seed=3"] },
  { version: "v1", kwargs: ["seed=5", "rounds=4"] },
  { version: "v2", kwargs: ["seed=3"] },
  { version: "v3", kwargs: ["seed=3"] },
  { version: "v3", kwargs: ["rate=0.25", "rounds=8"] },
];

const fixture = (name: string) => readFileSync(path.join(FIXTURES, "replay", name), "utf8");

/**
 * A project with three committed versions of `train.mjs` (the state renamed in v2, the update changed in
 * v3; loops named `round` and `part`), five recorded runs, and the newest version in the working tree
 * with hindsight statements before, inside both loops, and after them.
 */
export function recordHistory(): TestRepo {
  const repo = TestRepo.create();
  let committed = "";
  for (const { version, kwargs } of RECORDED) {
    if (committed !== version) {
      repo.write("train.mjs", fixture(`${version}.mjs`));
      repo.commitAll(`version ${version}`);
      committed = version;
    }
    const result = repo.runScript("train.mjs", ["--kwargs", ...kwargs]);
    if (result.status !== 0) throw new Error(`recording ${version} failed: ${result.stderr}`);
  }
  repo.write("train.mjs", fixture("newest.mjs"));
  return repo;
}

/** A copy of a recorded project (store included), so two replays can start from the same state. */
export function copyRepo(repo: TestRepo, into: string): string {
  // A store is copied closed: the daemon holding it lets go first.
  repo.stopDaemon();
  cpSync(repo.dir, into, { recursive: true, verbatimSymlinks: true });
  return into;
}

/**
 * The ground truth: each recorded run's version with the statements added by hand, run from scratch
 * with the same arguments in a separate repository. Returns, per run, `name|round|part|value` lines.
 */
export function valuesByHand(names: readonly string[]): string[][] {
  const repo = TestRepo.create();
  try {
    return RECORDED.map(({ version, kwargs }) => {
      repo.write("train.mjs", fixture(`${version}-by-hand.mjs`));
      const before = new Set(journals(repo.dir));
      const result = repo.runScript("train.mjs", ["--kwargs", ...kwargs]);
      if (result.status !== 0) throw new Error(`by-hand ${version} failed: ${result.stderr}`);
      const journal = journals(repo.dir).find((file) => !before.has(file))!;
      return journalValues(path.join(repo.dir, ".flor/journals", journal), names);
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

function journalValues(file: string, names: readonly string[]): string[] {
  const contexts = new Map<number, Record<string, number>>();
  const lines: string[] = [];
  for (const record of readContexts(file)) {
    if (record.k === "ctx") contexts.set(record.id, { ...(record.p === null ? {} : contexts.get(record.p)), [record.n]: record.i });
    if (record.k === "log" && names.includes(record.n)) {
      const dims = record.c === null ? {} : contexts.get(record.c)!;
      lines.push(valueLine(record.n, dims["round"] ?? null, dims["part"] ?? null, record.v));
    }
  }
  return lines.sort();
}

export function valueLine(name: string, round: number | null, part: number | null, value: unknown): string {
  return `${name}|${round ?? "-"}|${part ?? "-"}|${JSON.stringify(value)}`;
}
