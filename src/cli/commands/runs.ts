import { listRuns } from "../../store/queries/runs.js";
import { render, type OutputFormat } from "../output.js";
import { withProject } from "../project-session.js";

export async function runsCommand(format: OutputFormat): Promise<string> {
  return withProject("runs", async ({ layout, store }) => {
    const runs = await listRuns(store, layout.projid);
    if (format !== "table") return render(["projid", "tstamp", "filename", "vid", "status", "seconds", "logs", "args"], runs, format);
    const rows = runs.map((run) => ({
      ...run, vid: run.vid?.slice(0, 10) ?? null, seconds: run.seconds === null ? null : Number(run.seconds.toFixed(3)),
      args: Object.entries(run.args).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" "),
    }));
    return render(["tstamp", "filename", "vid", "status", "seconds", "logs", "args"], rows, format);
  });
}
