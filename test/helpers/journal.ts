import { readFileSync } from "node:fs";
import { BadLine, decodeRecord } from "../../src/journal/decode.js";
import type { JournalRecord } from "../../src/journal/records.js";

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
