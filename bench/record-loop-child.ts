// One training-like run for bench/record's end-to-end overhead, in a process of its own: a state of
// `stateBytes` (a Float64Array: an n×n block at its start is the model the steps use), steps of `reps`
// mat-vec products over that block and a rank-one update of a row that moves through the whole state
// (so every checkpoint differs), a flor.log per step. Prints, as JSON: the loop's wall time (after the
// imports and the run's start) and how the training thread spent it (on a core, waiting for one, blocked;
// Linux), the checkpoint thread's CPU time, the time spent inside flor's calls, the commit's time, and the
// run's ckpolicy record. Mode "calibrate" prints the milliseconds of one rep.
import { readdirSync, readFileSync } from "node:fs";
import { Flor } from "../src/sdk/flor.js";

export interface LoopConfig {
  stateBytes: number;
  n: number;
  reps: number;
  epochs: number;
  steps: number;
  /** Register the state for checkpointing (default true), with this bound. */
  checkpoint?: boolean;
  maxOverhead?: number;
  /** Time flor's calls (a run of its own: the timing costs the loop a little). */
  inside?: boolean;
}

const [mode, script, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson!) as LoopConfig;

/** The part of the SDK the loop uses; plain mode is a no-op object, like the script with flor taken out. */
interface Tracker {
  arg<T extends number>(name: string, defaultValue: T): T;
  loop(name: string, count: number): Iterable<number>;
  log<T>(name: string, value: T): T;
}
const noop: Tracker = {
  arg: (_name, defaultValue) => defaultValue,
  *loop(_name: string, count: number) {
    for (let i = 0; i < count; i++) yield i;
  },
  log: (_name, value) => value,
};
const flor = mode === "flor" ? new Flor({ script: script!, argv: [], autoCommit: false }) : null;

/** Adds up the time spent inside flor's calls: each log, and each step of a loop's iterator (where iterations are journaled and checkpoints taken). */
let insideMs = 0;
const timed: Tracker | null =
  flor === null || config.inside !== true
    ? null
    : {
        arg: (name, defaultValue) => flor.arg(name, defaultValue),
        loop: (name, count) => {
          const iterator = flor.loop(name, count);
          return {
            [Symbol.iterator]: () => ({
              next: () => {
                const t = performance.now();
                const result = iterator.next();
                insideMs += performance.now() - t;
                return result;
              },
            }),
          };
        },
        log: (name, value) => {
          const t = performance.now();
          flor.log(name, value);
          insideMs += performance.now() - t;
          return value;
        },
      };
const tracker = timed ?? flor ?? noop;

// Starts the run (git snapshot, journal), which is not loop time.
const W = new Float64Array(tracker.arg("state_bytes", config.stateBytes) / 8);
for (let i = 0; i < W.length; i++) W[i] = Math.sin(i) * 1e-2;
const N = config.n;
const x = new Float64Array(N).fill(1 / N);
const y = new Float64Array(N);

function rep(): void {
  for (let i = 0; i < N; i++) {
    let sum = 0;
    const row = i * N;
    for (let j = 0; j < N; j++) sum += W[row + j]! * x[j]!;
    y[i] = sum;
  }
  for (let j = 0; j < N; j++) x[j] = y[j]! + 1 / N;
}

function step(s: number): number {
  for (let r = 0; r < config.reps; r++) rep();
  const base = ((s * N) % (W.length - N)) | 0;
  for (let j = 0; j < N; j++) W[base + j] = W[base + j]! * 0.999 + y[j]! * 1e-3;
  return y[0]!;
}

/** A thread's time on a core and waiting for one (ms), from Linux's schedstat; NaN elsewhere. */
const schedstat = (file: string): { cpu: number; wait: number } => {
  try {
    const [cpu, wait] = readFileSync(file, "utf8").split(" ").map(Number);
    return { cpu: cpu! / 1e6, wait: wait! / 1e6 };
  } catch {
    return { cpu: Number.NaN, wait: Number.NaN };
  }
};
if (mode === "calibrate") {
  for (let i = 0; i < 200; i++) rep(); // optimised before it is timed
  // CPU time where Linux tells it: wall time on a busy machine is mostly waiting for a core.
  const now = (): number => {
    const { cpu } = schedstat("/proc/thread-self/schedstat");
    return Number.isNaN(cpu) ? performance.now() : cpu;
  };
  const t = now();
  let count = 0;
  while (now() - t < 300) {
    for (let i = 0; i < 10; i++) rep();
    count += 10;
  }
  process.stdout.write(`${JSON.stringify({ repMs: (now() - t) / count })}\n`);
  process.exit(0);
}

if (flor !== null && config.checkpoint !== false)
  flor.checkpointing({ W }, config.maxOverhead === undefined ? undefined : { maxOverhead: config.maxOverhead });

/** The checkpoint thread's CPU time: the process's thread with nice 10 (see checkpoint-writer.ts). */
const checkpointThreadCpu = (): number => {
  try {
    for (const tid of readdirSync("/proc/self/task")) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16] === "10") return schedstat(`/proc/self/task/${tid}/schedstat`).cpu;
    }
    return 0;
  } catch {
    return Number.NaN;
  }
};
const s0 = schedstat("/proc/thread-self/schedstat");
const t0 = performance.now();
let s = 0;
for (const _epoch of tracker.loop("epoch", config.epochs)) {
  for (const _step of tracker.loop("step", config.steps)) tracker.log("loss", step(s++));
}
const loopMs = performance.now() - t0;
const s1 = schedstat("/proc/thread-self/schedstat");
const cpuMs = s1.cpu - s0.cpu;
/** Neither on a core nor waiting for one: journal writes, waiting for a free checkpoint slot. */
const blockedMs = loopMs - cpuMs - (s1.wait - s0.wait);
const checkpointThreadMs = checkpointThreadCpu();
const journal = flor?.run?.journal;
const t1 = performance.now();
await flor?.commit();
const commitMs = performance.now() - t1;
const policy =
  journal === undefined
    ? null
    : (readFileSync(journal, "utf8")
        .split("\n")
        .filter((line) => line.startsWith('{"k":"ckpolicy"'))
        .map((line) => JSON.parse(line) as unknown)[0] ?? null);
process.stdout.write(`${JSON.stringify({ loopMs, cpuMs, blockedMs, checkpointThreadMs, insideMs, commitMs, policy })}\n`);
