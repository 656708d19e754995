import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { FlorError } from "../errors.js";

/**
 * Content-addressed blobs under `.flor/objects/<2 hex>/<62 hex>`: the same state saved twice is
 * stored once, and a blob's name proves its content, so a corrupt file is detected on read.
 */
export class ObjectStore {
  constructor(readonly dir: string) {}

  static hash(bytes: Uint8Array): string {
    return createHash("sha256").update(bytes).digest("hex");
  }

  pathOf(hash: string): string {
    return path.join(this.dir, hash.slice(0, 2), hash.slice(2));
  }

  has(hash: string): boolean {
    return existsSync(this.pathOf(hash));
  }

  /** Stores `bytes`; returns its hash and how many bytes were newly written (0 when already stored). */
  put(bytes: Uint8Array): { hash: string; written: number } {
    const hash = ObjectStore.hash(bytes);
    const file = this.pathOf(hash);
    if (existsSync(file)) return { hash, written: 0 };
    mkdirSync(path.dirname(file), { recursive: true });
    // Write then rename, so a crash never leaves a truncated blob under its final name.
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, bytes);
    renameSync(temporary, file);
    return { hash, written: bytes.length };
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
