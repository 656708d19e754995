// bench/faults: the fault-injection soak. The trials of the CI suite (test/faults/trials.ts), many more
// of them and with other seeds: kill -9 of training and of ingest, commands racing a run's end,
// truncated and corrupted journals, hostile values; counts of values checked, lost, duplicated, wrong.
import { FaultProject, TRIAL_KINDS, type TrialKind } from "../test/faults/trials.js";

const TRIALS = Number(process.env["FLOR_FAULT_TRIALS"] ?? 500);
const SEED = Number(process.env["FLOR_FAULT_SEED"] ?? 1);
const line = (text: string): void => void process.stdout.write(`${text}\n`);

interface KindCounts {
  trials: number;
  failed: number;
  checked: number;
  lost: number;
  duplicated: number;
  wrong: number;
  problems: string[];
}

export async function benchFaults(): Promise<Record<TrialKind, KindCounts>> {
  line(`\n## bench/faults: ${TRIALS} seeded trials from seed ${SEED}\n`);
  const counts = Object.fromEntries(
    TRIAL_KINDS.map((kind) => [kind, { trials: 0, failed: 0, checked: 0, lost: 0, duplicated: 0, wrong: 0, problems: [] as string[] }]),
  ) as Record<TrialKind, KindCounts>;
  const started = performance.now();
  // A fresh project every 50 trials keeps queries on a project of the size a trial expects.
  let project: FaultProject | null = null;
  try {
    for (let i = 0; i < TRIALS; i++) {
      if (i % 50 === 0) {
        project?.remove();
        project = new FaultProject();
      }
      const kind = TRIAL_KINDS[i % TRIAL_KINDS.length]!;
      const outcome = await project!.trial(kind, SEED + i);
      const c = counts[kind];
      c.trials++;
      c.checked += outcome.checked;
      c.lost += outcome.lost;
      c.duplicated += outcome.duplicated;
      c.wrong += outcome.wrong;
      if (outcome.lost + outcome.duplicated + outcome.wrong > 0 || outcome.problems.length > 0) {
        c.failed++;
        c.problems.push(`seed ${outcome.seed}: ${outcome.problems.join("; ") || "values lost, duplicated or wrong"}`);
      }
    }
  } finally {
    project?.remove();
  }
  line("| trial | trials | failed | values checked | lost | duplicated | wrong |");
  line("| --- | --- | --- | --- | --- | --- | --- |");
  for (const [kind, c] of Object.entries(counts))
    line(`| ${kind} | ${c.trials} | ${c.failed} | ${c.checked} | ${c.lost} | ${c.duplicated} | ${c.wrong} |`);
  line(`\n${TRIALS} trials in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  for (const c of Object.values(counts)) for (const problem of c.problems.slice(0, 3)) line(`- ${problem}`);
  return counts;
}
