import { readFileSync } from "node:fs";
import { BadLine, decodeRecord } from "../../src/journal/decode.js";
import { withExplicitContexts } from "../../src/journal/context-ranges.js";
import { REPLAY_JOURNAL_FORMAT, type JournalRecord, type ReplayHeaderRecord, type RunRecord } from "../../src/journal/records.js";

/** The records of a whole journal file, read with the codec; a line that is not one fails the test. */
export function readJournal(file: string): JournalRecord[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line, index) => {
      const record = decodeRecord(line);
      if (record instanceof BadLine) throw new Error(`${file}:${index + 1}: ${record.reason}`);
      return record;
    });
}

/**
 * The records of a whole journal with every loop context explicit: a `ctx` record for each iteration, as
 * journal format 1 wrote them (format 2 leaves out those that continue the latest context).
 */
export function readContexts(file: string): JournalRecord[] {
  const records = readJournal(file);
  const header = records[0];
  return withExplicitContexts(records, header?.k === "run" || header?.k === "replay" ? header.format : 1);
}

/** The header of a finished whole-script replay of `run` (job 1, first attempt) that fills `names`. */
export function replayHeader(run: RunRecord, task: number, names: string[]): ReplayHeaderRecord {
  return {
    k: "replay",
    format: REPLAY_JOURNAL_FORMAT,
    vid: run.vid,
    projid: run.projid,
    tstamp: run.tstamp,
    filename: run.filename,
    job: 1,
    task,
    attempt: 1,
    names,
    loop: null,
    segments: [],
    before: false,
    after: false,
    pid: 1,
    host: "replayer",
    node: process.version,
  };
}
