import { closeSync, constants, mkdirSync, openSync, writeSync } from "node:fs";
import path from "node:path";

const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 200;

/**
 * An append-only journal file with an in-memory batch. `append` only pushes a string; the batch
 * reaches the file when it passes 64 KiB, when it is 200 ms old at a loop iteration's end
 * (`flushIfStale`), and at checkpoints and the end (`flush`). A `kill -9` therefore loses at most one
 * unflushed batch: under 64 KiB and 200 ms of records.
 */
export class JournalWriter {
  readonly file: string;
  private readonly fd: number;
  private parts: string[] = [];
  private pending = 0;
  private lastFlush = performance.now();
  private closed = false;
  private flushing = false;
  /** Appends what the writer keeps aside (batched iteration times) so that every flush carries it. */
  beforeFlush: (() => void) | null = null;

  private constructor(file: string, fd: number) {
    this.file = file;
    this.fd = fd;
  }

  /**
   * Creates a new journal named after `tstamp` in `dir`. Names are claimed with O_EXCL, so two runs
   * that start in the same millisecond get distinct timestamps: the caller receives the one it got.
   */
  static create(dir: string, tstamp: Date): { writer: JournalWriter; tstamp: Date } {
    mkdirSync(dir, { recursive: true });
    for (let t = tstamp.getTime(); ; t++) {
      const stamp = new Date(t);
      const file = path.join(dir, `${stamp.toISOString().replace(/:/g, "-")}.jsonl`);
      try {
        // O_APPEND: the checkpoint thread appends its records to the same file.
        const fd = openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_APPEND);
        return { writer: new JournalWriter(file, fd), tstamp: stamp };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
    }
  }

  /** Creates the journal `file`, which must not exist yet (a replay task's journal: one file per attempt). */
  static open(file: string): JournalWriter {
    mkdirSync(path.dirname(file), { recursive: true });
    return new JournalWriter(file, openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_APPEND));
  }

  append(line: string): void {
    this.parts.push(line);
    this.pending += line.length;
    if (this.pending >= FLUSH_BYTES && !this.flushing) this.flush();
  }

  flushIfStale(now: number): void {
    if (this.pending > 0 && now - this.lastFlush >= FLUSH_MS) this.flush();
  }

  flush(): void {
    if (this.closed) return;
    this.flushing = true;
    try {
      this.beforeFlush?.();
    } finally {
      this.flushing = false;
    }
    if (this.pending === 0) return;
    const data = this.parts.join("");
    this.parts = [];
    this.pending = 0;
    writeSync(this.fd, data);
    this.lastFlush = performance.now();
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }
}
