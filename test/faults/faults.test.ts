import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultProject, TRIAL_KINDS, type TrialOutcome } from "./trials.js";

// Bounded and seeded, so a failure is reproducible: FLOR_FAULT_SEED picks another series.
const SEED = Number(process.env["FLOR_FAULT_SEED"] ?? 20261205);
const TRIALS_PER_KIND = 9;

describe("fault injection on the embedded store", () => {
  let project: FaultProject;
  beforeAll(() => {
    project = new FaultProject();
  });
  afterAll(() => project.remove());

  it.each(TRIAL_KINDS)(
    "%s: nothing flushed is lost, nothing duplicated, nothing wrong",
    async (kind) => {
      const outcomes: TrialOutcome[] = [];
      for (let i = 0; i < TRIALS_PER_KIND; i++) outcomes.push(await project.trial(kind, SEED + TRIAL_KINDS.indexOf(kind) * 1000 + i));
      const failed = outcomes.filter((o) => o.lost + o.duplicated + o.wrong > 0 || o.problems.length > 0);
      expect(failed.map(({ seed, lost, duplicated, wrong, problems }) => ({ seed, lost, duplicated, wrong, problems }))).toEqual([]);
      expect(outcomes.reduce((sum, o) => sum + o.checked, 0)).toBeGreaterThan(0);
    },
    300_000,
  );
});
