/**
 * Restores a saved state of plain data (plain objects, arrays, typed arrays, Maps, Sets) into the object
 * it was captured from, in place, so that references to it and to the containers inside it stay valid.
 * A container the saved state reaches twice (shared, or a cycle) is restored once and referenced again,
 * so sharing and cycles survive.
 *
 * Self-contained (no imports, helpers nested): the checkpoint thread runs its source for the round trip
 * that checks a run's first checkpoint (see checkpoint-writer.ts).
 */
export function restoreInPlace(target: object, state: unknown): void {
  /** Saved container → the container it was restored into (itself when it was put in as it is). */
  const restored = new Map<object, object>();
  /** Containers of the target that a saved container was restored into. */
  const used = new Set<object>();
  const isView = (value: unknown): value is ArrayLike<number> & { constructor: unknown } =>
    ArrayBuffer.isView(value) && !(value instanceof DataView);
  /** Whether `current` can be updated in place from `saved`: the same container kind (typed arrays: and length). */
  const sameKind = (current: unknown, saved: unknown): boolean => {
    if (typeof current !== "object" || current === null || typeof saved !== "object" || saved === null) return false;
    if (isView(current)) return isView(saved) && current.constructor === saved.constructor && current.length === saved.length;
    if (Array.isArray(current)) return Array.isArray(saved);
    if (current instanceof Map) return saved instanceof Map;
    if (current instanceof Set) return saved instanceof Set;
    if (current instanceof Date || ArrayBuffer.isView(current) || current instanceof ArrayBuffer) return false;
    return (
      !Array.isArray(saved) &&
      !(saved instanceof Map) &&
      !(saved instanceof Set) &&
      !ArrayBuffer.isView(saved) &&
      !(saved instanceof Date) &&
      !(saved instanceof ArrayBuffer)
    );
  };
  /** What a saved value becomes in the target: the container it was already restored into, or itself from now on. */
  const resolved = (saved: unknown): unknown => {
    if (typeof saved !== "object" || saved === null) return saved;
    const known = restored.get(saved);
    if (known !== undefined) return known;
    restored.set(saved, saved);
    return saved;
  };
  const assign = (into: object, saved: unknown): void => {
    if (typeof saved !== "object" || saved === null) {
      throw new Error("cannot restore a checkpoint: the saved state is not an object like its target");
    }
    restored.set(saved, into);
    used.add(into);
    if (isView(into)) {
      (into as unknown as { set(source: ArrayLike<number>): void }).set(saved as ArrayLike<number>);
      return;
    }
    if (into instanceof Map && saved instanceof Map) {
      into.clear();
      for (const [key, value] of saved) into.set(resolved(key), resolved(value));
      return;
    }
    if (into instanceof Set && saved instanceof Set) {
      into.clear();
      for (const value of saved) into.add(resolved(value));
      return;
    }
    const record = into as Record<string, unknown>;
    const source = saved as Record<string, unknown>;
    if (Array.isArray(into)) into.length = (saved as unknown[]).length;
    for (const key of Object.keys(record)) if (!Object.hasOwn(source, key)) delete record[key];
    for (const key of Object.keys(source)) {
      const value = source[key];
      const current = Object.hasOwn(record, key) ? record[key] : undefined;
      if (sameKind(current, value) && !restored.has(value as object) && !used.has(current as object)) assign(current as object, value);
      // A saved "__proto__" is an own property (JSON.parse makes them): define it, never set the prototype.
      else if (key === "__proto__")
        Object.defineProperty(record, key, { value: resolved(value), writable: true, enumerable: true, configurable: true });
      else record[key] = resolved(value);
    }
  };
  assign(target, state);
}
