// bench/cli: whole `flor` processes as a user runs them, on stores of 50k and 1M log rows: `flor runs`,
// `flor query` (a filter, a pivot, an aggregate) and `flor dataframe`, each cold (FLOR_NO_DAEMON=1: the
// command opens the store itself), as the first command (it starts the daemon and waits for it) and warm
// (the daemon answers), with wall time and peak RSS of the command's process; the daemon's own memory
// apart. Then what a cold command spends its time on, part by part (bench/cli-phases.mjs, in fresh
// processes). Every command's output is compared between the three ways it ran.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { layoutFor } from "../src/project-layout.js";
import { ingest } from "../src/store/ingest.js";
import { openStore } from "../src/store/open-store.js";
import { median } from "./bench-repo.js";
import { writeTrainingJournals } from "./synthetic-journals.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, "../bin/flor.js");
const quick = process.env["FLOR_BENCH_QUICK"] === "1";
const WARM_ROUNDS = quick ? 3 : 7;
const COLD_ROUNDS = quick ? 1 : 3;
const PHASE_ROUNDS = quick ? 1 : 3;
const line = (text: string): void => void process.stdout.write(`${text}\n`);

/** The stores: runs × 10 epochs × 100 steps of `loss`, plus `acc` per epoch, args `lr` and `opt`. */
const SIZES = [
  { label: "50k", runs: 50 },
  { label: "1M", runs: 1000 },
];
const FILTER = "SELECT epoch, loss WHERE epoch = 5";
const COMMANDS: { name: string; args: string[] }[] = [
  { name: "`flor runs`", args: ["runs"] },
  { name: `filter: \`${FILTER}\``, args: ["query", FILTER] },
  {
    name: "pivot: `SELECT epoch, step, loss, acc WHERE epoch = 9 AND opt = 'adam'`",
    args: ["query", "SELECT epoch, step, loss, acc WHERE epoch = 9 AND opt = 'adam'"],
  },
  {
    name: "aggregate: `SELECT opt, avg(loss), min(loss) GROUP BY opt`",
    args: ["query", "SELECT opt, avg(loss) AS mean, min(loss) AS best GROUP BY opt"],
  },
  { name: "`flor dataframe loss`", args: ["dataframe", "loss"] },
];

interface Run {
  seconds: number;
  peakMB: number | null;
  stdout: string;
}

/** One `flor` process: wall time, peak RSS (GNU time), output; a failure stops the bench. */
function flor(dir: string, args: string[], env: NodeJS.ProcessEnv): Run {
  const rss = path.join(dir, ".flor-bench-rss");
  const started = performance.now();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", "-o", rss, process.execPath, bin, ...args], {
    cwd: dir,
    env: { ...process.env, FLOR_DATABASE_URL: "", ...env },
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`flor ${args.join(" ")} failed (${result.status}): ${result.stderr || result.error?.message}`);
  const kb = Number(readFileSync(rss, "utf8").trim().split("\n").pop());
  return { seconds, peakMB: Number.isFinite(kb) && kb > 0 ? kb / 1024 : null, stdout: result.stdout };
}

const daemonEnv = { FLOR_DAEMON_IDLE_SECONDS: "3600" };
const noDaemon = { FLOR_NO_DAEMON: "1" };

function stopDaemon(dir: string): void {
  flor(dir, ["daemon", "stop"], daemonEnv);
}

/** The daemon's pid, and its resident and peak memory (from /proc), in MB. */
function daemonMemory(dir: string): { pid: number; rssMB: number; peakMB: number } {
  const { pid } = JSON.parse(flor(dir, ["daemon", "status", "--format", "json"], daemonEnv).stdout) as { pid: number };
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { pid, rssMB: kb("VmRSS") / 1024, peakMB: kb("VmHWM") / 1024 };
}

interface Figure {
  seconds: number;
  peakMB: number | null;
}

function summarize(runs: Run[]): Figure {
  const peaks = runs.map((r) => r.peakMB).filter((mb): mb is number => mb !== null);
  return { seconds: median(runs.map((r) => r.seconds)), peakMB: peaks.length === 0 ? null : Math.max(...peaks) };
}

const cell = ({ seconds, peakMB }: Figure): string => `${seconds.toFixed(2)} s, ${peakMB === null ? "?" : Math.round(peakMB)} MB`;

async function benchSize(label: string, runs: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(path.join(tmpdir(), "flor-cli-bench-"));
  execFileSync("git", ["init", "-q", dir]);
  const layout = layoutFor(dir);
  try {
    const rows = writeTrainingJournals(layout, { runs, epochs: 10, steps: 100, vid: null, lr: (k) => Math.round((k + 1) * 1e4) / 1e7 });
    const store = await openStore(layout, { databaseUrl: "" });
    const ingested = await ingest(store, layout).finally(() => store.close());
    line(`\n${label}: ${runs} runs, ${(rows / 1e6).toFixed(2)}M log rows (ingested in ${ingested.seconds.toFixed(1)} s)\n`);
    line("| store | command | cold: no daemon | first command: starts the daemon | warm: through the daemon |");
    line("| --- | --- | --- | --- | --- |");
    const results: Record<string, unknown> = {};
    for (const { name, args } of COMMANDS) {
      const cold: Run[] = [];
      const first: Run[] = [];
      for (let round = 0; round < COLD_ROUNDS; round++) {
        cold.push(flor(dir, args, noDaemon));
        stopDaemon(dir);
        first.push(flor(dir, args, daemonEnv));
      }
      const warm: Run[] = [];
      for (let round = 0; round < WARM_ROUNDS; round++) warm.push(flor(dir, args, daemonEnv));
      for (const run of [...first, ...warm])
        if (run.stdout !== cold[0]!.stdout)
          throw new Error(`${label} ${name}: the output through the daemon differs from the cold command's`);
      const figures = { cold: summarize(cold), first: summarize(first), warm: summarize(warm), outputBytes: cold[0]!.stdout.length };
      line(`| ${label} | ${name} | ${cell(figures.cold)} | ${cell(figures.first)} | ${cell(figures.warm)} |`);
      results[args.join(" ")] = figures;
    }
    const daemon = daemonMemory(dir);
    line(
      `\nthe daemon (pid ${daemon.pid}) after these commands: ${Math.round(daemon.rssMB)} MB resident, ${Math.round(daemon.peakMB)} MB peak`,
    );
    results["daemon"] = daemon;
    if (label === SIZES[0]!.label) results["phases"] = phases(dir);
    stopDaemon(dir);
    return { rows, runs, ingestSeconds: ingested.seconds, ...results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Where a cold command's time goes: bench/cli-phases.mjs in fresh processes (median of each part), and node's own start. */
function phases(dir: string): Record<string, number> {
  stopDaemon(dir);
  const child = path.join(here, "cli-phases.mjs");
  const samples: Record<string, number>[] = [];
  const nodeStart: number[] = [];
  const help: number[] = [];
  for (let round = 0; round < PHASE_ROUNDS; round++) {
    samples.push(JSON.parse(execFileSync(process.execPath, [child, FILTER], { cwd: dir, encoding: "utf8" })) as Record<string, number>);
    let started = performance.now();
    execFileSync(process.execPath, ["-e", "0"]);
    nodeStart.push(performance.now() - started);
    started = performance.now();
    execFileSync(process.execPath, [bin, "--help"], { stdio: "ignore" });
    help.push(performance.now() - started);
  }
  const parts: Record<string, number> = { nodeStart: median(nodeStart), cliHelp: median(help) };
  for (const key of Object.keys(samples[0]!)) parts[key] = median(samples.map((s) => s[key]!));
  const labels: [string, string][] = [
    ["nodeStart", "node itself (`node -e 0`)"],
    ["cliHelp", "`flor --help` (node + the CLI's start, no store)"],
    ["importStore", "loading the store's modules (Kysely, pg, PGlite's JavaScript)"],
    ["openStore", "opening the store: lock, PGlite start on the data directory, migrations check"],
    ["migrationsCheck", "  of which the migrations check (one query; was Kysely's migrator)"],
    ["migrator", "Kysely's migrator finding nothing to do (what every command ran before)"],
    ["journalScan", "journal scan: ingest with nothing new"],
    ["runs", "`flor runs`'s query"],
    ["importQueryLanguage", "loading the query language (parser, analysis, SQL; chevrotain's bundle)"],
    ["catalog", "the catalog, first read"],
    ["firstQuery", "planning and SQL of the filter query, first time (cold WebAssembly and caches)"],
    ["secondQuery", "the same query again, in the same process"],
    ["close", "closing the store"],
    ["importPropagation", "loading propagation (recast, Babel): now only when a query has values to fill"],
    ["importChevrotainEntry", "loading chevrotain's entry point (700 modules) instead of its bundle"],
  ];
  line("\nA cold `flor query` (no daemon), part by part, in fresh processes (median):\n");
  line("| part | ms |");
  line("| --- | --- |");
  for (const [key, label] of labels) line(`| ${label} | ${Math.round(parts[key] ?? Number.NaN)} |`);
  return parts;
}

export async function benchCli(): Promise<Record<string, unknown>> {
  line("\n## bench/cli (whole processes, median; peak RSS of the command's process)");
  const results: Record<string, unknown> = {};
  // FLOR_BENCH_QUICK=1: the small store only.
  for (const { label, runs } of quick ? SIZES.slice(0, 1) : SIZES) results[label] = await benchSize(label, runs);
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`\n${JSON.stringify(await benchCli(), null, 2)}\n`);
}
