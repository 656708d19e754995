/** One argument condition as the API's ArgFilter takes it. */
export interface ArgFilter {
  name: string;
  value?: unknown;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

const OPERATORS: Record<string, "gt" | "gte" | "lt" | "lte" | "value"> = { ">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "value" };

/**
 * Reads conditions such as `lr>=0.01 hidden=32 opt=adam` (separated by spaces or commas) into ArgFilters.
 * `=` compares as JSON (so `32` is a number, `adam` a string); the others compare numbers.
 */
export function parseArgFilters(text: string): ArgFilter[] {
  const filters: ArgFilter[] = [];
  for (const part of text.split(/[\s,]+/).filter((p) => p !== "")) {
    const match = /^([A-Za-z_][\w.]*)(>=|<=|=|>|<)(.+)$/.exec(part);
    if (match === null) throw new Error(`"${part}" is not a condition such as lr>=0.01 or hidden=32`);
    const [, name, op, raw] = match as unknown as [string, string, string, string];
    const key = OPERATORS[op]!;
    if (key === "value") {
      let value: unknown = raw;
      try {
        value = JSON.parse(raw);
      } catch {
        // A bare word is a string.
      }
      filters.push({ name, value });
    } else {
      const number = Number(raw);
      if (!Number.isFinite(number)) throw new Error(`"${part}": ${op} compares numbers, and ${raw} is not one`);
      filters.push({ name, [key]: number });
    }
  }
  return filters;
}
