import type { FlorApi } from "../../app/flor-api.js";
import { renderRuns } from "../command-text.js";
import type { OutputFormat } from "../output.js";

export async function runsCommand(api: FlorApi, format: OutputFormat): Promise<string> {
  return renderRuns(await api.runs(), format);
}
