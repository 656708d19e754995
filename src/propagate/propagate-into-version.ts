import { readFileSync } from "node:fs";
import path from "node:path";
import { FlorError } from "../errors.js";
import { sourcesAt } from "../versions/version-source.js";
import { propagate, type PropagationReport } from "./propagate.js";

/**
 * Propagates `flor.log` statements from the newest version of a script (its file in the working tree,
 * where the user added them) into the script as it was at code version `vid`. Replay runs the result.
 */
export async function propagateIntoVersion(
  root: string,
  filename: string,
  vid: string,
  names?: readonly string[],
): Promise<PropagationReport> {
  let newest: string;
  try {
    newest = readFileSync(path.join(root, filename), "utf8");
  } catch (error) {
    throw new FlorError(`cannot read the newest version of ${filename}: ${(error as Error).message}`);
  }
  const old = (await sourcesAt(root, vid, [filename])).get(filename);
  if (old == null) throw new FlorError(`${filename} does not exist at version ${vid.slice(0, 10)}`);
  return propagate(newest, old, { filename, ...(names === undefined ? {} : { names }) });
}
