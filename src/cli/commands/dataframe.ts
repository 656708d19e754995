import type { StoreApi } from "../../app/store-api.js";
import { render, type OutputFormat } from "../output.js";

export async function dataframeCommand(session: StoreApi, names: string[], format: OutputFormat): Promise<string> {
  const frame = await session.dataframe(names);
  const rows =
    format === "table"
      ? frame.rows.map((row) => ({ ...row, vid: typeof row["vid"] === "string" ? row["vid"].slice(0, 10) : null }))
      : frame.rows;
  return render(frame.columns, rows, format);
}
