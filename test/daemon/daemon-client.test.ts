import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DaemonClient } from "../../src/daemon/daemon-client.js";
import { daemonSocketPath } from "../../src/daemon/daemon-paths.js";
import { encodeError, encodeFrame, FrameReader, type DaemonMessage } from "../../src/daemon/daemon-protocol.js";
import { FlorError } from "../../src/errors.js";
import { layoutFor } from "../../src/project-layout.js";

/**
 * The command's side of a printed answer, against a peer on a real socket that speaks the protocol as
 * each case needs (a daemon that stops mid-way cannot be had on cue from the real one).
 */
let dir: string;
let server: Server | null = null;

afterEach(async () => {
  await new Promise((resolve) => (server === null ? resolve(null) : server.close(resolve)));
  server = null;
  rmSync(dir, { recursive: true, force: true });
});

/** A peer that answers each request with `answer(socket)`, and the client of it. */
async function peer(answer: (socket: Socket) => void): Promise<DaemonClient> {
  dir = mkdtempSync(path.join(tmpdir(), "flor-daemon-client-"));
  const layout = layoutFor(dir);
  mkdirSync(layout.florDir, { recursive: true });
  server = createServer((socket) => {
    const reader = new FrameReader();
    socket.on("data", (chunk: Buffer) => {
      if (reader.push(chunk).length > 0) answer(socket);
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server!.listen(daemonSocketPath(layout), resolve));
  const client = await DaemonClient.find(layout);
  expect(client).not.toBeNull();
  return client!;
}

const frame = (message: DaemonMessage): Buffer => encodeFrame(message);

async function readAll(text: AsyncIterable<Uint8Array>): Promise<string> {
  const pieces: Uint8Array[] = [];
  for await (const piece of text) pieces.push(piece);
  return Buffer.concat(pieces).toString("utf8");
}

describe("a printed answer through the daemon's socket", () => {
  it("arrives as the answer, then its text in order, however many pieces", async () => {
    const pieces = Array.from({ length: 500 }, (_, i) => `${"row ".repeat(200)}${i}\n`);
    const client = await peer((socket) => {
      socket.write(frame({ kind: "event", name: "warning", data: "first" }));
      socket.write(frame({ kind: "printing", value: { columns: ["a"] } }));
      for (const piece of pieces) socket.write(frame({ kind: "text", piece: Buffer.from(piece) }));
      socket.end(frame({ kind: "end" }));
    });
    const events: unknown[] = [];
    const { value, text } = await client.print<{ columns: string[] }>("printDataframe", [], (name, data) => events.push([name, data]));
    expect(value).toEqual({ columns: ["a"] });
    expect(events).toEqual([["warning", "first"]]);
    expect(await readAll(text)).toBe(pieces.join(""));
  });

  it("stops reading the socket while the command has not printed what came, so the daemon waits", async () => {
    let blocked = false;
    let written = 0;
    const client = await peer((socket) => {
      socket.write(frame({ kind: "printing", value: null }));
      const piece = Buffer.alloc(64 * 1024, "x");
      // Writes until the socket's buffers are full: the client is not reading ahead of the command.
      const more = (): void => {
        while (written < 400) {
          written++;
          if (!socket.write(frame({ kind: "text", piece }))) {
            blocked = true;
            socket.once("drain", more);
            return;
          }
        }
        socket.end(frame({ kind: "end" }));
      };
      more();
    });
    const { text } = await client.print("printDataframe", []);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // 400 pieces are 25 MiB: far more than the socket's buffers and the few pieces the client holds.
    expect(blocked).toBe(true);
    expect(written).toBeLessThan(100);
    expect((await readAll(text)).length).toBe(400 * 64 * 1024);
  });

  it("fails the text, not silently short, when the daemon goes before the end", async () => {
    const client = await peer((socket) => {
      socket.write(frame({ kind: "printing", value: null }));
      socket.end(frame({ kind: "text", piece: Buffer.from("half\n") }));
    });
    const { text } = await client.print("printDataframe", []);
    const failure = await readAll(text).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FlorError);
    expect((failure as FlorError).message).toMatch(/the answer's text was cut off/);
  });

  it("fails the text with the daemon's error when printing failed there", async () => {
    const client = await peer((socket) => {
      socket.write(frame({ kind: "printing", value: null }));
      socket.write(frame({ kind: "text", piece: Buffer.from("half\n") }));
      socket.end(frame({ kind: "error", error: encodeError(new FlorError("the store went away", { hint: "Run it again." })) }));
    });
    const { text } = await client.print("printDataframe", []);
    const failure = await readAll(text).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FlorError);
    expect(failure).toMatchObject({ message: "the store went away", hint: "Run it again." });
  });

  it("says so when an answer that was to be printed came whole, or the other way round", async () => {
    let printed = false;
    const client = await peer((socket) => {
      socket.end(Buffer.concat([frame(printed ? { kind: "printing", value: 1 } : { kind: "result", value: 1 }), frame({ kind: "end" })]));
      printed = true;
    });
    await expect(client.print("printDataframe", [])).rejects.toThrow(/did not print the answer to printDataframe/);
    await expect(client.request("runs", [])).rejects.toThrow(/printed the answer to runs, which was not asked to print/);
  });
});
