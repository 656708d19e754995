import { readFileSync } from "node:fs";
import { FlorError, FlorUsageError } from "../../errors.js";
import { type PropagationReport, propagate } from "../../propagate/propagate.js";
import type { CommandOutput } from "../output.js";

/** Exit code when some statement could not be placed: distinct from errors (1) and usage (2). */
export const DECLINED_EXIT_CODE = 3;

export function propagateCommand(newFile: string | undefined, oldFile: string | undefined, json: boolean): CommandOutput {
  if (newFile === undefined || oldFile === undefined) throw new FlorUsageError("flor propagate needs --new <file> and --old <file>");
  const read = (file: string): string => {
    try {
      return readFileSync(file, "utf8");
    } catch (error) {
      throw new FlorError(
        `cannot read ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`,
      );
    }
  };
  const report = propagate(read(newFile), read(oldFile), { filename: oldFile });
  const exitCode = report.declined.length > 0 ? DECLINED_EXIT_CODE : 0;
  if (json) return { stdout: `${JSON.stringify(report, null, 2)}\n`, stderr: "", exitCode };
  return { stdout: report.code, stderr: describeReport(report, newFile), exitCode };
}

/** One line per flor.log call of the new version, in its order: where it went, that it was there, or why not. */
export function describeReport(report: PropagationReport, newFile: string): string {
  const lines: { at: number; text: string }[] = [];
  for (const i of report.injected) {
    const renamed = Object.entries(i.renamed).map(([from, to]) => `${from} → ${to}`);
    const helpers =
      i.helpers.length > 0 ? `, with ${i.helpers.length} statement${i.helpers.length > 1 ? "s" : ""} computing its value` : "";
    const how = i.form === "wrapped" ? "wrapped the old version's expression" : "inserted";
    lines.push({
      at: i.fromLine,
      text: `injected flor.log("${i.name}") from line ${i.fromLine} of ${newFile}: ${how} at line ${i.line}${renamed.length > 0 ? ` (renamed ${renamed.join(", ")})` : ""}${helpers}`,
    });
  }
  for (const p of report.present)
    lines.push({
      at: p.fromLine,
      text: `present flor.log("${p.name}") from line ${p.fromLine} of ${newFile}: already at line ${p.line}${p.note ? ` (${p.note})` : ""}`,
    });
  for (const d of report.declined)
    lines.push({ at: d.fromLine, text: `declined flor.log("${d.name}") from line ${d.fromLine} of ${newFile}: ${d.reason}` });
  lines.sort((a, b) => a.at - b.at);
  if (report.addedImport !== null) lines.push({ at: 0, text: `added \`${report.addedImport.text}\` at line ${report.addedImport.line}` });
  return lines.map((l) => `flor: ${l.text}\n`).join("");
}
