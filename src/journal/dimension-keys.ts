/**
 * The union of two lists of dimension keys (the loop names, and `<name>_value`, that a value's context
 * carries), in order of first appearance: a name logged in several contexts gets the keys of all of
 * them, as the store's catalog (log_names.dim_keys) merges them too.
 */
export function mergeKeys(a: string[], b: string[]): string[] {
  const merged = [...a];
  for (const key of b) if (!merged.includes(key)) merged.push(key);
  return merged;
}
