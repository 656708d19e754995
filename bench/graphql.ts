// bench/graphql: throughput and latency of `flor serve` (the built CLI, embedded store) under 32
// concurrent keep-alive connections from autocannon over loopback, for a runs page and a FlorQL query.
// Baseline, run in the same bench run on a copy of the same store: a plain node:http server that answers
// the same runs page, byte for byte, with the runs and args queries the runs resolver makes, and nothing
// else (no GraphQL parsing, validation, execution, limits or per-request journal check). The ratio is
// what flor serve costs on top of that data access. Both servers run side by side and the cases take
// turns, 3 rounds of 10 s each (figures: the median round; the ratio: the median of the rounds' ratios),
// so that load from other processes drifting over the run falls on both alike. Every response of every
// case is checked against a sample that was checked to hold the expected data and no `errors`
// (autocannon's expectBody). FLOR_BENCH_QUICK=1: one round of 5 s.
import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { cpSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { layoutFor } from "../src/project-layout.js";
import { ingest } from "../src/store/ingest.js";
import { openStore } from "../src/store/open-store.js";
import { benchRepo } from "./bench-repo.js";
import { writeTrainingJournals } from "./synthetic-journals.js";

const RUNS = 200;
const EPOCHS = 10;
const STEPS = 30;
const CONNECTIONS = 32;
const quick = process.env["FLOR_BENCH_QUICK"] === "1";
const ROUNDS = quick ? 1 : 3;
const SECONDS = quick ? 5 : 10;
const WARMUP_SECONDS = quick ? 1 : 3;
const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, "../bin/flor.js");
const tsxLoader = createRequire(import.meta.url).resolve("tsx/esm");
const line = (text: string): void => void process.stdout.write(`${text}\n`);

const RUNS_PAGE = "{ runs(first: 20) { edges { node { id filename args { name value } } } } }";
const FLORQL = `{ florql(query: "SELECT lr, epoch, acc FROM train.ts WHERE lr < 0.002 AND epoch >= 5 ORDER BY lr, epoch", replay: NONE) { __typename ... on FlorqlAnswer { columns rows } ... on FlorqlError { code message } } }`;

/** Starts a server process and resolves with the URL it prints on stderr as `serving ... at <url>`. */
async function startServer(
  command: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ url: string; child: ChildProcessWithoutNullStreams; stop(): Promise<void> }> {
  const child = spawn(process.execPath, command, {
    cwd,
    env: { ...process.env, FLOR_DATABASE_URL: "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /serving \S+ at (\S+)/.exec(stderr);
      if (found) resolve(found[1]!);
    });
    child.once("exit", (code) => reject(new Error(`${command.join(" ")} exited ${code}: ${stderr}`)));
  });
  return {
    url,
    child,
    stop: async () => {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
    },
  };
}

const post = (query: string) => ({
  method: "POST" as const,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ query }),
});

/** One response, checked to be data without errors; its body is what every response must equal. */
async function sample(url: string, query: string, check: (data: Record<string, unknown>) => string | null): Promise<string> {
  const response = await fetch(url, post(query));
  const body = await response.text();
  const parsed = JSON.parse(body) as { data?: Record<string, unknown>; errors?: unknown };
  const problem =
    response.status !== 200
      ? `HTTP ${response.status}`
      : parsed.errors !== undefined
        ? "errors in the response"
        : parsed.data === undefined
          ? "no data"
          : check(parsed.data);
  if (problem !== null) throw new Error(`${url}: ${problem}: ${body.slice(0, 500)}`);
  return body;
}

interface Load {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
}

async function load(url: string, query: string, expectBody: string, seconds = SECONDS): Promise<Load> {
  const result = await autocannon({ url, connections: CONNECTIONS, ...post(query), expectBody, duration: seconds });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    mismatches: result.mismatches,
  };
}

function row(name: string, l: Load, ratio: string): void {
  line(
    `| ${name} | ${l.requestsPerSecond.toFixed(0)} | ${l.p50Ms.toFixed(1)} ms | ${l.p99Ms.toFixed(1)} ms | ${l.errors + l.timeouts} | ${l.non2xx} | ${l.mismatches} | ${ratio} |`,
  );
}

export async function benchGraphql(): Promise<Record<string, unknown>> {
  line(
    `\n## bench/graphql (${RUNS} runs × ${EPOCHS} epochs × ${STEPS} steps, ${CONNECTIONS} connections, ${ROUNDS} × ${SECONDS} s per case${quick ? ", quick" : ""})\n`,
  );
  const repo = benchRepo();
  try {
    const vid = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repo.dir, encoding: "utf8" }).trim();
    const rows = writeTrainingJournals(layoutFor(repo.dir), { runs: RUNS, epochs: EPOCHS, steps: STEPS, vid, lr: (k) => (k + 1) / 10_000 });
    line(`${rows} log rows in ${RUNS} journals; flor serve is the built CLI on the embedded store\n`);

    // The embedded store takes one process at a time: the baseline gets a copy, made before either starts.
    const original = layoutFor(repo.dir);
    const store = await openStore(original, { databaseUrl: "" });
    await ingest(store, original);
    await store.close();
    const copy = path.join(repo.dir, ".flor-baseline");
    cpSync(original.florDir, copy, { recursive: true });

    const flor = await startServer([bin, "serve", "--port", "0"], repo.dir);
    const plain = await startServer(["--import", tsxLoader, fileURLToPath(import.meta.url), "--baseline-server"], repo.dir, {
      FLOR_DIR: copy,
    });
    const rounds: { baseline: Load; runsPage: Load; florql: Load }[] = [];
    try {
      const runsBody = await sample(flor.url, RUNS_PAGE, (data) =>
        (data["runs"] as { edges: unknown[] }).edges.length === 20 ? null : "not 20 runs",
      );
      const florqlBody = await sample(flor.url, FLORQL, (data) => {
        const answer = data["florql"] as { __typename: string; rows?: unknown[] };
        return answer.__typename === "FlorqlAnswer" && answer.rows!.length === 19 * 5 ? null : `not 95 rows: ${answer.__typename}`;
      });
      if ((await sample(plain.url, RUNS_PAGE, () => null)) !== runsBody) throw new Error("the baseline answers a different runs page");
      const cases = {
        baseline: [plain.url, RUNS_PAGE, runsBody],
        runsPage: [flor.url, RUNS_PAGE, runsBody],
        florql: [flor.url, FLORQL, florqlBody],
      } as const;
      for (const [url, query, body] of Object.values(cases)) await load(url, query, body, WARMUP_SECONDS);
      for (let round = 0; round < ROUNDS; round++) {
        rounds.push({
          baseline: await load(...cases.baseline),
          runsPage: await load(...cases.runsPage),
          florql: await load(...cases.florql),
        });
      }
    } finally {
      await Promise.all([flor.stop(), plain.stop()]);
    }

    const median = <T>(items: T[], by: (item: T) => number): T => [...items].sort((a, b) => by(a) - by(b))[Math.floor(items.length / 2)]!;
    const summary = (pick: (r: (typeof rounds)[number]) => Load): Load => {
      const loads = rounds.map(pick);
      const sum = (key: "requests" | "errors" | "timeouts" | "non2xx" | "mismatches") => loads.reduce((total, l) => total + l[key], 0);
      const mid = median(loads, (l) => l.requestsPerSecond);
      return {
        ...mid,
        requests: sum("requests"),
        errors: sum("errors"),
        timeouts: sum("timeouts"),
        non2xx: sum("non2xx"),
        mismatches: sum("mismatches"),
      };
    };
    const baseline = summary((r) => r.baseline);
    const runsPage = summary((r) => r.runsPage);
    const florql = summary((r) => r.florql);
    const ratios = rounds.map((r) => r.runsPage.requestsPerSecond / r.baseline.requestsPerSecond);
    const ratio = median(ratios, (x) => x);
    line(`rounds' ratios (runs page / baseline, requests/s): ${ratios.map((x) => x.toFixed(2)).join(", ")}\n`);
    line("| case | requests/s | p50 | p99 | errors | non-2xx | wrong bodies | vs baseline (requests/s) |");
    line("| --- | --- | --- | --- | --- | --- | --- | --- |");
    row("baseline: node:http + Kysely, runs page", baseline, "1");
    row("flor serve: runs(first: 20)", runsPage, `${ratio.toFixed(2)}×`);
    row("flor serve: florql (95 rows, replay NONE)", florql, "");
    const failed = [baseline, runsPage, florql].some((l) => l.errors + l.timeouts + l.non2xx + l.mismatches > 0);
    if (failed) line("\nSOME REQUESTS FAILED: see errors, non-2xx and wrong bodies above");
    return {
      runs: RUNS,
      logRows: rows,
      connections: CONNECTIONS,
      rounds: ROUNDS,
      secondsPerRound: SECONDS,
      baseline,
      runsPage,
      florql,
      runsPageRatio: ratio,
      roundRatios: ratios,
    };
  } finally {
    repo.remove();
  }
}

/**
 * The baseline server: POST a JSON body, answer the first page of runs (`first` 20) in the JSON the
 * GraphQL runs page gives, from the store (FLOR_DIR: the copy) with the queries the runs resolver makes
 * for it (runs joined to the project in keyset order, then their args).
 */
async function baselineServer(): Promise<void> {
  const layout = layoutFor(process.cwd());
  const store = await openStore(layout, { databaseUrl: "" });
  const page = async () => {
    const runs = await store.db
      .selectFrom("runs as r")
      .innerJoin("projects as p", "p.id", "r.project_id")
      .select(["r.id", "r.filename"])
      .where("p.projid", "=", layout.projid)
      .orderBy("r.tstamp")
      .orderBy("r.id")
      .limit(21)
      .execute();
    const ids = runs.slice(0, 20).map((r) => r.id);
    const args = await store.db
      .selectFrom("args")
      .select(["run_id", "name", "value"])
      .where("run_id", "in", ids)
      .orderBy("run_id")
      .orderBy("name")
      .execute();
    const edges = runs.slice(0, 20).map((r) => ({
      node: {
        id: r.id,
        filename: r.filename,
        args: args.filter((a) => a.run_id === r.id).map((a) => ({ name: a.name, value: a.value })),
      },
    }));
    return JSON.stringify({ data: { runs: { edges } } });
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      // The body is parsed as a GraphQL server would parse its JSON; the query itself is not looked at.
      JSON.parse(Buffer.concat(chunks).toString("utf8"));
      page().then(
        (body) => response.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(body),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
    });
  });
  server.listen(0, "127.0.0.1", () =>
    process.stderr.write(`serving baseline at http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql\n`),
  );
  await once(process, "SIGTERM");
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  await store.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === "--baseline-server") await baselineServer();
  else process.stdout.write(`\n${JSON.stringify(await benchGraphql(), null, 2)}\n`);
}
