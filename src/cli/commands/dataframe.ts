import type { StoreApi } from "../../app/store-api.js";
import { render, type CommandOutput, type OutputFormat } from "../output.js";

/** `flor dataframe [names...]`: the pivot, and a warning for each name with values no replay could verify. */
export async function dataframeCommand(session: StoreApi, names: string[], format: OutputFormat): Promise<CommandOutput> {
  const frame = await session.dataframe(names);
  const rows =
    format === "table"
      ? frame.rows.map((row) => ({ ...row, vid: typeof row["vid"] === "string" ? row["vid"].slice(0, 10) : null }))
      : frame.rows;
  const stderr = frame.unverified
    .map(
      ({ name, rows: count }) =>
        `flor: warning: ${count} row(s) hold unverified values of ${name} (${name}__verified is false): a replay from the run's start did not reproduce the recorded values\n`,
    )
    .join("");
  return { stdout: render(frame.columns, rows, format), stderr, exitCode: 0 };
}
