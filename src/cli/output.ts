import { FlorUsageError } from "../errors.js";
import type { OutputFormat } from "../text/render-table.js";

export { render, type OutputFormat } from "../text/render-table.js";

/** What a command prints, and its exit code. */
export interface CommandOutput {
  /** The text, or its pieces as they are made (a large answer is written out without being held whole). */
  stdout: string | Iterable<string> | AsyncIterable<string | Uint8Array>;
  stderr: string;
  exitCode: number;
}

export function parseFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return "table";
  if (value === "table" || value === "json" || value === "csv") return value;
  throw new FlorUsageError(`--format must be table, json or csv, not "${value}"`);
}
