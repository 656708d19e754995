import { listVersions } from "../../versions/versions.js";
import { renderVersions } from "../command-text.js";
import type { OutputFormat } from "../output.js";
import { withProject } from "../project-session.js";

export async function versionsCommand(format: OutputFormat): Promise<string> {
  return withProject("versions", async ({ layout, store }) =>
    renderVersions(await listVersions(store, layout.projid, layout.root), format),
  );
}
