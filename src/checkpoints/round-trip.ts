/** Where inside a registered object a checkpoint goes wrong, and how. */
export interface StateProblem {
  /** The registered name. */
  object: string;
  /** The path inside it (`.layers[0].kernel`, `.get("a")`), empty for the object itself. */
  path: string;
  /** What is wrong there, as the end of a sentence whose subject is the object at that path. */
  reason: string;
}

/** A problem as a sentence: the object, the path inside it, what is wrong there. Self-contained, like roundTripProblem. */
export function describeProblem({ object, path, reason }: StateProblem): string {
  return `"${object}"${path} ${reason}`;
}

/**
 * The warning a run prints (once) when its first checkpoint cannot be restored; the journal marks the
 * run's checkpoints unusable. Self-contained but for describeProblem, which the checkpoint thread has too.
 */
export function unusableWarning(problem: StateProblem): string {
  return `flor: warning: this run's checkpoints cannot be used for replay (replay will re-run it from the start): ${describeProblem(problem)}\n`;
}

/**
 * The round trip a run's first checkpoint must survive, run on the checkpoint thread: the saved bytes
 * are read back, and for plain data (restored in place) a second copy is restored into the first as a
 * replay restores into the live object; what comes back must be the state that was saved: the same
 * values, keys in the same order, the same containers shared. (An object with a loader of its own is
 * restored by it, which only the training thread could run; what its bytes cannot show was checked
 * there.) Compared as values, not as bytes: V8 writes an array differently once it has been read back.
 * Returns where and why the state does not survive, or null.
 *
 * Self-contained (no imports, helpers nested): the checkpoint thread runs its source, with `v8` and
 * `restoreInPlace` (restore-in-place.ts) as arguments.
 */
export function roundTripProblem(
  object: string,
  bytes: Uint8Array,
  inPlace: boolean,
  v8: { deserialize(bytes: Uint8Array): unknown },
  restoreInPlace: (target: object, state: unknown) => void,
): StateProblem | null {
  const problem = (path: string, reason: string): StateProblem => ({ object, path, reason });
  let saved: unknown;
  let restored: unknown;
  try {
    saved = v8.deserialize(bytes);
    restored = inPlace ? v8.deserialize(bytes) : saved;
    if (inPlace) restoreInPlace(restored as object, v8.deserialize(bytes));
  } catch (error) {
    return problem("", `cannot be restored from its checkpoint: ${(error as Error).message}`);
  }

  const kind = (value: unknown): string =>
    value === null
      ? "null"
      : typeof value !== "object"
        ? typeof value
        : Array.isArray(value)
          ? "an array"
          : `a ${(value as object).constructor?.name ?? "null-prototype object"}`;
  /** Saved container → its counterpart in the restored copy, to see sharing that restores as copies. */
  const counterpart = new Map<object, unknown>();
  const difference = (a: unknown, b: unknown, path: string): StateProblem | null => {
    if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) {
      return Object.is(a, b) ? null : problem(path, `is ${kind(a)} that restores as ${kind(b)}`);
    }
    if (counterpart.has(a)) {
      return counterpart.get(a) === b ? null : problem(path, "is shared with another place of the state, but restores as a separate copy");
    }
    counterpart.set(a, b);
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return problem(path, `is ${kind(a)} that restores as ${kind(b)}`);
    if (ArrayBuffer.isView(a)) {
      const y = b as ArrayBufferView;
      return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(new Uint8Array(y.buffer, y.byteOffset, y.byteLength))
        ? null
        : problem(path, "restores with other contents");
    }
    if (a instanceof Date) return a.getTime() === (b as Date).getTime() ? null : problem(path, "restores as another date");
    if (a instanceof Map || a instanceof Set) {
      const left = [...(a as Map<unknown, unknown>).entries()];
      const right = [...(b as Map<unknown, unknown>).entries()];
      if (left.length !== right.length) return problem(path, `has ${left.length} entries but restores with ${right.length}`);
      for (let i = 0; i < left.length; i++) {
        const [key, value] = left[i]!;
        const at = `${path}${a instanceof Map ? `.get(${typeof key === "string" ? JSON.stringify(key) : String(key)})` : ` (item ${i})`}`;
        const found = difference(key, right[i]![0], at) ?? difference(value, right[i]![1], at);
        if (found !== null) return found;
      }
      return null;
    }
    const keys = Object.keys(a);
    const restoredKeys = Object.keys(b);
    const name = (key: string): string =>
      Array.isArray(a) ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
    for (const key of keys) if (!restoredKeys.includes(key)) return problem(name(key), "is lost when restored");
    for (const key of restoredKeys)
      if (!keys.includes(key)) return problem(name(key), "appears when restored, which the saved state does not have");
    if (keys.some((key, i) => restoredKeys[i] !== key)) return problem(path, "restores with its keys in another order");
    for (const key of keys) {
      const found = difference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], name(key));
      if (found !== null) return found;
    }
    return null;
  };
  return difference(saved, restored, "");
}
