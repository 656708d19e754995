import { renderPieces } from "../text/render-table.js";
import type { Printed, PrintSpec } from "./flor-api.js";

/** An answer with its rows printed where they are, as every transport that holds the rows prints them. */
export function printRows<T extends { columns: string[]; rows: readonly object[] }>(answer: T, print: PrintSpec): Printed<T> {
  const { rows, ...rest } = answer;
  return { ...rest, text: renderPieces(answer.columns, rows, print.format, { short: print.short }) };
}
