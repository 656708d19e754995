// `npm run bench`: every benchmark, in one process run; results also go to bench/results.json.
import { writeFileSync } from "node:fs";
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

const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown cpu"}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
process.stdout.write(`# FlorDB benchmarks\n\nMachine: ${machine}\n`);
const results = {
  machine,
  date: new Date().toISOString(),
  record: await benchRecord(),
  propagation: benchPropagation(),
  query: await benchQuery(),
  replay: await benchReplay(),
  graphql: await benchGraphql(),
  cli: await benchCli(),
  scale: await benchScale(),
};
const file = path.join(path.dirname(fileURLToPath(import.meta.url)), "results.json");
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\nResults written to ${path.relative(process.cwd(), file)}\n`);
