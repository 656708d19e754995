import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import path from "node:path";
import type { ProjectLayout } from "../src/project-layout.js";
import { JournalEncoder, encodeRecord } from "../src/journal/encode.js";
import { JOURNAL_FORMAT } from "../src/journal/records.js";

export interface SyntheticRuns {
  runs: number;
  epochs: number;
  steps: number;
  /** The code version the runs ran (null: none). */
  vid: string | null;
  /** The learning rate of the k-th run. */
  lr: (k: number) => number;
  /** Also log `gnorm` per epoch. */
  gnorm?: boolean;
}

/**
 * Journals of training runs of train.ts, written directly as the SDK writes them (much faster than
 * running a script): args lr and opt, loss per step, acc (and gnorm) per epoch; one run a minute from
 * 2026-01-01. Returns how many values they log.
 */
export function writeTrainingJournals(layout: ProjectLayout, { runs, epochs, steps, vid, lr: lrOf, gnorm = false }: SyntheticRuns): number {
  mkdirSync(layout.journalsDir, { recursive: true });
  let rows = 0;
  const start = Date.UTC(2026, 0, 1);
  for (let k = 0; k < runs; k++) {
    const tstamp = new Date(start + k * 60_000).toISOString();
    const lr = lrOf(k);
    const lines = [
      encodeRecord({
        k: "run",
        format: JOURNAL_FORMAT,
        projid: layout.projid,
        tstamp,
        filename: "train.ts",
        vid,
        pid: 1,
        host: "bench",
        argv: [],
        node: process.version,
      }),
      encodeRecord({ k: "arg", n: "lr", v: lr, src: "kwargs" }),
      encodeRecord({ k: "arg", n: "opt", v: k % 2 === 0 ? "adam" : "sgd", src: "kwargs" }),
    ];
    const encoder = new JournalEncoder();
    let id = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const e = ++id;
      lines.push(encoder.context(e, null, "epoch", epoch, undefined));
      // Steps continue one another: only the first has a `ctx` record (journal format 2).
      for (let step = 0; step < steps; step++) {
        const s = ++id;
        if (step === 0) lines.push(encoder.context(s, e, "step", step, undefined));
        lines.push(encoder.log(s, "loss", lr / (1 + epoch + step / steps)));
      }
      lines.push(
        encoder.iterationTimes(e + 1, new Array<number>(steps).fill(0.001)),
        encodeRecord({ k: "loop", c: e, n: "step", count: steps, t0: 0, s: 0.05 }),
        encoder.log(e, "acc", 0.5 + epoch / 50 + lr),
      );
      if (gnorm) lines.push(encoder.log(e, "gnorm", 1 / (epoch + 1)));
      lines.push(encoder.iterationTimes(e, [0.05]));
      rows += steps + (gnorm ? 2 : 1);
    }
    lines.push(
      encodeRecord({ k: "loop", c: null, n: "epoch", count: epochs, t0: 0, s: 1 }),
      encodeRecord({ k: "end", status: "ok", exit: 0, s: 1 }),
    );
    const fd = openSync(path.join(layout.journalsDir, `${tstamp.replace(/:/g, "-")}.jsonl`), "w");
    writeSync(fd, lines.join(""));
    closeSync(fd);
  }
  return rows;
}
