import { deserialize, serialize } from "node:v8";
import { FlorError } from "../errors.js";

/**
 * What the CLI and the daemon say over the daemon's socket: one request per connection, answered by
 * events (progress, warnings) and then one result or one error. Messages are V8-serialized (the
 * structured clone that workers use), so answers arrive as they were made: dates as Dates, NaN and
 * Infinity as numbers, Maps as Maps. Each is framed by its length (4 bytes, big-endian).
 */

export interface DaemonRequest {
  /** The client's build (see buildId): a daemon of another build does not answer, it steps down. */
  build: string;
  /** The repository the client works in, which must be the daemon's. */
  root: string;
  method: string;
  params: unknown[];
}

export type DaemonMessage =
  | { kind: "event"; name: string; data: unknown }
  | { kind: "result"; value: unknown }
  | { kind: "error"; error: EncodedError }
  /** The daemon runs another build: it stops; start a new one. */
  | { kind: "stale"; pid: number };

/** An error as it crosses the socket: a FlorError keeps what the CLI prints (message, hint, exit code). */
export interface EncodedError {
  flor: boolean;
  name: string;
  message: string;
  hint: string | null;
  exitCode: number;
  stack: string | null;
}

export function encodeFrame(message: DaemonRequest | DaemonMessage): Buffer {
  const body = serialize(message);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * Reassembles frames from the chunks a socket delivers. Chunks are kept apart until a frame is whole:
 * concatenating each one onto what came before would copy a large answer (100k rows) over and over.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The length of the frame being read, once its 4-byte head has arrived. */
  private expected: number | null = null;

  /** The complete messages that `chunk` finishes, in order. */
  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: unknown[] = [];
    for (;;) {
      if (this.expected === null) {
        if (this.buffered < 4) break;
        this.expected = this.take(4).readUInt32BE(0);
      }
      if (this.buffered < this.expected) break;
      messages.push(deserialize(this.take(this.expected)));
      this.expected = null;
    }
    return messages;
  }

  /** The next `length` bytes, removed from the chunks (copied only when they span several). */
  private take(length: number): Buffer {
    const first = this.chunks[0]!;
    let bytes: Buffer;
    if (first.length >= length) {
      bytes = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
    } else {
      const whole = Buffer.concat(this.chunks);
      bytes = whole.subarray(0, length);
      this.chunks = whole.length === length ? [] : [whole.subarray(length)];
    }
    this.buffered -= length;
    return bytes;
  }
}

export function encodeError(error: unknown): EncodedError {
  const failure = error instanceof Error ? error : new Error(String(error));
  const flor = failure instanceof FlorError;
  return {
    flor,
    name: failure.name,
    message: failure.message,
    hint: flor ? (failure.hint ?? null) : null,
    exitCode: flor ? failure.exitCode : 1,
    stack: failure.stack ?? null,
  };
}

/** The error the command would have thrown itself: a FlorError prints the same message, hint and exit code. */
export function decodeError(encoded: EncodedError): Error {
  if (encoded.flor) {
    const error = new FlorError(encoded.message, {
      exitCode: encoded.exitCode,
      ...(encoded.hint === null ? {} : { hint: encoded.hint }),
    });
    error.name = encoded.name;
    return error;
  }
  const error = new Error(encoded.message);
  error.name = encoded.name;
  if (encoded.stack !== null) error.stack = `${encoded.stack}\n    (in the flor daemon)`;
  return error;
}
