import { deserialize, serialize } from "node:v8";
import { FlorError } from "../errors.js";

/** An object that owns its checkpoint format, like a model or an optimizer. */
export interface Stateful {
  stateDict(): unknown;
  loadStateDict(state: never): void;
}

/** An object that writes itself as JSON and reads that JSON back in place, like a brain.js network. */
export interface JsonStateful {
  toJSON(): unknown;
  fromJSON(json: never): unknown;
}

/**
 * One shape of checkpointable object: how its state is read as plain data, and how a saved state is put
 * back into the same object (in place, so references to it stay valid). The first adapter that accepts
 * an object is used; `flordb/tfjs` plugs TensorFlow.js in by returning a Stateful.
 */
interface StateAdapter {
  accepts(value: object): boolean;
  capture(value: object): unknown;
  restore(target: object, state: unknown): void;
}

const ADAPTERS: readonly StateAdapter[] = [
  {
    accepts: isStateful,
    capture: (value) => (value as Stateful).stateDict(),
    restore: (target, state) => ((target as Stateful).loadStateDict as (s: unknown) => void)(state),
  },
  {
    accepts: isJsonStateful,
    capture: (value) => (value as JsonStateful).toJSON(),
    restore: (target, state) => ((target as JsonStateful).fromJSON as (s: unknown) => unknown)(state),
  },
  { accepts: isPlainContainer, capture: (value) => value, restore: assignInPlace },
];

function isStateful(value: object): value is Stateful {
  const candidate = value as Partial<Stateful>;
  return typeof candidate.stateDict === "function" && typeof candidate.loadStateDict === "function";
}

/** An instance method fromJSON (brain.js); a static one (a factory) cannot restore in place. */
function isJsonStateful(value: object): value is JsonStateful {
  const candidate = value as Partial<JsonStateful>;
  return typeof candidate.toJSON === "function" && typeof candidate.fromJSON === "function";
}

/** Containers restored in place by assignInPlace: plain objects, arrays, typed arrays, Maps and Sets. */
function isPlainContainer(value: object): boolean {
  if (Array.isArray(value) || value instanceof Map || value instanceof Set) return true;
  if (ArrayBuffer.isView(value)) return !(value instanceof DataView);
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function adapterFor(value: object): StateAdapter | undefined {
  return ADAPTERS.find((adapter) => adapter.accepts(value));
}

/**
 * Checks, when it is registered, that `value` can be checkpointed and restored: it has stateDict() /
 * loadStateDict(state) or toJSON() / fromJSON(json), or it is plain data all the way down. A class
 * instance without those methods would be saved as its bare fields and never be restored into, so it is
 * refused with what to do instead.
 */
export function checkCheckpointable(name: string, value: object): void {
  const adapter = adapterFor(value);
  if (adapter === undefined) throw new FlorError(`flor.checkpointing: ${describeRefusal(`"${name}"`, value, true)}`);
  if (adapter.accepts === isPlainContainer) checkPlainData(name, value);
}

/** Walks plain data for what structured clone loses: functions, symbols and class instances. */
function checkPlainData(name: string, root: object): void {
  const seen = new Set<object>();
  const visit = (value: unknown, where: string): void => {
    if (typeof value === "function" || typeof value === "symbol")
      throw new FlorError(
        `flor.checkpointing: ${where} is a ${typeof value}, which cannot be checkpointed; keep it out of the registered state`,
      );
    if (typeof value !== "object" || value === null || seen.has(value)) return;
    seen.add(value);
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp) return;
    if (value !== root && !isPlainContainer(value)) throw new FlorError(`flor.checkpointing: ${describeRefusal(where, value, false)}`);
    if (value instanceof Map) {
      for (const [key, item] of value) {
        visit(key, `a key of ${where}`);
        visit(item, `${where}.get(${typeof key === "string" ? JSON.stringify(key) : String(key)})`);
      }
    } else if (value instanceof Set) {
      for (const item of value) visit(item, `an item of ${where}`);
    } else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) visit(item, `${where}[${index}]`);
    } else {
      for (const [key, item] of Object.entries(value)) visit(item, `${where}.${key}`);
    }
  };
  visit(root, `"${name}"`);
}

/** The TensorFlow.js objects people pass to flor.checkpointing as they are, and what to pass instead. */
function tensorflowKind(value: object): { kind: string; instead: string } | null {
  const has = (key: string): boolean => typeof (value as Record<string, unknown>)[key] === "function";
  if (has("getWeights") && has("setWeights") && has("predict")) return { kind: "model", instead: "tfjsState(model, optimizer)" };
  if (has("applyGradients") && has("minimize")) return { kind: "optimizer", instead: "tfjsState(model, optimizer)" };
  if (has("dataSync") && has("arraySync")) return { kind: "tensor", instead: "tfjsState({ w, b }, optimizer)" };
  return null;
}

/** Why `value` (found at `where`) cannot be checkpointed, and what to do instead. */
function describeRefusal(where: string, value: object, topLevel: boolean): string {
  const className: string | undefined = value.constructor?.name || undefined;
  const kind = className === undefined ? "an object with a prototype" : `a ${className}`;
  const tfjs = tensorflowKind(value);
  if (tfjs !== null) {
    return (
      `${where} is a TensorFlow.js ${tfjs.kind} (${className ?? "?"}), whose state lives in tensors that FlorDB cannot read as plain data. ` +
      `Register it, with the optimizer that trains it, through the TensorFlow.js adapter: ` +
      `import { tfjsState } from "flordb/tfjs"; flor.checkpointing({ model: ${tfjs.instead} })`
    );
  }
  if (!topLevel && adapterFor(value) !== undefined) {
    return `${where} is ${kind} with checkpoint methods of its own, which are not called inside plain data; register it as an entry of its own: flor.checkpointing({ name: object, ... })`;
  }
  return (
    `${where} is ${kind}, a class instance without stateDict()/loadStateDict(state) or toJSON()/fromJSON(json), ` +
    `so its checkpoints would hold bare fields that could not be restored into it. ` +
    `Give ${className ?? "it"} stateDict() and loadStateDict(state) methods, or register the plain data it holds instead`
  );
}

/**
 * Serialises a registered object's state with V8's structured clone (typed arrays, Maps, Sets, Dates and
 * nested plain data survive; functions do not).
 */
export function captureState(name: string, value: object): Buffer {
  const adapter = adapterFor(value);
  if (adapter === undefined) throw new FlorError(`flor.checkpointing: ${describeRefusal(`"${name}"`, value, true)}`);
  const state = adapter.capture(value);
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
  const adapter = adapterFor(target);
  if (adapter === undefined) throw new FlorError(`cannot restore a checkpoint: ${describeRefusal("the target", target, true)}`);
  adapter.restore(target, state);
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
