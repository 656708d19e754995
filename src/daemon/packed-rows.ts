import type { JsonValue } from "../journal/records.js";

/**
 * Rows as an answer carries them over the daemon's socket: one array per column instead of one object per
 * row. A column of numbers travels as a Float64Array, a column of strings as a dictionary and codes, so
 * 100k rows cross as a few arrays, and the command that prints them never holds 100k row objects: in a
 * short-lived CLI process those objects and the young-generation space V8 grows for them were most of its
 * memory (a 100k-row answer took the command from 48 MB to 130 MB).
 */
export interface PackedRows {
  count: number;
  columns: string[];
  data: PackedColumn[];
}

type PackedColumn =
  /** Numbers (NaN, ±Infinity and -0 kept); `nulls[i] === 1` where the value is null. */
  | { kind: "numbers"; values: Float64Array; nulls: Uint8Array | null }
  /** Strings by their index in `words`; NULL_CODE where the value is null. */
  | { kind: "strings"; words: string[]; codes: Uint32Array }
  | { kind: "values"; values: JsonValue[] };

const NULL_CODE = 0xffffffff;

export function packRows(columns: readonly string[], rows: readonly Record<string, JsonValue>[]): PackedRows {
  return { count: rows.length, columns: [...columns], data: columns.map((column) => packColumn(column, rows)) };
}

function packColumn(column: string, rows: readonly Record<string, JsonValue>[]): PackedColumn {
  let numbers = true;
  let strings = true;
  let nulls = false;
  for (const row of rows) {
    const value = row[column] ?? null;
    if (value === null) nulls = true;
    else if (typeof value === "number") strings = false;
    else if (typeof value === "string") numbers = false;
    else return { kind: "values", values: rows.map((r) => r[column] ?? null) };
  }
  if (numbers) {
    const values = new Float64Array(rows.length);
    const mask = nulls ? new Uint8Array(rows.length) : null;
    rows.forEach((row, i) => {
      const value = row[column] ?? null;
      if (value === null) mask![i] = 1;
      else values[i] = value as number;
    });
    return { kind: "numbers", values, nulls: mask };
  }
  if (strings) {
    const words: string[] = [];
    const index = new Map<string, number>();
    const codes = new Uint32Array(rows.length);
    rows.forEach((row, i) => {
      const value = row[column] ?? null;
      if (value === null) codes[i] = NULL_CODE;
      else {
        let code = index.get(value as string);
        if (code === undefined) {
          code = words.length;
          words.push(value as string);
          index.set(value as string, code);
        }
        codes[i] = code;
      }
    });
    return { kind: "strings", words, codes };
  }
  // Numbers and strings mixed (a log name whose values changed type between versions).
  return { kind: "values", values: rows.map((r) => r[column] ?? null) };
}

/**
 * The rows again, as a read-only array whose row objects are made when they are read (and not kept):
 * the command renders them one at a time, so memory stays at the columns' size.
 */
export function unpackRows(packed: PackedRows): Record<string, JsonValue>[] {
  const readers = packed.data.map(columnReader);
  const { columns, count } = packed;
  const row = (i: number): Record<string, JsonValue> => {
    const out: Record<string, JsonValue> = {};
    for (let c = 0; c < columns.length; c++) out[columns[c]!] = readers[c]!(i);
    return out;
  };
  const rowIndex = (key: string | symbol): number | null => {
    if (typeof key !== "string") return null;
    const i = Number(key);
    return Number.isInteger(i) && i >= 0 && i < count && String(i) === key ? i : null;
  };
  const readOnly = (): never => {
    throw new TypeError("the rows of a daemon's answer are read-only");
  };
  return new Proxy(new Array<Record<string, JsonValue>>(count), {
    get(target, key, receiver) {
      const i = rowIndex(key);
      return i === null ? Reflect.get(target, key, receiver) : row(i);
    },
    has(target, key) {
      return rowIndex(key) !== null || Reflect.has(target, key);
    },
    ownKeys(target) {
      return [...Array.from({ length: count }, (_, i) => String(i)), ...Reflect.ownKeys(target)];
    },
    getOwnPropertyDescriptor(target, key) {
      const i = rowIndex(key);
      if (i === null) return Reflect.getOwnPropertyDescriptor(target, key);
      return { value: row(i), writable: false, enumerable: true, configurable: true };
    },
    set: readOnly,
    defineProperty: readOnly,
    deleteProperty: readOnly,
  });
}

function columnReader(column: PackedColumn): (i: number) => JsonValue {
  switch (column.kind) {
    case "numbers": {
      const { values, nulls } = column;
      return nulls === null ? (i) => values[i]! : (i) => (nulls[i] === 1 ? null : values[i]!);
    }
    case "strings": {
      const { words, codes } = column;
      return (i) => (codes[i] === NULL_CODE ? null : words[codes[i]!]!);
    }
    case "values":
      return (i) => column.values[i]!;
  }
}
