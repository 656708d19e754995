import type { FlorApi, ReplayMode } from "../../app/flor-api.js";
import { answerNotes, fillingNote, startedNote } from "../command-text.js";
import type { CommandOutput, OutputFormat } from "../output.js";
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
    // Tables show vids by their first 10 characters, as `flor runs` and `flor versions` do.
    .printQuery(
      text,
      options.replay,
      { format: options.format, short: ["vid", "run.vid"] },
      {
        onFilling: (missing) => process.stderr.write(fillingNote(missing.names, missing.tasks, missing.estimatedSeconds)),
        onProgress: (job) => progress.update(job),
      },
    )
    .finally(() => progress.end());
  if (answer.explained) return { stdout: answer.explain, stderr: "", exitCode: 0 };
  const stderr = startedNote(answer.notes.started) + answerNotes(answer, options.replay);
  return { stdout: answer.text, stderr, exitCode: 0 };
}
