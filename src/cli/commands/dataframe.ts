import type { StoreApi } from "../../app/store-api.js";
import type { CommandOutput, OutputFormat } from "../output.js";

/** `flor dataframe [names...]`: the pivot, and a warning for each name with values no replay could verify. */
export async function dataframeCommand(session: StoreApi, names: string[], format: OutputFormat): Promise<CommandOutput> {
  const frame = await session.printDataframe(names, { format, short: ["vid"] });
  const stderr = frame.unverified
    .map(
      ({ name, rows: count }) =>
        `flor: warning: ${count} row(s) hold unverified values of ${name} (${name}__verified is false): a replay from the run's start did not reproduce the recorded values\n`,
    )
    .join("");
  return { stdout: frame.text, stderr, exitCode: 0 };
}
