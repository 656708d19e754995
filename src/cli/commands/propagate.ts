import { readFileSync } from "node:fs";
import { FlorError, FlorUsageError } from "../../errors.js";
import { propagate } from "../../propagate/propagate.js";
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
  const stderr = report.declined
    .map((d) => `flor: declined flor.log("${d.name}") from line ${d.fromLine} of ${newFile}: ${d.reason}\n`)
    .join("");
  return { stdout: report.code, stderr, exitCode };
}
