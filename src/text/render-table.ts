export type OutputFormat = "table" | "json" | "csv";

/** Renders rows: json is an array of row objects, csv follows RFC 4180, table aligns columns for people. */
export function render(columns: readonly string[], records: readonly object[], format: OutputFormat): string {
  const rows = records as readonly Record<string, unknown>[];
  if (format === "json")
    return `${JSON.stringify(
      rows.map((row) => Object.fromEntries(columns.map((c) => [c, jsonSafe(row[c])]))),
      null,
      2,
    )}\n`;
  if (format === "csv") {
    const lines = [columns.map(csvField).join(",")];
    for (const row of rows) lines.push(columns.map((c) => csvField(cell(row[c], ""))).join(","));
    return `${lines.join("\r\n")}\r\n`;
  }
  if (rows.length === 0) return "(no rows)\n";
  const cells = rows.map((row) => columns.map((c) => truncate(cell(row[c], "-"))));
  // A loop, not Math.max(...): a million rows as arguments overflow the stack.
  const widths = columns.map((c) => c.length);
  for (const r of cells) for (let i = 0; i < widths.length; i++) if (r[i]!.length > widths[i]!) widths[i] = r[i]!.length;
  const numeric = columns.map((c) => rows.every((row) => row[c] === null || row[c] === undefined || typeof row[c] === "number"));
  const line = (values: string[]): string =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const lines = [line([...columns]), line(widths.map((w) => "-".repeat(w)))];
  for (const r of cells) lines.push(line(r));
  return `${lines.join("\n")}\n`;
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
