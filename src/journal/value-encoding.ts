/**
 * Encodes a logged value as the tail of a journal `log` line. Hot path: `flor.log` calls it once per
 * value, so scalars avoid JSON.stringify and non-finite numbers (NaN losses are exactly what people
 * debug) survive as `"x"` instead of turning into null; `nonFiniteNumber` reads them back.
 */
export function encodeLogValue(value: unknown): string {
  switch (typeof value) {
    case "number":
      if (Number.isFinite(value)) return `"v":${value}`;
      return Number.isNaN(value) ? `"x":"NaN"` : value > 0 ? `"x":"Infinity"` : `"x":"-Infinity"`;
    case "string":
      return `"v":${JSON.stringify(value)}`;
    case "boolean":
      return value ? `"v":true` : `"v":false`;
    case "undefined":
      return `"v":null`;
    case "bigint":
      return Number.isSafeInteger(Number(value)) ? `"v":${value}` : `"v":"${value}"`;
    case "object":
      return value === null ? `"v":null` : `"v":${JSON.stringify(value, jsonReplacer)}`;
    default:
      throw new TypeError(`a ${typeof value} cannot be logged; log numbers, strings, booleans, null, arrays or plain objects`);
  }
}

/** The number a log record's `"x"` stands for, or undefined when it is not one that encodeLogValue writes. */
export function nonFiniteNumber(x: unknown): number | undefined {
  return x === "NaN" ? NaN : x === "Infinity" ? Infinity : x === "-Infinity" ? -Infinity : undefined;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (x) => (typeof x === "bigint" ? Number(x) : x));
  }
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

/** The JSON scalar an iteration's item is recorded as, or undefined when it is not a scalar. */
export function scalarOf(item: unknown): string | number | boolean | undefined {
  if (typeof item === "string" || typeof item === "boolean") return item;
  if (typeof item === "number" && Number.isFinite(item)) return item;
  return undefined;
}
