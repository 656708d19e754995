import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SeededRandom } from "../../src/adapters/seeded-random.js";
import { PACKAGE_ROOT, TestRepo } from "../helpers/repo.js";

/**
 * Fault-injection trials: each records training runs whose values follow a formula, injects one fault
 * (a kill -9 of training or of an ingest, a command racing a run's end, a truncated or corrupted
 * journal, hostile values), then reads everything back through `flor` and counts what was lost,
 * duplicated or wrong. Shared by the seeded CI suite (test/faults) and the soak (bench/faults).
 */

export const EPOCHS = 20;
export const STEPS = 50;
/** The value logged at (epoch, step): exact in binary floating point, distinct per coordinate. */
export const formula = (epoch: number, step: number): number => epoch * 1000 + step + 0.5;

/** Steps busy for a while, so kills land anywhere in the run; the trial number tags the run. */
const TRAIN = `import { flor } from "flordb";
const trial = flor.arg("trial", 0);
const spin = flor.arg("spin", 0);
const epochs = flor.arg("epochs", ${EPOCHS});
for (const epoch of flor.loop("epoch", epochs)) {
  for (const step of flor.loop("step", ${STEPS})) {
    const until = performance.now() + spin;
    while (performance.now() < until);
    flor.log("v", epoch * 1000 + step + 0.5);
  }
}
`;

/** Logs the strings and names it is given (JSON in HOSTILE), one per epoch, for a round trip. */
const HOSTILE = `import { flor } from "flordb";
const trial = flor.arg("trial", 0);
import { readFileSync } from "node:fs";
const values = JSON.parse(readFileSync(process.env.HOSTILE_FILE, "utf8"));
for (const epoch of flor.loop("epoch", values.length)) flor.log("s", values[epoch]);
`;

export type TrialKind =
  | "kill-training"
  | "kill-ingest"
  | "ingest-racing-the-end"
  | "truncated-journal"
  | "corrupted-journal"
  | "hostile-values";
export const TRIAL_KINDS: readonly TrialKind[] = [
  "kill-training",
  "kill-ingest",
  "ingest-racing-the-end",
  "truncated-journal",
  "corrupted-journal",
  "hostile-values",
];

export interface TrialOutcome {
  kind: TrialKind;
  seed: number;
  /** Values the run logged that reached its journal (flushed) but are not in the store. */
  lost: number;
  duplicated: number;
  wrong: number;
  /** Values checked (stored and compared). */
  checked: number;
  /** What went wrong, for a failing trial's message. */
  problems: string[];
}

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

const NO_DAEMON = { FLOR_DATABASE_URL: "", FLOR_NO_DAEMON: "1" };
const DAEMON = { FLOR_DATABASE_URL: "" };

function run(child: ChildProcess): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A project for trials: one repository, its scripts committed, reused by trial after trial. */
export class FaultProject {
  readonly repo: TestRepo;
  private next = 1;

  constructor() {
    this.repo = TestRepo.create({ "train.mjs": TRAIN, "hostile.mjs": HOSTILE });
  }

  remove(): void {
    this.repo.remove();
  }

  private flor(args: string[], env: NodeJS.ProcessEnv = DAEMON): Promise<Outcome> {
    return run(
      spawn(process.execPath, [path.join(PACKAGE_ROOT, "bin/flor.js"), ...args], {
        cwd: this.repo.dir,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
  }

  private train(trial: number, spin: number, epochs = EPOCHS): ChildProcess {
    return spawn(process.execPath, ["train.mjs", "--kwargs", `trial=${trial}`, `spin=${spin}`, `epochs=${epochs}`], {
      cwd: this.repo.dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  /** The journals written since `before` (names), newest last. */
  private journalsSince(before: ReadonlySet<string>): string[] {
    const dir = path.join(this.repo.dir, ".flor/journals");
    // A run killed before its first flush has no journal, nor maybe the folder.
    return [...this.journals()]
      .filter((name) => name.endsWith(".jsonl") && !before.has(name))
      .sort()
      .map((name) => path.join(dir, name));
  }

  private journals(): Set<string> {
    try {
      return new Set(readdirSync(path.join(this.repo.dir, ".flor/journals")));
    } catch {
      return new Set();
    }
  }

  /** The values of trial `trial` as the store answers them: [epoch, step, v] rows. */
  private async stored(trial: number, env: NodeJS.ProcessEnv = DAEMON): Promise<{ rows: [number, number, number][]; stderr: string }> {
    const answer = await this.flor(
      ["query", `SELECT epoch, step, v FROM train.mjs WHERE trial = ${trial} ORDER BY epoch, step`, "--format", "json"],
      env,
    );
    // No run logged `v` yet (the run was killed before its first flush): nothing is stored.
    if (answer.status === 2 && answer.stderr.includes("FQL020")) return { rows: [], stderr: answer.stderr };
    if (answer.status !== 0) throw new Error(`flor query failed (${answer.status}): ${answer.stderr}`);
    const rows = JSON.parse(answer.stdout) as { epoch: number; step: number; v: number }[];
    return { rows: rows.filter((row) => row.v !== null).map((row) => [row.epoch, row.step, row.v]), stderr: answer.stderr };
  }

  /**
   * Compares a run's stored values with its logged prefix: every stored value at its coordinate, each
   * once, and none of the first `flushed` missing (values are flushed in order, so what a journal holds
   * is a prefix of the run's sequence).
   */
  private check(outcome: TrialOutcome, rows: [number, number, number][], flushed: number): void {
    const seen = new Set<number>();
    for (const [epoch, step, v] of rows) {
      const index = epoch * STEPS + step;
      if (seen.has(index)) outcome.duplicated++;
      seen.add(index);
      if (v !== formula(epoch, step)) {
        outcome.wrong++;
        if (outcome.problems.length < 5) outcome.problems.push(`epoch ${epoch} step ${step}: ${v}, logged ${formula(epoch, step)}`);
      }
    }
    for (let index = 0; index < flushed; index++) if (!seen.has(index)) outcome.lost++;
    outcome.checked += rows.length;
  }

  /** How many `v` values a journal holds (the `log` records the run flushed), read as text. */
  private flushedValues(journal: string): number {
    const text = readFileSync(journal, "utf8");
    let count = 0;
    for (const line of text.split("\n")) if (line.startsWith('{"k":"log"') && line.includes('"n":"v"') && line.endsWith("}")) count++;
    return count;
  }

  async trial(kind: TrialKind, seed: number): Promise<TrialOutcome> {
    const random = new SeededRandom(seed);
    const trial = this.next++;
    const outcome: TrialOutcome = { kind, seed, lost: 0, duplicated: 0, wrong: 0, checked: 0, problems: [] };
    const before = this.journals();
    switch (kind) {
      case "kill-training": {
        const child = this.train(trial, 0.5);
        const done = run(child);
        // Killed anywhere from its start to its end: after its journal appears (node, imports and the code
        // snapshot come first), within the half second its loop takes.
        for (let waited = 0; waited < 10_000 && this.journalsSince(before).length === 0; waited += 10) await sleep(10);
        await sleep(random.int(600));
        child.kill("SIGKILL");
        await done;
        const [journal] = this.journalsSince(before);
        const flushed = journal === undefined ? 0 : this.flushedValues(journal);
        this.check(outcome, (await this.stored(trial)).rows, flushed);
        break;
      }
      case "kill-ingest": {
        const trained = await run(this.train(trial, 0));
        if (trained.status !== 0) throw new Error(`training failed: ${trained.stderr}`);
        const ingest = spawn(process.execPath, [path.join(PACKAGE_ROOT, "bin/flor.js"), "ingest"], {
          cwd: this.repo.dir,
          env: { ...process.env, ...NO_DAEMON },
          stdio: ["ignore", "pipe", "pipe"],
        });
        const done = run(ingest);
        await sleep(100 + random.int(900));
        ingest.kill("SIGKILL");
        await done;
        // The next command (no daemon: the killed ingest may have left the lock behind) finishes the ingest.
        this.check(outcome, (await this.stored(trial, NO_DAEMON)).rows, EPOCHS * STEPS);
        break;
      }
      case "ingest-racing-the-end": {
        // Long enough that an ingest is under way when the run ends.
        const epochs = EPOCHS * (5 + random.int(20));
        const child = this.train(trial, random.next() * 0.02, epochs);
        const done = run(child);
        let ended = false;
        void done.then(() => (ended = true));
        // Commands ingest while the run writes, and one of them around its end.
        while (!ended) {
          await this.flor(["runs", "--format", "json"]);
          await sleep(random.int(100));
        }
        const runs = await this.flor(["runs", "--format", "json"]);
        const mine = (JSON.parse(runs.stdout) as { args: Record<string, unknown>; status: string; logs: number }[]).find(
          (r) => r.args["trial"] === trial,
        );
        if (mine?.status !== "ok")
          outcome.problems.push(`the run is ${mine?.status ?? "missing"} after it ended, with ${mine?.logs} values`);
        this.check(outcome, (await this.stored(trial)).rows, epochs * STEPS);
        break;
      }
      case "truncated-journal":
      case "corrupted-journal": {
        // Written and damaged before any command reads it (the daemon ingests only when asked).
        const trained = await run(this.train(trial, 0));
        if (trained.status !== 0) throw new Error(`training failed: ${trained.stderr}`);
        const [journal] = this.journalsSince(before);
        const size = statSync(journal!).size;
        if (kind === "truncated-journal") {
          truncateSync(journal!, random.int(size));
          this.check(outcome, (await this.stored(trial)).rows, this.flushedValues(journal!));
        } else {
          const bytes = readFileSync(journal!);
          // Zeroed bytes, as a torn page leaves them, past the header and args (a run nobody can name is
          // another fault), among the loop's records. A NUL is never valid JSON, so each damaged line is
          // found. (A flipped digit that leaves a valid record is not: journals carry no checksums.)
          for (let i = 0; i < 1 + random.int(4); i++) {
            const at = Math.floor(size / 4) + random.int(size - Math.floor(size / 4));
            bytes.fill(0, at, Math.min(size, at + 1 + random.int(64)));
          }
          writeFileSync(journal!, bytes);
          // A damaged line is skipped and reported; no value may land at a wrong coordinate, and values
          // are lost only around the damage (a damaged loop record orphans at most its epoch's values).
          const intact = new Set(
            bytes
              .toString("utf8")
              .split("\n")
              .filter((line) => /^\{"k":"log","c":\d+,"n":"v","v":[0-9.]+\}$/.test(line)),
          ).size;
          const { rows } = await this.stored(trial);
          this.check(outcome, rows, 0);
          if (rows.length < intact - 4 * STEPS) outcome.problems.push(`${rows.length} values stored of about ${intact} intact lines`);
        }
        break;
      }
      case "hostile-values": {
        const values: string[] = [];
        for (let i = 0; i < 8; i++) values.push(hostileString(random));
        // In a file: an environment variable cannot hold NUL.
        const file = path.join(this.repo.dir, ".git", `hostile-${trial}.json`);
        writeFileSync(file, JSON.stringify(values));
        const child = spawn(process.execPath, ["hostile.mjs", "--kwargs", `trial=${trial}`], {
          cwd: this.repo.dir,
          env: { ...process.env, HOSTILE_FILE: file },
          stdio: ["ignore", "pipe", "pipe"],
        });
        const trained = await run(child);
        if (trained.status !== 0) throw new Error(`the hostile script failed: ${trained.stderr}`);
        const answer = await this.flor([
          "query",
          `SELECT epoch, s FROM hostile.mjs WHERE trial = ${trial} ORDER BY epoch`,
          "--format",
          "json",
        ]);
        if (answer.status !== 0) {
          outcome.problems.push(`flor query failed (${answer.status}): ${answer.stderr.trim()}`);
          outcome.lost += values.length;
          break;
        }
        const rows = JSON.parse(answer.stdout) as { epoch: number; s: unknown }[];
        outcome.checked += rows.length;
        outcome.lost += Math.max(0, values.length - rows.length);
        outcome.duplicated += Math.max(0, rows.length - values.length);
        for (const row of rows)
          if (row.s !== values[row.epoch]) {
            outcome.wrong++;
            if (outcome.problems.length < 5)
              outcome.problems.push(`epoch ${row.epoch}: ${JSON.stringify(row.s)}, logged ${JSON.stringify(values[row.epoch])}`);
          }
        const runs = await this.flor(["runs"]);
        if (runs.status !== 0) outcome.problems.push(`flor runs failed after hostile values: ${runs.stderr.trim()}`);
        break;
      }
    }
    return outcome;
  }
}

/** A string with what breaks naive storage: NUL, lone surrogates, quotes, backslashes, control and astral characters. */
function hostileString(random: SeededRandom): string {
  const pieces = [
    "\u0000",
    "\ud800",
    "\udfff",
    '"',
    "\\",
    "\n",
    "\u001b[31m",
    "😀",
    "\u2028",
    "'; drop table logs; --",
    "\\u0000",
    "é",
    "",
  ];
  let text = "";
  for (let i = 0; i < 1 + random.int(6); i++)
    text += random.next() < 0.5 ? pieces[random.int(pieces.length)] : String.fromCharCode(random.int(0x10000));
  return text;
}
