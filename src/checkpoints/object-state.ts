import { deserialize, serialize } from "node:v8";
import { FlorError } from "../errors.js";

/** An object that owns its checkpoint format, like a model or an optimizer. */
export interface Stateful {
  stateDict(): unknown;
  loadStateDict(state: never): void;
}

function isStateful(value: object): value is Stateful {
  const candidate = value as Partial<Stateful>;
  return typeof candidate.stateDict === "function" && typeof candidate.loadStateDict === "function";
}

/**
 * Serialises a registered object's state with V8's structured clone (typed arrays, Maps, Sets, Dates and
 * nested plain data survive; functions do not).
 */
export function captureState(name: string, value: object): Buffer {
  const state = isStateful(value) ? value.stateDict() : value;
  try {
    return serialize(state);
  } catch (error) {
    throw new FlorError(`flor.checkpointing: "${name}" cannot be checkpointed: ${(error as Error).message}`, {
      hint: "Give it stateDict() and loadStateDict(state) methods that return and accept plain data.",
    });
  }
}

/** Restores `bytes` (from captureState) into `target` in place, so references to it stay valid. */
export function restoreState(target: object, bytes: Uint8Array): void {
  const state: unknown = deserialize(bytes);
  if (isStateful(target)) {
    (target.loadStateDict as (s: unknown) => void)(state);
    return;
  }
  assignInPlace(target, state);
}

function assignInPlace(target: object, state: unknown): void {
  if (ArrayBuffer.isView(target) && !(target instanceof DataView)) {
    (target as unknown as { set(source: ArrayLike<number>): void }).set(state as ArrayLike<number>);
    return;
  }
  if (target instanceof Map && state instanceof Map) {
    target.clear();
    for (const [key, value] of state) target.set(key, value);
    return;
  }
  if (target instanceof Set && state instanceof Set) {
    target.clear();
    for (const value of state) target.add(value);
    return;
  }
  if (typeof state !== "object" || state === null) {
    throw new FlorError("cannot restore a checkpoint: the saved state is not an object like its target");
  }
  const record = target as Record<string, unknown>;
  const saved = state as Record<string, unknown>;
  if (Array.isArray(target)) target.length = (saved as unknown as unknown[]).length;
  for (const key of Object.keys(record)) if (!(key in saved)) delete record[key];
  for (const [key, value] of Object.entries(saved)) {
    const current = record[key];
    if (sameKind(current, value)) assignInPlace(current as object, value);
    else record[key] = value;
  }
}

/** Whether `current` can be updated in place from `saved` (same container kind and, for typed arrays, length). */
function sameKind(current: unknown, saved: unknown): boolean {
  if (typeof current !== "object" || current === null || typeof saved !== "object" || saved === null) return false;
  if (ArrayBuffer.isView(current)) {
    return (
      ArrayBuffer.isView(saved) &&
      current.constructor === saved.constructor &&
      (current as unknown as ArrayLike<number>).length === (saved as unknown as ArrayLike<number>).length
    );
  }
  if (Array.isArray(current)) return Array.isArray(saved);
  if (current instanceof Map) return saved instanceof Map;
  if (current instanceof Set) return saved instanceof Set;
  if (current instanceof Date) return false;
  return (
    !Array.isArray(saved) && !(saved instanceof Map) && !(saved instanceof Set) && !ArrayBuffer.isView(saved) && !(saved instanceof Date)
  );
}
