import { holdsUnstorable } from "./lossless-json.js";

/**
 * Why a name of a logged value, loop or arg cannot be recorded, or null. Names become text columns
 * of the store, which cannot hold the character NUL nor an unpaired UTF-16 surrogate; refused where
 * the script names them, so no journal holds what no store can take.
 */
export function nameProblem(name: unknown): string | null {
  if (typeof name !== "string" || name === "") return "name must be a non-empty string";
  if (holdsUnstorable(JSON.stringify(name)))
    return `name ${JSON.stringify(name)} holds a NUL character or an unpaired surrogate, which no store can hold`;
  return null;
}
