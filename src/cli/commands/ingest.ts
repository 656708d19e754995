import { FlorError } from "../../errors.js";
import type { IngestReport } from "../../store/ingest.js";

/** What `flor ingest` reports of the ingest its session ran when it opened. */
export function ingestCommand(report: IngestReport, rebuild: boolean): string {
  const rate = report.seconds > 0 ? Math.round(report.rows / report.seconds) : 0;
  const summary = `${rebuild ? "rebuilt from" : "ingested"} ${report.read} of ${report.journals} journals: ${report.runs} new runs, ${report.rows} rows in ${report.seconds.toFixed(2)} s (${rate} rows/s)\n`;
  if (report.problems.length > 0) {
    throw new FlorError(`${summary}the valid records were ingested, but:\n  ${report.problems.join("\n  ")}`);
  }
  return summary;
}
