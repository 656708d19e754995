import { spawn, spawnSync } from "node:child_process";
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive } from "../helpers/long-tasks.js";
import { PACKAGE_ROOT, TestRepo } from "../helpers/repo.js";
import { copyRepo, recordHistory } from "../replay/replay-history.js";

// An empty FLOR_DATABASE_URL keeps the embedded store even when the test run has a PostgreSQL server.
const env = { FLOR_DATABASE_URL: "" };
const noDaemon = { ...env, FLOR_NO_DAEMON: "1" };
const QUESTION = "SELECT seed, round, norm FROM train.mjs WHERE round >= 2 ORDER BY seed, round";
/** Replay progress lines carry timings. */
const quiet = (text: string) => text.replace(/^replay job \d+ \[.*\n/gm, "");

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI without waiting for it, so several run at once. */
function florAsync(repo: TestRepo, args: string[], extra: NodeJS.ProcessEnv = env): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, "bin/flor.js"), ...args], {
      cwd: repo.dir,
      env: { ...process.env, ...extra },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
  });
}

interface Status {
  host: string;
  pid: number;
  socket: string;
  served: number;
  idleExitSeconds: number | null;
}

/** The daemon holding the repository's store, or null. */
function daemonStatus(repo: TestRepo): Status | null {
  const result = repo.flor(["daemon", "status", "--format", "json"], env);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Status | null;
}

async function until(condition: () => boolean, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

/** The processes running `flor daemon run` in `dir` (from /proc: their command line and working directory). */
function daemonsIn(dir: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").endsWith("\0daemon\0run\0") && readlinkSync(`/proc/${pid}/cwd`) === dir;
      } catch {
        return false;
      }
    })
    .map(Number);
}

let repo: TestRepo;
/** Each command's output with the store opened in the command itself. */
const local: Record<string, Outcome> = {};
const COMMANDS: Record<string, string[]> = {
  runs: ["runs"],
  runsJson: ["runs", "--format", "json"],
  versions: ["versions"],
  query: ["query", QUESTION, "--no-replay"],
  queryCsv: ["query", QUESTION, "--no-replay", "--format", "csv"],
  explainTypo: ["explain", "SELECT nrom FROM train.mjs"],
  dataframe: ["dataframe", "norm", "final", "--format", "json"],
  dryRun: ["replay", "w1", "--where", "round >= 4", "--dry-run"],
  unknownDataframe: ["dataframe", "nrom"],
};

beforeAll(() => {
  repo = recordHistory();
  for (const [name, args] of Object.entries(COMMANDS)) {
    const { status, stdout, stderr } = repo.flor(args, noDaemon);
    local[name] = { status, stdout, stderr };
  }
}, 180_000);

afterAll(() => repo?.remove());

describe("the flor daemon", () => {
  it("FLOR_NO_DAEMON=1 opens the store in each command and leaves no daemon", () => {
    expect(local["runs"]!.status).toBe(0);
    expect(existsSync(path.join(repo.dir, ".flor/daemon.sock"))).toBe(false);
    expect(daemonStatus(repo)).toBeNull();
    expect(repo.flor(["daemon", "status"], noDaemon).stdout).toMatch(/^no flor daemon runs for .* \(FLOR_NO_DAEMON is set/);
  });

  it("starts with the first command, holds the store behind a private socket, and answers as the command would itself", () => {
    for (const [name, args] of Object.entries(COMMANDS)) {
      const { status, stdout, stderr } = repo.flor(args, env);
      expect({ name, status, stdout, stderr }).toEqual({ name, ...local[name] });
    }
    const status = daemonStatus(repo)!;
    expect(status).toMatchObject({ host: "daemon", idleExitSeconds: 15 });
    expect(status.served).toBeGreaterThanOrEqual(Object.keys(COMMANDS).length);
    expect(statSync(status.socket).mode & 0o777).toBe(0o600);
    const lock = JSON.parse(readFileSync(path.join(repo.dir, ".flor/db.lock"), "utf8")) as { pid: number; command: string };
    expect(lock).toMatchObject({ pid: status.pid, command: "flor daemon" });
    // Not vacuous: answers, and mistakes with their exit codes.
    expect(local["query"]!.stdout.split("\n").length).toBeGreaterThan(3);
    expect(local["explainTypo"]!.status).toBe(2);
    expect(local["unknownDataframe"]!.status).toBe(2);
  });

  it("answers commands from several processes at once", async () => {
    const pid = daemonStatus(repo)!.pid;
    const names = ["runs", "query", "queryCsv", "dataframe", "runsJson", "query", "dryRun", "versions"];
    const outcomes = await Promise.all(names.map((name) => florAsync(repo, COMMANDS[name]!)));
    for (const [i, outcome] of outcomes.entries()) expect({ name: names[i], ...outcome }).toEqual({ name: names[i], ...local[names[i]!] });
    expect(daemonStatus(repo)!.pid).toBe(pid);
  }, 120_000);

  it("is started once when several commands find none", async () => {
    expect(repo.flor(["daemon", "stop"], env).stdout).toMatch(/^(stopped the flor daemon \(pid \d+\)|no flor daemon runs)/);
    expect(daemonStatus(repo)).toBeNull();
    const log = path.join(repo.dir, ".flor/daemon.log");
    const logged = existsSync(log) ? readFileSync(log, "utf8").length : 0;
    const outcomes = await Promise.all(Array.from({ length: 4 }, () => florAsync(repo, COMMANDS["runsJson"]!)));
    for (const outcome of outcomes) expect(outcome).toEqual(local["runsJson"]);
    // One daemon started; none lost a race for the store.
    const started = readFileSync(log, "utf8").slice(logged);
    expect(started.match(/\] holding /g)).toHaveLength(1);
    expect(started).not.toMatch(/cannot start/);
    const pid = daemonStatus(repo)!.pid;
    expect(await until(() => daemonsIn(repo.dir).length === 1, 10)).toBe(true);
    expect(daemonsIn(repo.dir)).toEqual([pid]);
  }, 120_000);

  it("is replaced when it was killed, its socket and lock left behind", async () => {
    const { pid, socket } = daemonStatus(repo)!;
    process.kill(pid, "SIGKILL");
    expect(await until(() => !alive(pid), 10)).toBe(true);
    expect(existsSync(socket)).toBe(true);
    const runs = repo.flor(COMMANDS["runs"]!, env);
    expect(runs).toMatchObject(local["runs"]!);
    const replaced = daemonStatus(repo)!.pid;
    expect(replaced).not.toBe(pid);
    expect(alive(replaced)).toBe(true);
  }, 60_000);

  it("replays with progress, as the command does holding the store", () => {
    const twin = TestRepo.at(copyRepo(repo, `${repo.dir}-twin`));
    try {
      const args = ["replay", "w1", "--where", "round = 5 AND seed = 3"];
      const here = twin.flor(args, noDaemon);
      expect(here.status, here.stderr).toBe(0);
      const there = repo.flor(args, env);
      expect(there.status, there.stderr).toBe(0);
      expect(there.stdout).toBe(here.stdout);
      expect(quiet(there.stderr)).toBe(quiet(here.stderr));
      expect(there.stderr).toMatch(/^replay job \d+ \[#+\] 3\/3 tasks/m);
    } finally {
      twin.remove();
    }
  }, 180_000);

  it("shows runs recorded meanwhile at the next command, and warns that command about a malformed journal line", () => {
    expect(repo.runScript("train.mjs", ["--kwargs", "seed=11", "rounds=2"]).status).toBe(0);
    const runs = JSON.parse(repo.flor(["runs", "--format", "json"], env).stdout) as { args: { seed?: number } }[];
    expect(runs.at(-1)!.args.seed).toBe(11);
    const journals = path.join(repo.dir, ".flor/journals");
    const newest = readdirSync(journals).sort().at(-1)!;
    // A run killed while it wrote its second line.
    const header = JSON.parse(readFileSync(path.join(journals, newest), "utf8").split("\n")[0]!) as { tstamp: string };
    header.tstamp = new Date(Date.parse(header.tstamp) + 1000).toISOString();
    const torn = path.join(journals, `${header.tstamp.replace(/:/g, "-")}-torn.jsonl`);
    appendFileSync(torn, `${JSON.stringify(header)}\n{"k":"log",\n`);
    const warned = repo.flor(["runs"], env);
    expect(warned.status).toBe(0);
    expect(warned.stderr).toMatch(/^flor: warning: journals\/.*-torn\.jsonl:2: not valid JSON/m);
    const here = repo.flor(["runs"], noDaemon);
    expect(warned.stdout).toBe(here.stdout);
    // Its run stays in the store, incomplete.
    expect(here.stdout).toMatch(/incomplete/);
  });

  it("steps down for a process that needs the store itself, and for a client of another build", async () => {
    expect(repo.flor(["runs"], env).status).toBe(0);
    const { pid } = daemonStatus(repo)!;
    const ingest = repo.flor(["ingest"], noDaemon);
    expect(ingest.status, ingest.stderr).toBe(0);
    expect(await until(() => !alive(pid), 10)).toBe(true);
    expect(daemonStatus(repo)).toBeNull();
    expect(repo.flor(["runs"], env).status).toBe(0);
    const before = daemonStatus(repo)!.pid;
    // Another build (a second install of the package; touching this one's build would disturb the test
    // files running beside this one): its command is answered by a daemon of its own build.
    const other = mkdtempSync(path.join(tmpdir(), "flor-other-build-"));
    for (const part of ["dist", "bin", "package.json"]) cpSync(path.join(PACKAGE_ROOT, part), path.join(other, part), { recursive: true });
    symlinkSync(path.join(PACKAGE_ROOT, "node_modules"), path.join(other, "node_modules"));
    const otherFlor = (args: string[]) =>
      spawnSync(process.execPath, [path.join(other, "bin/flor.js"), ...args], {
        cwd: repo.dir,
        env: { ...process.env, ...env },
        encoding: "utf8",
      });
    try {
      const command = otherFlor(COMMANDS["runs"]!);
      expect(command.status, command.stderr).toBe(0);
      const status = otherFlor(["daemon", "status", "--format", "json"]);
      expect(status.status, status.stderr).toBe(0);
      expect((JSON.parse(status.stdout) as Status).pid).not.toBe(before);
      expect(await until(() => !alive(before), 10)).toBe(true);
    } finally {
      otherFlor(["daemon", "stop"]);
      rmSync(other, { recursive: true, force: true });
    }
  }, 60_000);

  it("exits when idle, letting go of the store", async () => {
    expect(repo.flor(["daemon", "stop"], env).status).toBe(0);
    expect(repo.flor(["runs"], { ...env, FLOR_DAEMON_IDLE_SECONDS: "1" }).status).toBe(0);
    const { pid, idleExitSeconds, socket } = daemonStatus(repo)!;
    expect(idleExitSeconds).toBe(1);
    expect(await until(() => !alive(pid), 20)).toBe(true);
    expect(existsSync(socket)).toBe(false);
    expect(existsSync(path.join(repo.dir, ".flor/db.lock"))).toBe(false);
    expect(repo.flor(["daemon", "stop"], env).stdout).toMatch(/^no flor daemon runs/);
  }, 60_000);
});
