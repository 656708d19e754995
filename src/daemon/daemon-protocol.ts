import { deserialize, serialize } from "node:v8";
import { FlorError } from "../errors.js";

/**
 * What the CLI and the daemon say over the daemon's socket: one request per connection, answered by
 * events (progress, warnings) and then one result or one error. An answer a command prints comes as
 * `printing` (the answer without its rows), its rows' text in pieces, and `end`, so that a large answer
 * is never held whole by the command. Messages are V8-serialized (the
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
  /** The answer; `text` pieces follow, then `end` (or an error). */
  | { kind: "printing"; value: unknown }
  /** UTF-8 bytes, which the command writes out as they are: no string is made of them in its heap. */
  | { kind: "text"; piece: Uint8Array }
  | { kind: "end" }
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
 * Reassembles frames from the chunks a socket delivers. Each frame is copied, once, into a buffer of its
 * length (known from its head) as its chunks arrive: keeping the chunks and concatenating them would hold
 * a large answer twice, and concatenating each chunk onto what came before would copy it over and over.
 */
export class FrameReader {
  private readonly head = Buffer.alloc(4);
  private headFilled = 0;
  /** The frame being read, once its head has arrived, and how much of it has. */
  private frame: Buffer | null = null;
  private filled = 0;

  /** The complete messages that `chunk` finishes, in order. */
  push(chunk: Uint8Array): unknown[] {
    const messages: unknown[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.frame === null) {
        const n = Math.min(4 - this.headFilled, chunk.length - offset);
        this.head.set(chunk.subarray(offset, offset + n), this.headFilled);
        this.headFilled += n;
        offset += n;
        if (this.headFilled < 4) break;
        this.frame = Buffer.allocUnsafeSlow(this.head.readUInt32BE(0));
        this.filled = 0;
        this.headFilled = 0;
      }
      const n = Math.min(this.frame.length - this.filled, chunk.length - offset);
      this.frame.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.frame.length) {
        messages.push(deserialize(this.frame));
        this.frame = null;
      }
    }
    return messages;
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
