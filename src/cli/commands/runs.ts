import { listRuns } from "../../store/queries/runs.js";
import { renderRuns } from "../command-text.js";
import type { OutputFormat } from "../output.js";
import { withProject } from "../project-session.js";

export async function runsCommand(format: OutputFormat): Promise<string> {
  return withProject("runs", async ({ layout, store }) => renderRuns(await listRuns(store, layout.projid), format));
}
