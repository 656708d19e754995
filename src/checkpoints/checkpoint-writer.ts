import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { encodeCheckpoint, encodeCheckpointCheck } from "../journal/encode.js";
import type { ThreadCost } from "./checkpoint-policy.js";
import type { CapturedState } from "./object-state.js";
import { restoreInPlace } from "./restore-in-place.js";
import { describeProblem, roundTripProblem, unusableWarning } from "./round-trip.js";

/**
 * Checkpoints waiting for the writer may hold this much shared memory; the next one waits until enough
 * are stored. One larger checkpoint may always wait alone.
 */
const MAX_HELD_BYTES = 256 * 2 ** 20;
/** Checkpoints that may wait for the writer at once. */
const MAX_SLOTS = 8;
/** The checkpoint thread's nice value: where both threads want the same core, the training thread goes first. */
const BACKGROUND_NICE = 10;
/** Control words shared with the checkpoint thread (Int32Array indices). */
const IN_FLIGHT = 0;
const UNUSABLE = 1;
/** The checkpoint thread's Linux thread id, once it has measured its start (0 elsewhere). */
const THREAD_ID = 2;
/** Slot i is busy (being stored) while word SLOT + i is 1. */
const SLOT = 3;
/** Nanosecond counters shared with the checkpoint thread (BigInt64Array indices): its wall time on checkpoints, and its CPU time when it started. */
const WORK_NS = 0;
const START_NS = 1;

/** A thread's CPU time (ms) from Linux's schedstat. */
function threadCpuMs(tid: number): number {
  return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
}

/**
 * The checkpoint thread's code, as plain JavaScript: an eval'd worker needs no build step and loads the
 * same under tsx, vitest and the compiled package. The functions it shares with the training side are
 * spliced in as source, so they are self-contained (`__name` is the helper esbuild's keepNames adds).
 *
 * For each checkpoint it hashes every object's bytes where the training thread put them (pieces in a
 * slot of shared memory, which together are the object's serialisation), stores them in the object store (write to a temporary file, then rename), and appends
 * the `ckpt` record to the journal, which both threads open with O_APPEND so whole lines never
 * interleave. At a run's first checkpoint it also runs the round trip (roundTripProblem) and writes the
 * `ckcheck` record. For the overhead policy it adds up the wall time it works (where Linux does not
 * tell the thread's CPU time, see threadCost).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const v8 = require("node:v8");
const __name = (target) => target;
const control = new Int32Array(workerData.control);
const background = new BigInt64Array(workerData.background);
let journal = null;
const encodeCheckpoint = ${encodeCheckpoint.toString()};
const encodeCheckpointCheck = ${encodeCheckpointCheck.toString()};
${restoreInPlace.toString()}
${roundTripProblem.toString()}
${describeProblem.toString()}
${unusableWarning.toString()}
try {
  // Linux: setpriority on a thread id lowers this thread only; the CPU time the thread's start took is
  // published with its id, so the training thread can charge both to the checkpoints.
  const tid = Number(fs.readlinkSync("/proc/thread-self").split("/").pop());
  os.setPriority(tid, ${BACKGROUND_NICE});
  Atomics.store(background, ${START_NS}, BigInt(fs.readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]));
  Atomics.store(control, ${THREAD_ID}, tid);
} catch {}
parentPort.on("message", ({ ctx, slot, buffer, objects, started, check }) => {
  const t0 = performance.now();
  try {
    journal ??= fs.openSync(workerData.journal, "a");
    const hashes = {};
    let bytes = 0;
    let written = 0;
    for (const { name, segments, length } of objects) {
      const pieces = segments.map(([offset, size]) => new Uint8Array(buffer, offset, size));
      const hasher = createHash("sha256");
      for (const piece of pieces) hasher.update(piece);
      const hash = hasher.digest("hex");
      const file = path.join(workerData.objectsDir, hash.slice(0, 2), hash.slice(2)); // as ObjectStore.pathOf
      if (!fs.existsSync(file)) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const temporary = file + "." + process.pid + ".tmp";
        const fd = fs.openSync(temporary, "w");
        try {
          for (const piece of pieces) fs.writeSync(fd, piece);
        } finally {
          fs.closeSync(fd);
        }
        fs.renameSync(temporary, file);
        written += length;
      }
      hashes[name] = hash;
      bytes += length;
    }
    if (check) {
      let problem = null;
      for (const { name, segments, inPlace } of objects) {
        const saved = Buffer.concat(segments.map(([offset, size]) => new Uint8Array(buffer, offset, size)));
        problem = roundTripProblem(name, saved, inPlace, v8, restoreInPlace);
        if (problem !== null) break;
      }
      fs.writeSync(journal, encodeCheckpointCheck(problem === null
        ? { k: "ckcheck", c: ctx, ok: true }
        : { k: "ckcheck", c: ctx, ok: false, o: problem.object, p: problem.path, r: problem.reason }));
      if (problem !== null) {
        Atomics.store(control, ${UNUSABLE}, 1);
        fs.writeSync(2, unusableWarning(problem));
      }
    }
    const seconds = Math.round((performance.timeOrigin + performance.now() - started) * 1000) / 1e6;
    fs.writeSync(journal, encodeCheckpoint({ k: "ckpt", c: ctx, o: hashes, b: bytes, w: written, s: seconds }));
  } catch (error) {
    fs.writeSync(2, "flor: warning: a checkpoint could not be saved: " + error.message + "\\n");
  } finally {
    Atomics.store(control, ${SLOT} + slot, 0);
    Atomics.add(background, ${WORK_NS}, BigInt(Math.round((performance.now() - t0) * 1e6)));
    Atomics.sub(control, ${IN_FLIGHT}, 1);
    Atomics.notify(control, ${IN_FLIGHT});
  }
});
`;

/** A registered object's captured state, by name. */
export interface NamedCapture extends CapturedState {
  name: string;
}

/**
 * Saves checkpoints off the training thread. The training thread captures the states and copies them,
 * once, into a slot of memory it shares with the checkpoint thread (slots are reused, so their pages
 * stay in); hashing, writing and journaling happen on the checkpoint thread. Nothing is transferred:
 * detaching an ArrayBuffer, even once, makes V8 check every typed-array access of the process for
 * detachment from then on (its ArrayBufferDetaching protector), which slowed typed-array training code by
 * 40 %. `drain` waits synchronously (it also runs in the process 'exit' handler).
 */
export class CheckpointWriter {
  private readonly worker: Worker;
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * (SLOT + MAX_SLOTS)));
  /** Nanoseconds: the checkpoint thread's wall time on checkpoints, and its CPU time when it had started (WORK_NS, START_NS). */
  private readonly background = new BigInt64Array(new SharedArrayBuffer(16));
  private readonly slots: SharedArrayBuffer[] = [];

  constructor(objectsDir: string, journal: string) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { objectsDir, journal, control: this.control.buffer, background: this.background.buffer },
    });
    this.worker.unref();
    // The thread catches what a checkpoint throws; this is for a thread that could not start at all.
    this.worker.on("error", (error) => process.stderr.write(`flor: warning: the checkpoint thread failed: ${error.message}\n`));
  }

  /**
   * Copies the states captured at the end of iteration `ctx` into a slot and queues them; `started` is
   * when capture began (epoch ms). With `check` (the run's first checkpoint), the checkpoint thread also
   * checks that they restore.
   */
  save(ctx: number, states: NamedCapture[], started: number, check: boolean): void {
    const bytes = states.reduce((sum, state) => sum + state.bytes + 8 * state.parts.length, 0);
    const slot = this.acquire(bytes);
    const memory = new Uint8Array(this.slots[slot]!);
    const objects: { name: string; segments: [number, number][]; length: number; inPlace: boolean }[] = [];
    let offset = 0;
    for (const { name, parts, bytes: length, inPlace } of states) {
      const segments: [number, number][] = [];
      for (const part of parts) {
        // Copying into shared memory goes word by word only where source and target are equally aligned; else byte by byte, 8× slower.
        offset += (part.byteOffset - offset) & 7;
        memory.set(part, offset);
        segments.push([offset, part.byteLength]);
        offset += part.byteLength;
      }
      objects.push({ name, segments, length, inPlace });
    }
    Atomics.store(this.control, SLOT + slot, 1);
    Atomics.add(this.control, IN_FLIGHT, 1);
    this.worker.postMessage({ ctx, slot, buffer: this.slots[slot], objects, started, check });
  }

  /** Whether the round trip of the first checkpoint failed: the run's checkpoints cannot be used. */
  get unusable(): boolean {
    return Atomics.load(this.control, UNUSABLE) === 1;
  }

  /**
   * What the checkpoint thread has cost so far: on Linux its CPU time, start-up apart (what it can take
   * from the training thread; its wall time would count the waits for a core at its lower priority too);
   * elsewhere the wall time it spent on checkpoints, its start unmeasured.
   */
  threadCost(): ThreadCost {
    const tid = Atomics.load(this.control, THREAD_ID);
    if (tid !== 0) {
      try {
        const startMs = Number(Atomics.load(this.background, START_NS)) / 1e6;
        return { startMs, workMs: threadCpuMs(tid) - startMs };
      } catch {
        // The thread has ended: its work is measured as elsewhere.
      }
    }
    return { startMs: null, workMs: Number(Atomics.load(this.background, WORK_NS)) / 1e6 };
  }

  /** Blocks until every queued checkpoint is stored and journaled. */
  drain(): void {
    while (Atomics.load(this.control, IN_FLIGHT) > 0) this.waitForOne();
  }

  /** Drains, stops the thread, and returns what it cost over the run. */
  close(): ThreadCost {
    this.drain();
    const cost = this.threadCost();
    this.slots.length = 0;
    void this.worker.terminate();
    return cost;
  }

  /** A free slot of at least `bytes`: a free one that fits, a new or bigger one within the memory bound, or the next one freed. */
  private acquire(bytes: number): number {
    const size = Math.ceil((bytes * 1.125) / 65536) * 65536 || 65536;
    for (;;) {
      let held = 0;
      let smallestFree = -1;
      for (let i = 0; i < this.slots.length; i++) {
        const length = this.slots[i]!.byteLength;
        held += length;
        if (Atomics.load(this.control, SLOT + i) !== 0) continue;
        if (length >= bytes) return i;
        if (smallestFree < 0 || length < this.slots[smallestFree]!.byteLength) smallestFree = i;
      }
      if (Atomics.load(this.control, IN_FLIGHT) === 0 && held + size > MAX_HELD_BYTES) {
        // Every slot is free: a checkpoint larger than the bound waits alone.
        this.slots.length = 0;
        held = 0;
      }
      if (this.slots.length < MAX_SLOTS && held + size <= Math.max(MAX_HELD_BYTES, size)) {
        this.slots.push(new SharedArrayBuffer(size));
        return this.slots.length - 1;
      }
      if (smallestFree >= 0 && held - this.slots[smallestFree]!.byteLength + size <= MAX_HELD_BYTES) {
        this.slots[smallestFree] = new SharedArrayBuffer(size);
        return smallestFree;
      }
      this.waitForOne();
    }
  }

  private waitForOne(): void {
    const inFlight = Atomics.load(this.control, IN_FLIGHT);
    if (inFlight > 0) Atomics.wait(this.control, IN_FLIGHT, inFlight, 1000);
  }
}
