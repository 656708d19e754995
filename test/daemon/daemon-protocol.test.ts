import { describe, expect, it } from "vitest";
import { decodeError, encodeError, encodeFrame, FrameReader, type DaemonMessage } from "../../src/daemon/daemon-protocol.js";
import { FlorError, FlorUsageError } from "../../src/errors.js";
import { parseQuery } from "../../src/florql/parse.js";

describe("the daemon's protocol", () => {
  it("carries answers as they were made, however the socket splits the frames", () => {
    const answer: DaemonMessage = {
      kind: "result",
      value: {
        rows: [{ loss: Number.NaN, best: Number.POSITIVE_INFINITY, at: new Date("2026-01-01T00:00:00.123Z"), none: null }],
        args: new Map([["lr", 0.1]]),
      },
    };
    const event: DaemonMessage = { kind: "event", name: "progress", data: { id: 3, tasks: { done: 1, total: 2 } } };
    const bytes = Buffer.concat([encodeFrame(event), encodeFrame(answer)]);
    for (const size of [1, 3, 7, bytes.length]) {
      const reader = new FrameReader();
      const messages: unknown[] = [];
      for (let at = 0; at < bytes.length; at += size) messages.push(...reader.push(bytes.subarray(at, at + size)));
      expect(messages).toEqual([event, answer]);
      const row = (messages[1] as { value: { rows: Record<string, unknown>[] } }).value.rows[0]!;
      expect(row["loss"]).toBeNaN();
      expect(row["at"]).toBeInstanceOf(Date);
    }
  });

  it("reassembles a large answer from socket-sized chunks, with the next frame in the same chunk", () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => ({ epoch: 5, step: i, loss: i / 7 }));
    const answer: DaemonMessage = { kind: "result", value: { rows } };
    const event: DaemonMessage = { kind: "event", name: "warning", data: "after" };
    const bytes = Buffer.concat([encodeFrame(answer), encodeFrame(event)]);
    const reader = new FrameReader();
    const messages: unknown[] = [];
    for (let at = 0; at < bytes.length; at += 65_536) messages.push(...reader.push(bytes.subarray(at, at + 65_536)));
    expect(messages).toEqual([answer, event]);
  });

  it("gives the command the error it would have thrown: message, hint and exit code", () => {
    let failure: unknown;
    try {
      parseQuery("SELECT loss FROM");
    } catch (error) {
      failure = error;
    }
    for (const error of [failure, new FlorUsageError("bad option", "See `flor --help`."), new FlorError("in use", { hint: "wait" })]) {
      const decoded = decodeError(encodeError(error)) as FlorError;
      const original = error as FlorError;
      expect(decoded).toBeInstanceOf(FlorError);
      expect([decoded.message, decoded.hint, decoded.exitCode]).toEqual([original.message, original.hint, original.exitCode]);
    }
    expect((failure as FlorError).exitCode).toBe(2);
    const internal = decodeError(encodeError(new TypeError("x is undefined")));
    expect(internal).not.toBeInstanceOf(FlorError);
    expect([internal.name, internal.message]).toEqual(["TypeError", "x is undefined"]);
    expect(internal.stack).toMatch(/in the flor daemon/);
  });
});
