import { renderPieces } from "../text/render-table.js";
import type { PrintSpec } from "./flor-api.js";

/**
 * An answer with its rows printed where they are, as every transport that holds the rows prints them
 * (a Printed answer whose text is made as it is read).
 */
export function printRows<T extends { columns: string[]; rows: readonly object[] }>(
  answer: T,
  print: PrintSpec,
): Omit<T, "rows"> & { text: Iterable<string> } {
  const { rows, ...rest } = answer;
  return { ...rest, text: renderPieces(answer.columns, rows, print.format, { short: print.short }) };
}
