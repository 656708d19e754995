import { closeSync, constants, mkdirSync, openSync, writeSync } from "node:fs";
import path from "node:path";

const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 200;
const NEWLINE = 10;
/** What a write fails with when the disk is full, a quota or a file-size limit is reached. */
const NO_ROOM = new Set(["ENOSPC", "EDQUOT", "EFBIG"]);

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
  /** The file ends with a part of a line (a write cut off by a full disk). */
  private torn = false;
  /** Records dropped in the current lack of room, and in earlier ones. */
  private dropped = 0;
  private droppedTotal = 0;
  /** Batches dropped so far: records written after a gap cannot lean on records before it (a format-2 implied context). */
  gaps = 0;
  /** Says what the writer had to drop (stderr by default: the training's own output). */
  warn: (message: string) => void = (message) => void process.stderr.write(`flor: warning: ${message}\n`);
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
    this.write(data);
    this.lastFlush = performance.now();
  }

  /**
   * Writes a batch whole. On a full disk (or a file-size limit) the batch is dropped and counted, with
   * one warning, and the training goes on; later batches are written again once there is room. A batch
   * cut off mid-line leaves a torn line, so the next write starts on a new line: the torn part is one
   * line that ingest reports and skips.
   */
  private write(data: string): void {
    const bytes = Buffer.from(this.torn ? `\n${data}` : data);
    let written = 0;
    try {
      while (written < bytes.length) written += writeSync(this.fd, bytes, written);
    } catch (error) {
      if (!NO_ROOM.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
      if (written > 0) this.torn = bytes[written - 1] !== NEWLINE;
      let lines = 0;
      for (let i = written; i < bytes.length; i++) if (bytes[i] === NEWLINE) lines++;
      if (this.dropped === 0)
        this.warn(
          `the journal ${this.file} cannot be written (${(error as Error).message}): its records are dropped until there is room; the training goes on`,
        );
      this.dropped += lines;
      this.gaps++;
      return;
    }
    this.torn = false;
    if (this.dropped > 0) {
      this.warn(`the journal ${this.file} is written again; ${this.dropped} records were dropped meanwhile and are missing from the run`);
      this.droppedTotal += this.dropped;
      this.dropped = 0;
    }
  }

  /** Records dropped for lack of room so far (those of an outage not over yet included). */
  get droppedRecords(): number {
    return this.droppedTotal + this.dropped;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    if (this.dropped > 0)
      this.warn(`the journal ${this.file} ends without ${this.dropped} records that found no room (the end of the run among them)`);
    this.closed = true;
    closeSync(this.fd);
  }
}
