import { DefaultSerializer, deserialize } from "node:v8";
import { FlorError } from "../errors.js";
import { restoreInPlace } from "./restore-in-place.js";
import { describeProblem, type StateProblem } from "./round-trip.js";

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
  /** How the state is named in a path inside the object (`.stateDict()`), empty for plain data saved as it is. */
  via: string;
}

const ADAPTERS: readonly StateAdapter[] = [
  {
    accepts: isStateful,
    capture: (value) => (value as Stateful).stateDict(),
    restore: (target, state) => ((target as Stateful).loadStateDict as (s: unknown) => void)(state),
    via: ".stateDict()",
  },
  {
    accepts: isJsonStateful,
    capture: (value) => (value as JsonStateful).toJSON(),
    restore: (target, state) => ((target as JsonStateful).fromJSON as (s: unknown) => unknown)(state),
    via: ".toJSON()",
  },
  { accepts: isPlainContainer, capture: (value) => value, restore: restoreInPlace, via: "" },
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
  const problem =
    adapter === undefined
      ? { object: name, path: "", reason: describeRefusal(value, true) }
      : adapter.via === ""
        ? dataProblem(name, value, "", true)
        : null;
  if (problem !== null) throw new FlorError(`flor.checkpointing: ${describeProblem(problem)}`);
}

/**
 * What in `root` (the state of registered object `object`, found at `path`) a checkpoint cannot
 * restore: functions and symbols (not serialisable), class instances (saved as bare fields, without
 * their class), and, for plain data restored in place, getters or setters without their pair.
 */
function dataProblem(object: string, root: unknown, path: string, inPlace: boolean): StateProblem | null {
  const seen = new Set<object>();
  const visit = (value: unknown, where: string): StateProblem | null => {
    if (typeof value === "function" || typeof value === "symbol")
      return { object, path: where, reason: `is a ${typeof value}, which cannot be checkpointed; keep it out of the registered state` };
    if (typeof value !== "object" || value === null || seen.has(value)) return null;
    seen.add(value);
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp) return null;
    if (!isPlainContainer(value) && !(inPlace && value === root)) return { object, path: where, reason: describeRefusal(value, false) };
    if (value instanceof Map) {
      let index = 0;
      for (const [key, item] of value) {
        if (inPlace && typeof key === "object" && key !== null)
          return {
            object,
            path: `${where}.keys()[${index}]`,
            reason: "is an object key, which a checkpoint restores as a copy: looking entries up by the original key would fail",
          };
        const found =
          visit(key, `${where}.keys()[${index++}]`) ??
          visit(item, `${where}.get(${typeof key === "string" ? JSON.stringify(key) : String(key)})`);
        if (found !== null) return found;
      }
      return null;
    }
    if (value instanceof Set) {
      let index = 0;
      for (const item of value) {
        const found = visit(item, `${where}.values()[${index++}]`);
        if (found !== null) return found;
      }
      return null;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = visit(value[i], `${where}[${i}]`);
        if (found !== null) return found;
      }
      return null;
    }
    const hidden = Object.getOwnPropertyNames(value).find((key) => !Object.prototype.propertyIsEnumerable.call(value, key));
    if (hidden !== undefined || Object.getOwnPropertySymbols(value).length > 0)
      return {
        object,
        path: hidden === undefined ? where : `${where}.${hidden}`,
        reason: `${hidden === undefined ? "has a symbol-keyed property" : "is not enumerable"}, which a checkpoint does not save`,
      };
    for (const key of Object.keys(value)) {
      const at = /^[A-Za-z_$][\w$]*$/.test(key) ? `${where}.${key}` : `${where}[${JSON.stringify(key)}]`;
      const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
      if (inPlace && (descriptor.get === undefined) !== (descriptor.set === undefined))
        return {
          object,
          path: at,
          reason: `is a ${descriptor.get === undefined ? "setter without a getter" : "getter without a setter"}, which a checkpoint cannot be restored through; register the data behind it instead`,
        };
      const found = visit(descriptor.get === undefined ? descriptor.value : (value as Record<string, unknown>)[key], at);
      if (found !== null) return found;
    }
    return null;
  };
  return visit(root, path);
}

/** The TensorFlow.js objects people pass to flor.checkpointing as they are, and what to pass instead. */
function tensorflowKind(value: object): { kind: string; instead: string } | null {
  const has = (key: string): boolean => typeof (value as Record<string, unknown>)[key] === "function";
  if (has("getWeights") && has("setWeights") && has("predict")) return { kind: "model", instead: "tfjsState(model, optimizer)" };
  if (has("applyGradients") && has("minimize")) return { kind: "optimizer", instead: "tfjsState(model, optimizer)" };
  if (has("dataSync") && has("arraySync")) return { kind: "tensor", instead: "tfjsState({ w, b }, optimizer)" };
  return null;
}

/** Why `value` cannot be checkpointed, and what to do instead (the end of a sentence about it). */
function describeRefusal(value: object, topLevel: boolean): string {
  const className: string | undefined = value.constructor?.name || undefined;
  const kind = className === undefined ? "an object with a prototype" : `a ${className}`;
  const tfjs = tensorflowKind(value);
  if (tfjs !== null) {
    return (
      `is a TensorFlow.js ${tfjs.kind} (${className ?? "?"}), whose state lives in tensors that FlorDB cannot read as plain data` +
      `${topLevel ? "" : " (a checkpoint would hold its handle, not its values)"}. ` +
      `Register it, with the optimizer that trains it, through the TensorFlow.js adapter: ` +
      `import { tfjsState } from "flordb/tfjs"; flor.checkpointing({ model: ${tfjs.instead} })`
    );
  }
  if (!topLevel && adapterFor(value) !== undefined) {
    return `is ${kind} with checkpoint methods of its own, which are not called inside plain data; register it as an entry of its own: flor.checkpointing({ name: object, ... })`;
  }
  return (
    `is ${kind}, a class instance without stateDict()/loadStateDict(state) or toJSON()/fromJSON(json), ` +
    `so its checkpoints would hold bare fields that could not be restored into it. ` +
    `Give ${className ?? "it"} stateDict() and loadStateDict(state) methods, or register the plain data it holds instead`
  );
}

/** A registered object's state, captured at a checkpoint. */
export interface CapturedState {
  /**
   * V8's serialisation of the state (exactly the bytes `v8.serialize` writes), in pieces: large typed
   * arrays are views of the live object's memory, not copies, so the pieces must be copied before the
   * training code runs again.
   */
  parts: Uint8Array[];
  bytes: number;
  /** Restored in place (plain data), rather than by the object's own loader. */
  inPlace: boolean;
}

/** Typed arrays from this size on are handed over as views of their memory instead of being copied into the serialisation. */
const VIEW_BYTES = 4096;

/**
 * Writes what `v8.serialize` writes, but leaves each large typed array out of its buffer: the buffer is
 * released there (V8 back-references count objects, not bytes, so the stream may be cut anywhere) and the
 * array's memory joins the pieces as a view. The caller copies the pieces once, into memory it shares
 * with the checkpoint thread, instead of V8 copying them into a fresh buffer that has to page in.
 */
class SplittingSerializer extends DefaultSerializer {
  readonly parts: Uint8Array[] = [];

  override writeRawBytes(bytes: NodeJS.ArrayBufferView): void {
    if (bytes.byteLength < VIEW_BYTES) {
      super.writeRawBytes(bytes);
      return;
    }
    this.parts.push(this.releaseBuffer(), new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  finish(): Uint8Array[] {
    this.parts.push(this.releaseBuffer());
    return this.parts.filter((part) => part.byteLength > 0);
  }
}

/**
 * Captures a registered object's state as the pieces of its V8 serialisation (typed arrays, Maps, Sets,
 * Dates and nested plain data survive). With `check` (a run's first checkpoint), the state is first
 * searched for what a checkpoint could not restore (see dataProblem). A state that cannot be
 * checkpointed (or whose stateDict() throws) is returned as the problem, never thrown: checkpointing
 * must not stop a training run.
 */
export function captureParts(name: string, value: object, check: boolean): CapturedState | StateProblem {
  const adapter = adapterFor(value);
  if (adapter === undefined) return { object: name, path: "", reason: describeRefusal(value, true) };
  let state: unknown;
  try {
    state = adapter.capture(value);
  } catch (error) {
    return { object: name, path: adapter.via, reason: `throws: ${(error as Error).message}` };
  }
  const inPlace = adapter.via === "";
  if (check) {
    const problem = dataProblem(name, state, adapter.via, inPlace);
    if (problem !== null) return problem;
  }
  const serializer = new SplittingSerializer();
  try {
    serializer.writeHeader();
    serializer.writeValue(state);
  } catch (error) {
    return { object: name, path: adapter.via, reason: `cannot be serialised: ${(error as Error).message}` };
  }
  const parts = serializer.finish();
  return { parts, bytes: parts.reduce((sum, part) => sum + part.byteLength, 0), inPlace };
}

/** Serialises a registered object's state (what a checkpoint stores); throws what captureParts returns as a problem. */
export function captureState(name: string, value: object): Buffer {
  const captured = captureParts(name, value, false);
  if ("reason" in captured) {
    throw new FlorError(`flor.checkpointing: ${describeProblem(captured)}`, {
      hint: "Give it stateDict() and loadStateDict(state) methods that return and accept plain data.",
    });
  }
  return Buffer.concat(captured.parts);
}

/** Restores `bytes` (from captureState) into `target` in place, so references to it stay valid. */
export function restoreState(target: object, bytes: Uint8Array): void {
  const state: unknown = deserialize(bytes);
  const adapter = adapterFor(target);
  if (adapter === undefined) throw new FlorError(`cannot restore a checkpoint: the target ${describeRefusal(target, true)}`);
  adapter.restore(target, state);
}
