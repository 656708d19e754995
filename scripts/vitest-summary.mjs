#!/usr/bin/env node
// Usage: node scripts/vitest-summary.mjs <report.json>
// Reads vitest's JSON reporter output and prints one line: "N passed, N failed, N skipped"
// (skipped = pending + todo). Exits non-zero, saying why, when the report is missing or unreadable.
import { readFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: node scripts/vitest-summary.mjs <report.json>");
  process.exit(2);
}

let report;
try {
  report = JSON.parse(readFileSync(file, "utf8"));
} catch (error) {
  const reason = error?.code === "ENOENT" ? "it does not exist" : error instanceof Error ? error.message : String(error);
  console.error(`vitest-summary: cannot read the vitest JSON report ${file}: ${reason}`);
  process.exit(1);
}

function count(key) {
  const value = report?.[key];
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    console.error(`vitest-summary: ${file} is not a vitest JSON report (no numeric "${key}")`);
    process.exit(1);
  }
  return value;
}

const passed = count("numPassedTests");
const failed = count("numFailedTests");
const skipped = count("numPendingTests") + count("numTodoTests");
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
