import { dataframe } from "../../store/queries/dataframe.js";
import { render, type OutputFormat } from "../output.js";
import { withProject } from "../project-session.js";

export async function dataframeCommand(names: string[], format: OutputFormat): Promise<string> {
  return withProject("dataframe", async ({ layout, store }) => {
    const frame = await dataframe(store, layout.projid, names);
    const rows =
      format === "table"
        ? frame.rows.map((row) => ({ ...row, vid: typeof row["vid"] === "string" ? row["vid"].slice(0, 10) : null }))
        : frame.rows;
    return render(frame.columns, rows, format);
  });
}
