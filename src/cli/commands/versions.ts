import { listVersions } from "../../versions/versions.js";
import { render, type OutputFormat } from "../output.js";
import { withProject } from "../project-session.js";

export async function versionsCommand(format: OutputFormat): Promise<string> {
  return withProject("versions", async ({ layout, store }) => {
    const versions = await listVersions(store, layout.projid, layout.root);
    if (format !== "table") return render(["vid", "kind", "base", "message", "committedAt", "firstRun", "lastRun", "runs", "filenames"], versions, format);
    const rows = versions.map((v) => ({ ...v, vid: v.vid.slice(0, 10), filenames: v.filenames.join(" ") }));
    return render(["vid", "kind", "message", "firstRun", "lastRun", "runs", "filenames"], rows, format);
  });
}
