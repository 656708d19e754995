import type { FlorApi, ReplayMode } from "../../app/flor-api.js";
import { answerNotes, fillingNote, startedNote } from "../command-text.js";
import { render, type CommandOutput, type OutputFormat } from "../output.js";
import { ReplayProgress } from "../progress.js";

export interface QueryCommandOptions {
  explain: boolean;
  replay: ReplayMode;
  format: OutputFormat;
}

/**
 * `flor query "<florql>"` and `flor explain "<florql>"` (or a query starting with EXPLAIN): the answer,
 * missing values filled by replay as `--replay` says, and the notes about it on stderr.
 */
export async function queryCommand(api: FlorApi, text: string, options: QueryCommandOptions): Promise<CommandOutput> {
  if (options.explain) return { stdout: await api.explain(text), stderr: "", exitCode: 0 };
  const progress = new ReplayProgress();
  const answer = await api
    .answerQuery(text, options.replay, {
      onFilling: (missing) => process.stderr.write(fillingNote(missing.names, missing.tasks, missing.estimatedSeconds)),
      onProgress: (job) => progress.update(job),
    })
    .finally(() => progress.end());
  if (answer.explained) return { stdout: answer.explain, stderr: "", exitCode: 0 };
  const stderr = startedNote(answer.notes.started) + answerNotes(answer, options.replay);
  return {
    stdout: render(answer.columns, options.format === "table" ? shortVids(answer.columns, answer.rows) : answer.rows, options.format),
    stderr,
    exitCode: 0,
  };
}

/** Tables show vids as their first 10 characters, as `flor runs` and `flor versions` do; json and csv keep them whole. */
function shortVids(columns: readonly string[], rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const vids = columns.filter((column) => column === "vid" || column === "run.vid");
  if (vids.length === 0) return [...rows];
  return rows.map((row) => {
    const short = { ...row };
    for (const column of vids) if (typeof short[column] === "string") short[column] = (short[column] as string).slice(0, 10);
    return short;
  });
}
