import type { FlorApi } from "../../app/flor-api.js";
import { renderVersions } from "../command-text.js";
import type { OutputFormat } from "../output.js";

export async function versionsCommand(api: FlorApi, format: OutputFormat): Promise<string> {
  return renderVersions(await api.versions(), format);
}
