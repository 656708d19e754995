/** @jsxImportSource preact */
import { useState } from "preact/hooks";
import { savedToken, saveToken } from "./api.js";
import type { QueryState } from "./florql-query.js";
import { when } from "./format.js";

/**
 * What an answer lacks and what can be done about it: the values past versions never logged (and a
 * button that fills them by replay, asking for the token once per session), the names replay cannot
 * fill, the unverified values, and a running fill's progress, divergences included.
 */
export function HindsightPanel({ state, onFill }: { state: QueryState; onFill(): void }) {
  const [token, setToken] = useState("");
  const answer = state.answer;
  // The plan is there with no tasks when nothing is missing (as the CLI reads it too).
  const plan = answer?.replayPlan !== null && answer?.replayPlan !== undefined && answer.replayPlan.tasks > 0 ? answer.replayPlan : null;
  const fill = state.fill;
  const askToken = state.needsToken || savedToken() === null;
  const filling = fill !== null && (fill.job.status === "QUEUED" || fill.job.status === "RUNNING");
  return (
    <div class="hindsight">
      {plan !== null && !filling && (
        <div class="missing" role="status">
          <p>
            <strong>Missing:</strong> past versions never logged <code>{plan.names.join(", ")}</code>. Replay can fill it for {plan.runs}{" "}
            run{plan.runs === 1 ? "" : "s"} ({plan.tasks} task{plan.tasks === 1 ? "" : "s"}, about {plan.estimatedSeconds.toFixed(1)} s).
          </p>
          <form
            class="fill-form"
            onSubmit={(event) => {
              event.preventDefault();
              if (askToken) saveToken(token);
              onFill();
            }}
          >
            {askToken && (
              <label>
                token (<code>.flor/graphql-token</code>, kept for this tab only)
                <input type="password" autoComplete="off" value={token} required onInput={(e) => setToken(e.currentTarget.value)} />
              </label>
            )}
            <button type="submit">Fill by replay</button>
          </form>
        </div>
      )}
      {answer?.unfillable.map((u) => (
        <p key={u.name} class="warning">
          Cannot fill <code>{u.name}</code> for {u.runs} run(s): {u.reasons.join("; ")}
        </p>
      ))}
      {answer?.unverified.map((u) => (
        <p key={u.name} class="warning">
          <code>{u.name}</code>: {u.rows} row(s) hold unverified values (a replay from the run's start did not reproduce the run); select{" "}
          <code>{u.name}__verified</code> to see which.
        </p>
      ))}
      {fill !== null && (
        <div class="fill" aria-live="polite" data-events={fill.events}>
          <p>
            Replay job {fill.job.id}: <strong data-job-status={fill.job.status}>{fill.job.status.toLowerCase()}</strong>,{" "}
            {fill.job.tasks.done} of {fill.job.tasks.total} tasks done{fill.job.tasks.failed > 0 ? `, ${fill.job.tasks.failed} failed` : ""}
            , {fill.job.values} values written
            <span class="subtle"> (last event: {fill.last})</span>
          </p>
          <progress
            value={fill.job.tasks.done + fill.job.tasks.failed}
            max={Math.max(1, fill.job.tasks.total)}
            aria-label="Replay progress"
          />
          {fill.reconnecting !== null && <p class="subtle">{fill.reconnecting}</p>}
          {fill.failure !== null && (
            <p class="error" role="alert">
              {fill.failure}
            </p>
          )}
          {fill.job.error !== null && (
            <p class="error" role="alert">
              {fill.job.error}
            </p>
          )}
          {(fill.job.divergenceCount > 0 || fill.job.unverified > 0) && (
            <div class="warning">
              <p>
                {fill.job.divergenceCount} recorded value(s) were not reproduced; {fill.job.redone} task(s) redone from the run's start;{" "}
                {fill.job.unverified} value(s) stored unverified.
              </p>
              <ul>
                {fill.job.divergedRuns.map((r) => (
                  <li key={r.tstamp}>
                    {r.filename} at {when(r.tstamp)}: {r.cause}
                    {r.redone ? " (redone from the start)" : ""}
                    {r.unverified > 0 ? `, ${r.unverified} unverified` : ""}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
