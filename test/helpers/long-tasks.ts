import { hostname } from "node:os";
import { isAlive } from "../../src/store/pglite-lock.js";

/**
 * Scripts that write their pid to `pid`, then run about 60 s: a synchronous loop (timers starve in it)
 * and one that awaits. For tests of processes that must stop themselves when whoever started them dies.
 */
export const LONG_TASKS: [string, string][] = [
  [
    "a synchronous loop",
    `import { flor } from "flordb";
import { writeFileSync } from "node:fs";
writeFileSync("pid", String(process.pid));
const pause = new Int32Array(new SharedArrayBuffer(4));
for (const epoch of flor.loop("epoch", 600)) { Atomics.wait(pause, 0, 0, 100); flor.log("e", epoch); }
`,
  ],
  [
    "a script that awaits",
    `import { flor } from "flordb";
import { writeFileSync } from "node:fs";
flor.log("started", 1);
writeFileSync("pid", String(process.pid));
await new Promise((resolve) => setTimeout(resolve, 60_000));
`,
  ],
];

/** Whether the process runs (an exited one that nobody has collected yet does not). */
export const alive = (pid: number): boolean => isAlive({ pid, host: hostname() });
