import { FlorUsageError } from "../errors.js";
import type { JsonValue } from "../journal/records.js";

/**
 * Reads `--kwargs name=value [name=value ...]` from a script's argv. The list ends at the next
 * `--option` or at the end, so a script's own flags can follow it.
 */
export function parseKwargs(argv: readonly string[]): Map<string, string> {
  const kwargs = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== "--kwargs") continue;
    for (i++; i < argv.length && !argv[i]!.startsWith("--"); i++) {
      const pair = argv[i]!;
      const eq = pair.indexOf("=");
      if (eq <= 0) throw new FlorUsageError(`--kwargs expects name=value pairs, got "${pair}"`, "Example: --kwargs lr=0.01 epochs=5");
      kwargs.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    i--;
  }
  return kwargs;
}

/** A decimal number, NaN or an infinity; 1e999 reads as Infinity, as it does in JavaScript and Python. */
const DECIMAL = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Infinity|NaN)$/;

const TRUE = new Set(["true", "t", "yes", "y", "1"]);
const FALSE = new Set(["false", "f", "no", "n", "0"]);

/** Casts a command-line string to the type of the argument's default. */
export function castToDefault(name: string, text: string, defaultValue: unknown): JsonValue {
  switch (typeof defaultValue) {
    case "number": {
      // Decimal notation only (as Python's float() reads it): Number() would also read 0x10 as 16, 0b1, 0o7.
      if (!DECIMAL.test(text.trim()))
        throw new FlorUsageError(`--kwargs ${name}=${text}: expected a number (the default of ${name} is ${defaultValue})`);
      return Number(text.trim());
    }
    case "boolean": {
      const lower = text.toLowerCase();
      if (TRUE.has(lower)) return true;
      if (FALSE.has(lower)) return false;
      throw new FlorUsageError(`--kwargs ${name}=${text}: expected true or false (the default of ${name} is ${defaultValue})`);
    }
    case "string":
      return text;
    default:
      // null, arrays and objects: read JSON; a bare word with a null default stays a string.
      try {
        return JSON.parse(text) as JsonValue;
      } catch {
        if (defaultValue === null || defaultValue === undefined) return text;
        throw new FlorUsageError(`--kwargs ${name}=${text}: expected JSON like the default ${JSON.stringify(defaultValue)}`);
      }
  }
}
