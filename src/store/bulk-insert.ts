/** A column for bulk loading: its name and its values, in row order. */
export interface BulkColumn {
  name: string;
  values: readonly unknown[];
}

/**
 * Encodes columns as CSV for PostgreSQL's COPY, the fastest way to load rows. An unquoted empty field
 * is NULL; everything else is quoted where needed. Objects are written as JSON (for jsonb columns),
 * non-finite numbers as PostgreSQL spells them.
 */
export function toCsv(columns: readonly BulkColumn[]): string {
  const count = columns[0]?.values.length ?? 0;
  const parts: string[] = [];
  for (let row = 0; row < count; row++) {
    let line = "";
    for (let c = 0; c < columns.length; c++) {
      if (c > 0) line += ",";
      line += field(columns[c]!.values[row]);
    }
    parts.push(line);
  }
  return parts.length === 0 ? "" : `${parts.join("\n")}\n`;
}

function field(value: unknown): string {
  switch (typeof value) {
    case "number":
      return Number.isNaN(value) ? "NaN" : value === Infinity ? "Infinity" : value === -Infinity ? "-Infinity" : String(value);
    case "boolean":
      return value ? "t" : "f";
    case "string":
      return quote(value);
    case "undefined":
      return "";
    default:
      return value === null ? "" : quote(JSON.stringify(value));
  }
}

function quote(text: string): string {
  return `"${text.includes('"') ? text.replace(/"/g, '""') : text}"`;
}

/** Double-quotes an identifier of ours (table and column names are constants, never user text). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
