// `npm run bench`: every benchmark, in one process run; results also go to bench/results.json.
// `npm run bench -- cli record` runs only those, replacing their entries in bench/results.json.
// Benchmarks in ON_REQUEST run only when named.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { benchRecord } from "./record.js";
import { benchPropagation } from "./propagation.js";
import { benchReplay } from "./replay.js";
import { benchQuery } from "./query.js";
import { benchGraphql } from "./graphql.js";
import { benchCli } from "./cli.js";
import { benchScale } from "./scale.js";
import { benchFaults } from "./faults.js";

const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown cpu"}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
process.stdout.write(`# FlorDB benchmarks\n\nMachine: ${machine}\n`);
const benches: Record<string, () => unknown> = {
  record: benchRecord,
  propagation: benchPropagation,
  query: benchQuery,
  replay: benchReplay,
  graphql: benchGraphql,
  cli: benchCli,
  scale: benchScale,
  faults: benchFaults,
};
// The fault soak (about 25 minutes) runs when named: `npm run bench -- faults`.
const ON_REQUEST = new Set(["faults"]);
const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !(name in benches));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(", ")}; the benchmarks are ${Object.keys(benches).join(", ")}\n`);
  process.exit(2);
}
const file = path.join(path.dirname(fileURLToPath(import.meta.url)), "results.json");
const results: Record<string, unknown> = chosen.length > 0 && existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
results["machine"] = machine;
results["date"] = new Date().toISOString();
for (const [name, bench] of Object.entries(benches)) {
  if (chosen.length === 0 ? !ON_REQUEST.has(name) : chosen.includes(name)) results[name] = await bench();
}

writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\nResults written to ${path.relative(process.cwd(), file)}\n`);
