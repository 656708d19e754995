import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { FlorError } from "../errors.js";

/**
 * Reads content-addressed blobs under `.flor/objects/<2 hex>/<62 hex>` (written by the checkpoint
 * thread, see checkpoint-writer.ts): the same state saved twice is stored once, and a blob's name
 * proves its content, so a corrupt file is detected on read.
 */
export class ObjectStore {
  constructor(readonly dir: string) {}

  static hash(bytes: Uint8Array): string {
    return createHash("sha256").update(bytes).digest("hex");
  }

  pathOf(hash: string): string {
    return path.join(this.dir, hash.slice(0, 2), hash.slice(2));
  }

  get(hash: string): Buffer {
    const file = this.pathOf(hash);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new FlorError(`checkpoint object ${hash} is missing from ${this.dir}`, { cause: error });
    }
    if (ObjectStore.hash(bytes) !== hash) throw new FlorError(`checkpoint object ${file} is corrupt (its content does not match its hash)`);
    return bytes;
  }
}
