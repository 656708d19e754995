// `npm run demo`: hindsight logging end to end, on the embedded store. In a fresh git repository
// (demo-project/) the iris example is trained as a person works: a few versions, each edited and
// committed, each run once. Then one new flor.log is added to today's version, and a FlorQL question
// about it is answered over every past version: EXPLAIN shows the plan, the query replays only the
// epochs it needs from checkpoints, and prints the table. With --serve, it then starts `flor serve` in
// the project and ends by printing the dashboard's URL (Ctrl-C stops the server).
import { execFileSync, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { HINDSIGHT_LOG, recordDemoProject } from "./demo-project.mjs";

const started = performance.now();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const project = path.join(root, "demo-project");
const flor = path.join(root, "bin/flor.js");
// The demo always uses the embedded store, whatever the environment says.
const env = { ...process.env, FLOR_DATABASE_URL: "" };
const serve = process.argv.includes("--serve");

const florCli = (...args) => {
  console.log(`\n$ flor ${args.map((a) => (a.includes(" ") ? `"${a}"` : a)).join(" ")}`);
  process.stdout.write(
    execFileSync(process.execPath, [flor, ...args], { cwd: project, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }),
  );
};

console.log(`A fresh git repository with the iris example: ${path.relative(process.cwd(), project) || "."}\n`);
recordDemoProject(project, { say: (text) => process.stdout.write(text) });
console.log(`\nAdded to training.ts, inside the epoch loop (not committed):\n    ${HINDSIGHT_LOG}`);

const question = "SELECT vid, hidden, epoch, val_acc, w2_norm FROM train.ts WHERE epoch >= 6 ORDER BY tstamp, epoch";
florCli("explain", question);
florCli("query", question);
florCli("query", "SELECT vid, max(val_acc) AS best_val_acc, avg(w2_norm) AS mean_w2_norm FROM train.ts WHERE epoch >= 6 GROUP BY vid");
console.log(
  `\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s. The journals, checkpoints, replays and store are in ${path.relative(process.cwd(), path.join(project, ".flor"))}/.`,
);
if (!serve) {
  console.log(`Try: cd demo-project && node ../bin/flor.js query "SELECT epoch, loss WHERE epoch = 7 AND step < 3"`);
  console.log("Or: npm run demo -- --serve, for the dashboard in a browser.");
} else {
  const server = spawn(process.execPath, [flor, "serve", "--port", "0"], { cwd: project, env, stdio: ["ignore", "inherit", "pipe"] });
  let said = "";
  let announced = false;
  server.stderr.on("data", (chunk) => {
    process.stderr.write(chunk);
    said += chunk;
    // Said once the server has said all it says at start (the GraphQL line is its last).
    const found = /dashboard at (\S+)[\s\S]*serving GraphQL at/.exec(said);
    if (found !== null && !announced) {
      announced = true;
      console.log(`\nflor serve runs in demo-project (Ctrl-C stops it). Open the dashboard:\n${found[1]}`);
    }
  });
  // Ctrl-C reaches the server too (same process group); the demo ends when it has stopped.
  process.on("SIGINT", () => {});
  server.on("exit", (code) => process.exit(code ?? 0));
}
