import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { RawBuilder } from "kysely";
import type { ProjectSession } from "../src/app/project-session.js";
import type { Store } from "../src/store/open-store.js";

/** A throwaway git repository with one committed script, for runs recorded by a benchmark. */
export function benchRepo(): { dir: string; script: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "flor-bench-"));
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "ignore" });
  git("init", "-q", "-b", "main");
  writeFileSync(path.join(dir, "train.ts"), "// the benchmarked script\n");
  git("add", "-A");
  git("-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-q", "-m", "bench");
  return { dir, script: path.join(dir, "train.ts"), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timeIt(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/**
 * A FlorQL question and the hand-written SQL that gives the same rows, timed in alternation for `rounds`
 * rounds (after one untimed run of each, which also checks that they agree on the row count): medians in ms.
 */
export async function versusHandSql(
  store: Store,
  session: ProjectSession,
  question: { name: string; florql: string; hand: RawBuilder<unknown> },
  rounds: number,
): Promise<{ rows: number; florqlMs: number; handMs: number }> {
  const viaFlorql = () => session.answerQuery(question.florql, "none");
  const [a, b] = [await viaFlorql(), await question.hand.execute(store.db)];
  if (a.rows.length !== b.rows.length)
    throw new Error(`${question.name}: FlorQL gave ${a.rows.length} rows, the hand-written SQL ${b.rows.length}`);
  const florTimes: number[] = [];
  const handTimes: number[] = [];
  for (let round = 0; round < rounds; round++) {
    florTimes.push(await timeIt(viaFlorql));
    handTimes.push(await timeIt(() => question.hand.execute(store.db)));
  }
  return { rows: a.rows.length, florqlMs: median(florTimes), handMs: median(handTimes) };
}
