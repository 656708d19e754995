import { render } from "../text/render-table.js";
import type { ReplayPlan } from "./replay-plan.js";

/** The runs a plan replays, for people: run, vid, mode, outermost-loop iterations, estimated seconds, and those of re-running it from scratch. */
export function replayRunsTable(plan: ReplayPlan): string {
  return render(
    ["run", "vid", "mode", "iterations", "estimate_s", "from_scratch_s"],
    plan.runs
      .filter((r) => r.outcome === "replay")
      .map((r) => ({
        run: r.tstamp,
        vid: r.vid?.slice(0, 10) ?? null,
        mode: r.mode,
        iterations:
          r.ranges.length === 0 ? "-" : r.ranges.map(([from, to]) => (to - from === 1 ? `${from}` : `${from}..${to - 1}`)).join(","),
        estimate_s: Number(r.estimatedSeconds.toFixed(2)),
        from_scratch_s: Number(r.fullSeconds.toFixed(2)),
      })),
    "table",
  ).trimEnd();
}
