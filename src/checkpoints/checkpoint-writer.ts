import { Worker } from "node:worker_threads";
import { encodeCheckpoint } from "../journal/encode.js";

/**
 * Checkpoints waiting for the writer may hold this much memory (KiB); the next one blocks until enough
 * are stored. One larger checkpoint may always wait alone.
 */
const MAX_IN_FLIGHT_KIB = 256 * 1024;

/**
 * The writer thread's code, as plain JavaScript: an eval'd worker needs no build step and loads the
 * same under tsx, vitest and the compiled package. It hashes each state, stores it in the object store
 * (write to a temporary file, then rename) and appends the `ckpt` record to the journal, which is opened
 * with O_APPEND by both threads so whole lines never interleave. The record is encoded by the journal
 * codec's own encodeCheckpoint, whose source the worker runs.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const counters = new Int32Array(workerData.counters);
const journal = fs.openSync(workerData.journal, "a");
const encodeCheckpoint = ${encodeCheckpoint.toString()};
parentPort.on("message", ({ ctx, states, started }) => {
  try {
    const objects = {};
    let bytes = 0;
    let written = 0;
    for (const { name, state } of states) {
      const data = Buffer.from(state.buffer, state.byteOffset, state.byteLength);
      const hash = createHash("sha256").update(data).digest("hex");
      const file = path.join(workerData.objectsDir, hash.slice(0, 2), hash.slice(2)); // as ObjectStore.pathOf
      if (!fs.existsSync(file)) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const temporary = file + "." + process.pid + ".tmp";
        fs.writeFileSync(temporary, data);
        fs.renameSync(temporary, file);
        written += data.length;
      }
      objects[name] = hash;
      bytes += data.length;
    }
    const seconds = Math.round((performance.timeOrigin + performance.now() - started) * 1000) / 1e6;
    fs.writeSync(journal, encodeCheckpoint({ k: "ckpt", c: ctx, o: objects, b: bytes, w: written, s: seconds }));
  } catch (error) {
    fs.writeSync(2, "flor: warning: a checkpoint could not be saved: " + error.message + "\\n");
  } finally {
    Atomics.sub(counters, 1, Math.ceil(states.reduce((sum, { state }) => sum + state.byteLength, 0) / 1024));
    Atomics.sub(counters, 0, 1);
    Atomics.notify(counters, 0);
  }
});
`;

/**
 * Saves checkpoints off the training thread. The training thread only captures the states (the copy
 * that a consistent snapshot needs); hashing, writing and journaling happen in a worker thread, so a
 * checkpoint per iteration costs the training loop little. `drain` waits synchronously (it also runs in
 * the process 'exit' handler).
 */
export class CheckpointWriter {
  private readonly worker: Worker;
  /** [checkpoints in flight, KiB in flight] */
  private readonly counters = new Int32Array(new SharedArrayBuffer(8));

  constructor(objectsDir: string, journal: string) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { objectsDir, journal, counters: this.counters.buffer } });
    this.worker.unref();
  }

  /** Queues the states captured at the end of iteration `ctx`; `started` is when capture began (epoch ms). */
  save(ctx: number, states: { name: string; state: Uint8Array }[], started: number): void {
    const kib = Math.ceil(states.reduce((sum, { state }) => sum + state.byteLength, 0) / 1024);
    while (Atomics.load(this.counters, 0) > 0 && Atomics.load(this.counters, 1) + kib > MAX_IN_FLIGHT_KIB) this.waitForOne();
    Atomics.add(this.counters, 1, kib);
    Atomics.add(this.counters, 0, 1);
    this.worker.postMessage(
      { ctx, states, started },
      states.map((s) => s.state.buffer as ArrayBuffer),
    );
  }

  /** Blocks until every queued checkpoint is stored and journaled. */
  drain(): void {
    while (Atomics.load(this.counters, 0) > 0) this.waitForOne();
  }

  close(): void {
    this.drain();
    void this.worker.terminate();
  }

  private waitForOne(): void {
    const inFlight = Atomics.load(this.counters, 0);
    if (inFlight > 0) Atomics.wait(this.counters, 0, inFlight, 1000);
  }
}
