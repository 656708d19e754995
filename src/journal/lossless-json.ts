/**
 * JSON for the store's jsonb columns, lossless whatever the text holds. PostgreSQL's jsonb cannot hold
 * the character NUL (`\u0000`) nor an unpaired UTF-16 surrogate, which JavaScript strings can, and one
 * such logged string made every later ingest, and so every command, fail. Such a value is stored as
 * its JSON text inside an object `{"$flor.json": text}` (the text then holds only ASCII escapes); a
 * value that happens to be such an object itself is wrapped too, so reading back is exact.
 */

const WRAPPER = "$flor.json";
const NON_FINITE = new Set(["NaN", "Infinity", "-Infinity"]);
/** NUL, or a surrogate escape: JSON.stringify escapes exactly the unpaired ones (and NUL). */
const UNSTORABLE = /\\u0000|\\ud[89a-f][0-9a-f]{2}/i;

/** Whether JSON text holds what PostgreSQL's text and jsonb refuse: a NUL or an unpaired surrogate (escaped). */
export function holdsUnstorable(json: string): boolean {
  return UNSTORABLE.test(json);
}

/** The JSON text to store for `value`. */
export function storedJson(value: unknown): string {
  // JSON has no NaN or infinities (JSON.stringify writes null): their names are kept instead.
  if (typeof value === "number" && !Number.isFinite(value)) return JSON.stringify({ [WRAPPER]: String(value) });
  const text = JSON.stringify(value);
  return holdsUnstorable(text) || isWrapper(value) ? JSON.stringify({ [WRAPPER]: text }) : text;
}

/** A value read from a jsonb column, as it was logged. */
export function fromStored<T>(value: T): T {
  if (!isWrapper(value)) return value;
  const text = (value as Record<string, string>)[WRAPPER]!;
  return (NON_FINITE.has(text) ? Number(text) : JSON.parse(text)) as T;
}

function isWrapper(value: unknown): boolean {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === WRAPPER && typeof (value as Record<string, unknown>)[WRAPPER] === "string";
}
