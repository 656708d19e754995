export type OutputFormat = "table" | "json" | "csv";

/**
 * Rows per piece of rendered text. Small: a piece being built survives the garbage collections its rows' strings
 * cause, and 2,000-row pieces kept old space growing (100k rows printed: 78 MB peak, against 72 MB with 100).
 */
const ROWS_PER_PIECE = 100;

export interface RenderOptions {
  /** Columns a table shows by their first 10 characters (vids); json and csv keep them whole. */
  short?: readonly string[];
}

/** Renders rows: json is an array of row objects, csv follows RFC 4180, table aligns columns for people. */
export function render(columns: readonly string[], records: readonly object[], format: OutputFormat, options: RenderOptions = {}): string {
  let text = "";
  for (const piece of renderPieces(columns, records, format, options)) text += piece;
  return text;
}

/**
 * The same text as `render`, in pieces of ROWS_PER_PIECE rows, made as they are read: a command that prints
 * a large answer writes it out piece by piece instead of building a string (and, for a table, an array of
 * cells) as large as the answer first.
 */
export function* renderPieces(
  columns: readonly string[],
  records: readonly object[],
  format: OutputFormat,
  options: RenderOptions = {},
): Generator<string> {
  const rows = records as readonly Record<string, unknown>[];
  if (format === "json")
    yield* rows.length === 0 ? ["[]\n"] : pieces("[\n", rows.length, (r) => jsonRow(columns, rows[r]!, r === rows.length - 1), "]\n");
  else if (format === "csv")
    yield* pieces(
      `${columns.map(csvField).join(",")}\r\n`,
      rows.length,
      (r) => `${columns.map((c) => csvField(cell(rows[r]![c], ""))).join(",")}\r\n`,
    );
  else if (rows.length === 0) yield "(no rows)\n";
  else yield* tablePieces(columns, rows, options.short ?? []);
}

/** `head`, the text of each of `count` rows, and `tail`, in pieces of ROWS_PER_PIECE rows. */
function* pieces(head: string, count: number, row: (r: number) => string, tail = ""): Generator<string> {
  let piece = head;
  for (let r = 0; r < count; r++) {
    piece += row(r);
    if ((r + 1) % ROWS_PER_PIECE === 0) {
      yield piece;
      piece = "";
    }
  }
  piece += tail;
  if (piece !== "") yield piece;
}

function* tablePieces(columns: readonly string[], rows: readonly Record<string, unknown>[], short: readonly string[]): Generator<string> {
  const cut = columns.map((c) => short.includes(c));
  const tableCell = (value: unknown, i: number): string => {
    const text = truncate(cell(value, "-"));
    return cut[i] && typeof value === "string" ? text.slice(0, 10) : text;
  };
  // Two passes over the rows, each cell's text made in both, rather than every cell kept between them.
  const widths = columns.map((c) => c.length);
  const numeric = columns.map(() => true);
  for (const row of rows)
    for (let i = 0; i < columns.length; i++) {
      const value = row[columns[i]!];
      const width = tableCell(value, i).length;
      if (width > widths[i]!) widths[i] = width;
      if (value !== null && value !== undefined && typeof value !== "number") numeric[i] = false;
    }
  // Built by concatenation, without arrays per row: a large table's rows are most of what the command allocates.
  const line = (text: (i: number) => string): string => {
    let out = "";
    for (let i = 0; i < columns.length; i++) {
      const value = text(i);
      out += `${i === 0 ? "" : "  "}${numeric[i] ? value.padStart(widths[i]!) : value.padEnd(widths[i]!)}`;
    }
    return out.trimEnd();
  };
  yield* pieces(
    `${line((i) => columns[i]!)}\n${line((i) => "-".repeat(widths[i]!))}\n`,
    rows.length,
    (r) => `${line((i) => tableCell(rows[r]![columns[i]!], i))}\n`,
  );
}

/** A row as JSON.stringify(rows, null, 2) prints it: its own 2-space indented text, indented once more. */
function jsonRow(columns: readonly string[], row: Record<string, unknown>, last: boolean): string {
  const text = JSON.stringify(Object.fromEntries(columns.map((c) => [c, jsonSafe(row[c])])), null, 2);
  return `  ${text.replaceAll("\n", "\n  ")}${last ? "\n" : ",\n"}`;
}

/** JSON has no NaN or Infinity: they are written as strings so the value is not lost. */
function jsonSafe(value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? String(value) : (value ?? null);
}

function cell(value: unknown, empty: string): string {
  if (value === null || value === undefined) return empty;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
